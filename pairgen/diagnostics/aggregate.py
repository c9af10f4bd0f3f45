"""All report sections, accumulated record by record.

Example:
    >>> aggregate = Aggregate()
    >>> for record in records:                                   # doctest: +SKIP
    ...     aggregate.add(record)
    >>> sections = aggregate.sections(batch_size=256, pairs_per_image=16)  # doctest: +SKIP
"""

from __future__ import annotations

from .centricity import CentricityStats
from .hashing import NEAR_DUPLICATE_DISTANCE, DuplicateIndex
from .inventory import InventoryStats
from .labels import LabelStats
from .pair_quality import PairQualityStats
from .records import ImageRecord
from .shortcuts import ShortcutStats


class Aggregate:
    """Streams records into the inventory, centricity, pair-quality, duplicate, label and shortcut sections."""

    def __init__(self, near_duplicate_distance: int = NEAR_DUPLICATE_DISTANCE):
        self.inventory = InventoryStats()
        self.centricity = CentricityStats()
        self.pair_quality = PairQualityStats()
        self.duplicates = DuplicateIndex(near_duplicate_distance)
        self.labels = LabelStats()
        self.shortcuts = ShortcutStats()

    def add(self, record: ImageRecord) -> None:
        for part in (self.inventory, self.centricity, self.pair_quality, self.duplicates, self.labels,
                     self.shortcuts):
            part.add(record)

    def sections(self, batch_size: int, pairs_per_image: int) -> dict:
        return {
            "inventory": self.inventory.result(),
            "centricity": self.centricity.result(),
            "pair_quality": self.pair_quality.result(pairs_per_image),
            "duplicates": self.duplicates.result(batch_size),
            "labels": self.labels.result(batch_size),
            "shortcuts": self.shortcuts.result(),
        }
