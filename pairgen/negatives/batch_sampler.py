"""Batches composed by group: few false negatives, or k positives per group.

In a random batch of ``B`` items, a group (class, cluster, video) of ``n_g`` of
the ``T`` items shows up about ``B n_g / T`` times, with binomial spread; each
extra item of the same group is a false negative of the others. Spreading every
group evenly over the batches gives the fewest same-group pairs possible, and
caps how many items of one group share a batch (``max_per_group``). The other
use is the opposite: supervised contrastive learning (Khosla et al. 2020) wants
``k`` items of each group present in a batch (``per_group``), as the P x K
batches of metric learning (Hermans et al. 2017).

Both are deterministic from ``seed`` and :meth:`GroupBatchSampler.set_epoch`,
yield every item exactly once per epoch, and give each of the ``num_replicas``
distributed ranks the same number of disjoint batches. Batches hold at most
``batch_size`` items; their sizes are balanced rather than leaving a small last
batch, so sizes may differ by one (spread mode) or a few items (``per_group``).

Example:
    >>> labels = torch.arange(100) % 10
    >>> sampler = GroupBatchSampler(labels, batch_size=10, seed=0)
    >>> all(len(set(labels[b].tolist())) == 10 for b in sampler)   # one item per class
    True
    >>> # loader = DataLoader(dataset, batch_sampler=sampler); sampler.set_epoch(epoch)
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import Sampler

from pairgen.negatives.masks import _as_ids
from pairgen.random import derive_seeds


def _world() -> tuple[int, int]:
    """``(num_replicas, rank)`` of the initialised process group, else ``(1, 0)``."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank()
    return 1, 0


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


class GroupBatchSampler(Sampler[list[int]]):
    """A ``batch_sampler`` for ``DataLoader`` that composes batches by group id.

    Spread mode (default): items are dealt round-robin over the epoch's batches
    in a random group-contiguous order, so a group of ``n_g`` items has at most
    ``ceil(n_g / n_batches)`` items in any batch, the least any partition can
    achieve. ``max_per_group`` turns that into a checked guarantee.

    ``per_group=k`` mode: each group is cut into pieces of ``k`` to ``2k - 1``
    items (a group smaller than ``k`` is one piece) and pieces are packed whole,
    each into the least-filled batch, so every item in a batch has at least
    ``k - 1`` others of its group with it (when its group has ``k`` items).

    Args:
        groups: ``(T,)`` group id of every dataset item: labels, k-means cluster
            ids, video ids (any hashable values; a negative id or ``None`` means
            the item is a group of its own).
        batch_size: most items per batch.
        max_per_group: fail at construction unless no batch can hold more than
            this many items of one group; the error names the smallest feasible cap.
        per_group: ``k``, the items of one group kept together (exclusive with
            ``max_per_group``).
        seed: base seed; the epoch's order is a function of ``(seed, epoch)``.
            Every rank must use the same seed (and epoch) to get disjoint batches.
        num_replicas: distributed world size; default from ``torch.distributed``.
        rank: this process's rank; default from ``torch.distributed``.

    Raises:
        ValueError: on invalid arguments or an infeasible ``max_per_group``.
    """

    def __init__(
        self,
        groups: Any,
        batch_size: int,
        *,
        max_per_group: int | None = None,
        per_group: int | None = None,
        seed: int = 0,
        num_replicas: int | None = None,
        rank: int | None = None,
    ) -> None:
        ids = _as_ids(groups, "groups", torch.device("cpu"))
        self.batch_size = _positive_int(batch_size, "batch_size")
        if max_per_group is not None and per_group is not None:
            raise ValueError("give max_per_group or per_group, not both")
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        world, own_rank = _world()
        self.num_replicas = _positive_int(world if num_replicas is None else num_replicas, "num_replicas")
        self.rank = own_rank if rank is None else rank
        if isinstance(self.rank, bool) or not isinstance(self.rank, int) or not 0 <= self.rank < self.num_replicas:
            raise ValueError(f"rank must be an integer in [0, {self.num_replicas}), got {self.rank!r}")
        self.seed = seed
        self.epoch = 0
        self.per_group = None if per_group is None else _positive_int(per_group, "per_group")

        singles = ids < 0  # unknown ids: every such item is its own group
        ids = torch.where(singles, ids.max().clamp_min(0) + 1 + torch.cumsum(singles.long(), 0), ids)
        _, self._group_of = torch.unique(ids, return_inverse=True)
        self._group_sizes = torch.bincount(self._group_of)
        total = len(ids)
        world = self.num_replicas
        if total < world:
            raise ValueError(f"groups has {total} items, fewer than num_replicas={world}")

        if self.per_group is None:
            capacity = self.batch_size
        else:
            pieces = (self._group_sizes // self.per_group).clamp_min(1)
            self._pieces_per_group = pieces
            largest_piece = int(((self._group_sizes + pieces - 1) // pieces).max())
            if largest_piece > self.batch_size:
                raise ValueError(
                    f"batch_size={batch_size} cannot hold a piece of {largest_piece} items of one group; "
                    f"use batch_size >= {largest_piece} (pieces hold per_group to 2*per_group-1 items)"
                )
            # Packing each piece into the least-filled batch stays within batch_size when
            # the mean load is at most batch_size - largest_piece + 1.
            capacity = self.batch_size - largest_piece + 1
        self.n_batches = world * -(-total // (world * capacity))
        n_units = total if self.per_group is None else int(self._pieces_per_group.sum())
        if self.n_batches > n_units:
            raise ValueError(
                f"{n_units} {'items' if self.per_group is None else 'pieces'} cannot fill {self.n_batches} batches "
                f"across {world} ranks; use a larger batch_size or fewer ranks"
            )
        #: Most items of one group that any batch can hold.
        self.max_group_count = int(-(-self._group_sizes.max() // self.n_batches)) if self.per_group is None else None
        if max_per_group is not None:
            max_per_group = _positive_int(max_per_group, "max_per_group")
            if max_per_group < self.max_group_count:
                biggest = int(self._group_sizes.max())
                raise ValueError(
                    f"max_per_group={max_per_group} is infeasible: a group of {biggest} items over "
                    f"{self.n_batches} batches needs max_per_group >= {self.max_group_count}"
                )

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose batches :meth:`__iter__` yields (call it every epoch)."""
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"epoch must be a non-negative integer, got {epoch!r}")
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n_batches // self.num_replicas

    def _generator(self) -> torch.Generator:
        seed = derive_seeds(torch.tensor([self.seed], dtype=torch.int64), self.epoch)
        return torch.Generator().manual_seed(int(seed))

    def _group_contiguous_order(self, generator: torch.Generator) -> torch.Tensor:
        """Item indices in a random order of the groups, randomly ordered within each group."""
        total = len(self._group_of)
        n_groups = len(self._group_sizes)
        group_rank = torch.empty(n_groups, dtype=torch.int64)
        group_rank[torch.randperm(n_groups, generator=generator)] = torch.arange(n_groups)
        return torch.argsort(group_rank[self._group_of] * total + torch.randperm(total, generator=generator))

    def _batch_of_items(self, generator: torch.Generator) -> torch.Tensor:
        order = self._group_contiguous_order(generator)
        total = len(order)
        batch_of = torch.empty(total, dtype=torch.int64)
        if self.per_group is None:
            batch_of[order] = torch.arange(total) % self.n_batches
            return batch_of
        # Cut each group into pieces: item j of a group cut into q pieces goes to piece j mod q.
        groups_in_order = self._group_of[order]
        runs = torch.unique_consecutive(groups_in_order, return_counts=True)[1]
        position = torch.arange(total) - torch.repeat_interleave(torch.cumsum(runs, 0) - runs, runs)
        pieces = self._pieces_per_group
        piece_start = torch.cumsum(pieces, 0) - pieces
        piece_of = piece_start[groups_in_order] + position % pieces[groups_in_order]
        piece_sizes = torch.bincount(piece_of, minlength=int(pieces.sum())).tolist()
        heap = [(0, b) for b in range(self.n_batches)]
        piece_batch = [0] * len(piece_sizes)
        for piece in torch.randperm(len(piece_sizes), generator=generator).tolist():
            load, b = heapq.heappop(heap)
            piece_batch[piece] = b
            heapq.heappush(heap, (load + piece_sizes[piece], b))
        batch_of[order] = torch.tensor(piece_batch, dtype=torch.int64)[piece_of]
        return batch_of

    def __iter__(self) -> Iterator[list[int]]:
        generator = self._generator()
        batch_of = self._batch_of_items(generator)
        total = len(batch_of)
        items = torch.argsort(batch_of * total + torch.randperm(total, generator=generator))
        batches = torch.split(items, torch.bincount(batch_of, minlength=self.n_batches).tolist())
        mine = torch.randperm(self.n_batches, generator=generator)[self.rank :: self.num_replicas]
        for b in mine.tolist():
            yield batches[b].tolist()
