"""Streaming accumulators: fixed-bin histograms and running moments.

Aggregates over millions of records in constant memory. Both are deterministic
for a given order of records, which a scan and a merge of its shards share.

Example:
    >>> h = Histogram([0.0, 0.5, 1.0]); h.add(0.2); h.add(0.7); h.add(3.0)
    >>> h.counts
    [1, 2]
    >>> m = Moments(); [m.add(x) for x in (1.0, 2.0, 3.0)] and m.mean
    2.0
"""

from __future__ import annotations

import bisect
import math


class Histogram:
    """Counts of values in fixed bins; values outside go to the first or last bin."""

    def __init__(self, edges: list[float]):
        if len(edges) < 2 or any(b <= a for a, b in zip(edges, edges[1:])):
            raise ValueError(f"edges must be at least 2 increasing numbers, got {edges}")
        self.edges = [float(e) for e in edges]
        self.counts = [0] * (len(edges) - 1)

    def add(self, value: float) -> None:
        index = bisect.bisect_right(self.edges, value) - 1
        self.counts[min(max(index, 0), len(self.counts) - 1)] += 1

    def to_dict(self) -> dict:
        return {"edges": self.edges, "counts": self.counts}


class Moments:
    """Count, mean, standard deviation, min and max of a stream (Welford's update)."""

    def __init__(self):
        self.count = 0
        self.mean = 0.0
        self._m2 = 0.0
        self.min = math.inf
        self.max = -math.inf

    def add(self, value: float) -> None:
        self.count += 1
        delta = value - self.mean
        self.mean += delta / self.count
        self._m2 += delta * (value - self.mean)
        self.min = min(self.min, value)
        self.max = max(self.max, value)

    @property
    def std(self) -> float:
        return math.sqrt(self._m2 / self.count) if self.count else 0.0

    def to_dict(self) -> dict:
        if not self.count:
            return {"count": 0}
        return {"count": self.count, "mean": self.mean, "std": self.std, "min": self.min, "max": self.max}


def linear_edges(lo: float, hi: float, bins: int) -> list[float]:
    return [lo + (hi - lo) * i / bins for i in range(bins + 1)]


def log_edges(lo: float, hi: float, bins: int) -> list[float]:
    return [lo * (hi / lo) ** (i / bins) for i in range(bins + 1)]
