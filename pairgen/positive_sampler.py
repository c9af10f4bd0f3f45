"""PositivePairSampler: views of a pair rendered from two different images.

With :class:`pairgen.positives.InstancePairs` or :class:`~pairgen.positives.TemporalPairs`
a dataset yields ``(item, partner)`` pairs. The sampler collates the ``B`` items and
their ``B`` partners onto one canvas of ``2B`` images and renders view 1 (and any
extra views) from the items and view 2 from the partners, with the recipe's usual
batched ops; everything else (seeds, worker mode, replay) is :class:`PairSampler`'s.

Example:
    >>> from pairgen.positives import InstancePairs
    >>> data = InstancePairs([torch.rand(3, 40, 40) for _ in range(4)], groups=[0, 0, 1, 1])
    >>> sampler = PositivePairSampler("instance", size=32, seed=0)
    >>> pairs = sampler([data[i] for i in range(4)])
    >>> pairs.index.tolist(), pairs.partner_index.tolist()
    ([0, 1, 2, 3], [1, 0, 3, 2])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from pairgen.batch import ImageBatch, PairBatch
from pairgen.collate import collate_items
from pairgen.pair_sampler import PairSampler


@dataclass(frozen=True)
class PositivePairBatch(PairBatch):
    """A :class:`PairBatch` whose ``labels``, ``sources``, ``index`` and ``times`` are the
    items' (view 1), with the same metadata of the partners (view 2).

    Attributes:
        partner_labels, partner_sources, partner_index, partner_times: ``(B,)``, or None.
    """

    partner_labels: torch.Tensor | None = None
    partner_sources: torch.Tensor | None = None
    partner_index: torch.Tensor | None = None
    partner_times: torch.Tensor | None = None

    @property
    def fallback(self) -> torch.Tensor | None:
        """``(B,)`` bool: the pair's partner is the item itself (no other candidate), when indices are known."""
        if self.index is None or self.partner_index is None:
            return None
        return self.index == self.partner_index


def _split_pairs(pairs: Sequence[Any]) -> list[Any]:
    """``[(a1, b1), ...]`` (or mappings with ``"anchor"`` and ``"positive"``) -> ``[a1, ..., b1, ...]``."""
    anchors, partners = [], []
    for position, pair in enumerate(pairs):
        if isinstance(pair, Mapping) and "anchor" in pair and "positive" in pair:
            pair = (pair["anchor"], pair["positive"])
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"item {position} must be a pair (item, partner), got {type(pair).__name__}")
        anchors.append(pair[0])
        partners.append(pair[1])
    return anchors + partners


class PositivePairSampler(PairSampler):
    """A :class:`PairSampler` for ``(item, partner)`` pairs: view 2 shows the partner.

    Args:
        recipe: as :class:`PairSampler` (``"instance"`` and ``"temporal"`` are recipes
            made for it); further arguments are :class:`PairSampler`'s too.
        partner_views: which views are rendered from the partner (default view 2 only).
    """

    def __init__(self, recipe="instance", *args, partner_views: Sequence[int] = (1,), **kwargs):
        super().__init__(recipe, *args, **kwargs)
        partner_views = tuple(partner_views)
        if not partner_views or not all(isinstance(v, int) and 0 <= v < len(self.views) for v in partner_views):
            raise ValueError(f"partner_views must be view indices in [0, {len(self.views)}), got {partner_views}")
        self.partner_views = partner_views

    def collate(self, pairs: Sequence[Any]) -> ImageBatch | PositivePairBatch:
        """The DataLoader ``collate_fn``: ``2B`` images (items, then partners) on one canvas."""
        batch = collate_items(_split_pairs(pairs), self.max_side)
        if self.mode == "worker":
            return self.generate(batch, self.next_seeds(len(batch) // 2))
        return batch

    def __call__(self, batch: ImageBatch | PairBatch | Sequence[Any]) -> PositivePairBatch:
        if isinstance(batch, PairBatch):
            return batch if batch.view1.device == self.device else batch.to(self.device, non_blocking=True)
        if not isinstance(batch, ImageBatch):
            batch = collate_items(_split_pairs(batch), self.max_side)
        return self.generate(batch.to(self.device, non_blocking=True), self.next_seeds(len(batch) // 2))

    def view_rows(self, batch_size: int, view: int) -> slice:
        """Items are the canvas's first half, partners its second."""
        half = batch_size // 2
        return slice(half, 2 * half) if view in self.partner_views else slice(0, half)

    def generate(self, batch: ImageBatch, seeds: torch.Tensor) -> PositivePairBatch:
        """Sample and render all views of ``2B`` images (items, then partners) from ``(B,)`` seeds."""
        if len(batch) % 2:
            raise ValueError(f"batch must hold items then partners (an even count), got {len(batch)} images")
        seeds = seeds.to(batch.images.device)
        params = self.sample(batch, seeds)
        half = len(batch) // 2
        items, partners = batch.rows(slice(0, half)), batch.rows(slice(half, 2 * half))
        return PositivePairBatch(
            views=self.apply(batch, params), params=params, seeds=seeds,
            labels=items.labels, sources=items.sources, index=items.index, times=items.times,
            partner_labels=partners.labels, partner_sources=partners.sources,
            partner_index=partners.index, partner_times=partners.times,
        )

    def transform(self, pair: Any) -> list[torch.Tensor]:
        """Per-sample mode: the views of one ``(item, partner)`` pair."""
        pairs = self.generate(collate_items(_split_pairs([pair]), self.max_side), self.next_seeds(1))
        return [view[0] for view in pairs.views]
