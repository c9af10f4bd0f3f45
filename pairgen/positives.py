"""Positives from other images: instance pairs (same group) and temporal pairs (nearby frames).

Purushwalkam & Gupta (NeurIPS 2020) show that two crops of one image teach little
viewpoint, illumination or instance invariance, and that pairing different frames
of a video teaches more. These datasets wrap a dataset and return, for each item,
the pair ``(item, partner)``; :class:`pairgen.positive_sampler.PositivePairSampler`
renders view 1 from the item and view 2 from the partner.

* :class:`InstancePairs`: the partner is another item of the same group (a label as
  in SupCon, Khosla et al., NeurIPS 2020, or a cluster id).
* :class:`TemporalPairs`: the partner is another frame of the same ``source`` whose
  ``time`` is within ``window`` (VINCE, Gordon et al., "Watching the World Go By",
  2020; the frame pairs of Purushwalkam & Gupta).

Partners are drawn without any loop over candidates, replayably from ``seed``, the
epoch (:meth:`set_epoch`) and the item's index. An item with no candidate (a group
of one, a lone frame) is paired with itself, and :meth:`partner` flags it.

Example:
    >>> pairs = InstancePairs([torch.rand(3, 8, 8) for _ in range(4)], groups=[0, 1, 0, 1], seed=0)
    >>> pairs.partner(0)
    (2, False)
    >>> anchor, positive = pairs[0]
    >>> anchor["label"] == positive["label"] == 0
    True
"""

from __future__ import annotations

import bisect
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import torch
from torch.utils.data import Dataset

from pairgen.random import derive_seeds, uniform


def as_item(value: Any) -> dict:
    """A dataset element as an item mapping (``(image, label)`` tuples and bare images too)."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple) and len(value) == 2:
        return {"image": value[0], "label": value[1]}
    return {"image": value}


class _PartnerPairs(Dataset):
    """Pairs each item with a partner drawn among its candidates (shared machinery)."""

    def __init__(self, dataset: Sequence, seed: int):
        if not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {seed!r}")
        self.dataset = dataset
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.dataset)

    def set_epoch(self, epoch: int) -> None:
        """Draw other partners for ``epoch`` (call it at the start of each epoch)."""
        if not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"epoch must be a non-negative int, got {epoch!r}")
        self.epoch = epoch

    def _candidates(self, index: int) -> tuple[Sequence[int], int]:
        """The candidate indices of ``index`` (including itself) and its position among them."""
        raise NotImplementedError

    def partner(self, index: int) -> tuple[int, bool]:
        """The partner of item ``index`` this epoch and whether it fell back to the item itself."""
        if not 0 <= index < len(self):
            raise IndexError(f"index must be in [0, {len(self)}), got {index}")
        candidates, position = self._candidates(index)
        others = len(candidates) - 1
        if others == 0:
            return index, True
        key = derive_seeds(torch.tensor([self.seed], dtype=torch.int64), self.epoch)
        u = float(uniform(key + index, stream=0)[0, 0])
        pick = min(int(u * others), others - 1)
        return int(candidates[pick if pick < position else pick + 1]), False

    def _item(self, index: int) -> dict:
        item = as_item(self.dataset[index])
        item.setdefault("index", index)
        return item

    def __getitem__(self, index: int) -> tuple[dict, dict]:
        other, _ = self.partner(index)
        return self._item(index), self._item(other)


class InstancePairs(_PartnerPairs):
    """Each item with another item of its group (SupCon-style positives).

    Args:
        dataset: any indexable dataset of images, ``(image, label)`` tuples or item mappings.
        groups: one hashable group id per item (labels, cluster ids); default the
            dataset's ``targets`` or ``labels`` attribute.
        seed: base seed of the partner draws.

    Items get ``"label"``: the group's position among the sorted distinct groups.
    """

    def __init__(self, dataset: Sequence, groups: Sequence[Hashable] | None = None, seed: int = 0):
        super().__init__(dataset, seed)
        if groups is None:
            groups = getattr(dataset, "targets", None)
            if groups is None:
                groups = getattr(dataset, "labels", None)
            if groups is None:
                raise ValueError("groups must be given (one group id per item) for a dataset without "
                                 "a 'targets' or 'labels' attribute")
        groups = [g.item() if isinstance(g, torch.Tensor) else g for g in groups]
        if len(groups) != len(dataset):
            raise ValueError(f"groups must have one entry per item: {len(groups)} groups for {len(dataset)} items")
        codes = {g: c for c, g in enumerate(sorted(set(groups), key=repr))}
        self.labels = [codes[g] for g in groups]
        self.members: list[list[int]] = [[] for _ in codes]
        for index, code in enumerate(self.labels):
            self.members[code].append(index)
        self._position = {i: p for members in self.members for p, i in enumerate(members)}

    def _candidates(self, index):
        return self.members[self.labels[index]], self._position[index]

    def _item(self, index):
        item = super()._item(index)
        item["label"] = self.labels[index]
        return item


class TemporalPairs(_PartnerPairs):
    """Each frame with another frame of the same sequence at most ``window`` apart.

    Args:
        frames: a dataset of frames (e.g. :class:`pairgen.video.VideoFrames`).
        window: the largest time difference of a pair (in the unit of ``times``), > 0.
        sources: the sequence of every frame; default the dataset's ``sources``
            attribute, else the ``"source"`` key of its items (which reads every item once).
        times: the time of every frame, found the same way (``times``, ``"time"``).
        seed: base seed of the partner draws.
    """

    def __init__(self, frames: Sequence, window: float, sources: Sequence[Hashable] | None = None,
                 times: Sequence[float] | None = None, seed: int = 0):
        super().__init__(frames, seed)
        if not window > 0:
            raise ValueError(f"window must be positive, got {window}")
        self.window = float(window)
        if sources is None or times is None:
            sources = sources if sources is not None else getattr(frames, "sources", None)
            times = times if times is not None else getattr(frames, "times", None)
        if sources is None or times is None:
            items = [as_item(frames[i]) for i in range(len(frames))]
            missing = [i for i, item in enumerate(items) if "source" not in item or "time" not in item]
            if missing:
                raise ValueError(f"frames need 'source' and 'time' (given, as attributes or item keys); "
                                 f"item {missing[0]} has neither")
            sources, times = [item["source"] for item in items], [float(item["time"]) for item in items]
        if len(sources) != len(frames) or len(times) != len(frames):
            raise ValueError(f"sources and times must have one entry per frame ({len(frames)}), "
                             f"got {len(sources)} and {len(times)}")
        self.sources = list(sources)
        self.times = [float(t) for t in times]
        if any(t != t for t in self.times):
            raise ValueError("times must not be NaN")
        by_source: dict[Hashable, list[int]] = {}
        for index, source in enumerate(self.sources):
            by_source.setdefault(source, []).append(index)
        # Each sequence sorted by (time, index): candidates are a contiguous run found by bisection.
        self._order = {s: sorted(members, key=lambda i: (self.times[i], i)) for s, members in by_source.items()}
        self._keys = {s: [(self.times[i], i) for i in order] for s, order in self._order.items()}

    def _candidates(self, index):
        source, time = self.sources[index], self.times[index]
        order, keys = self._order[source], self._keys[source]
        low = bisect.bisect_left(keys, (time - self.window, -1))
        high = bisect.bisect_right(keys, (time + self.window, len(self)))
        position = bisect.bisect_left(keys, (time, index))
        return order[low:high], position - low

    def _item(self, index):
        item = super()._item(index)
        item.setdefault("source", self.sources[index])
        item.setdefault("time", self.times[index])
        return item
