"""All report sections, accumulated record by record.

Example:
    >>> aggregate = Aggregate({"batch_size": 256, "pairs_per_image": 16, "near_duplicate_distance": 4})
    >>> for record in records:                                   # doctest: +SKIP
    ...     aggregate.add(record)
    >>> sections = aggregate.sections()                          # doctest: +SKIP
"""

from __future__ import annotations

from .records import ImageRecord
from .sections import SECTIONS


class Aggregate:
    """One accumulator per section of :data:`~pairgen.diagnostics.sections.SECTIONS`.

    Args:
        settings: the report's settings (``batch_size``, ``pairs_per_image``, ``near_duplicate_distance``...).
    """

    def __init__(self, settings: dict):
        self.settings = settings
        self.parts = {section.name: section.stats(settings) for section in SECTIONS}

    def add(self, record: ImageRecord) -> None:
        for part in self.parts.values():
            part.add(record)

    def sections(self) -> dict:
        return {name: part.result(self.settings) for name, part in self.parts.items()}

    def export(self, folder) -> list:
        """The sections' own files in ``folder``."""
        return [path for section in SECTIONS for path in section.export(self.parts[section.name], folder)]
