"""The few images a report shows for a finding: the K most extreme by some value.

Kept in constant memory while records stream past; ties keep the earlier image in
listing order, so a merged report shows the images of one full scan.

Example:
    >>> from pairgen.diagnostics.records import ImageRecord
    >>> worst = Examples(k=2, lowest=True)
    >>> for i, v in enumerate([0.9, 0.1, 0.5]):
    ...     worst.add(v, ImageRecord(key=f"{i}.jpg", ordinal=i, width=10))
    >>> [x["key"] for x in worst.result()]
    ['1.jpg', '2.jpg']
"""

from __future__ import annotations

import heapq

#: Images shown per finding.
EXAMPLES = 8


class Examples:
    """The ``k`` records with the highest (or ``lowest``) values, as ``{"key", "width", **extra}`` dicts."""

    def __init__(self, k: int = EXAMPLES, lowest: bool = False):
        self.k = k
        self.sign = -1.0 if lowest else 1.0
        self._heap: list = []

    def add(self, value: float, record, **extra) -> None:
        entry = (self.sign * value, -record.ordinal, {"key": record.key, "width": record.width, **extra})
        if len(self._heap) < self.k:
            heapq.heappush(self._heap, entry)
        elif entry[:2] > self._heap[0][:2]:
            heapq.heapreplace(self._heap, entry)

    def result(self) -> list[dict]:
        return [entry[2] for entry in sorted(self._heap, key=lambda e: e[:2], reverse=True)]
