"""Who may be a negative of whom: boolean masks built from item ids.

In a random batch, two images of the same class, two frames of one video or two
near-duplicates are treated as negatives and pushed apart (the false-negative
problem; Chuang et al., "Debiased Contrastive Learning", NeurIPS 2020). These
masks record what is known about the items so that the losses leave such pairs
out of the negative set.

Every item carries optional ids: ``labels`` (classes), ``groups`` (near-duplicate
groups), ``sources`` (the video or file an item was cut from), ``clusters``
(pseudo-labels, e.g. from :func:`pairgen.negatives.kmeans`) and ``indices``
(dataset indices: the same image twice in a batch). Two items are *related* when
they share any given id. A negative id means unknown: the item shares that id
with nobody. Ids are integer tensors or arrays, or sequences of any hashable
values (strings, ``None`` for unknown).

Rows and columns follow the order of ``torch.cat([z1, z2, ...])``: view 1 of
items ``0..N-1``, then view 2 of items ``0..N-1``, and so on; row = anchor.
For every anchor the matrix is split into three disjoint parts: itself, its
positives (:func:`positive_mask`) and its negatives (:func:`negative_mask`).

Example:
    >>> mask = negative_mask(labels=[0, 1, 0], sources=["a", "b", "c"])
    >>> mask.shape
    torch.Size([6, 6])
    >>> mask[0].tolist()      # item 0 (label 0): item 2 shares its label
    [False, True, False, False, True, False]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

def _as_ids(values: Any, name: str, device: torch.device | None) -> torch.Tensor:
    """1-D int64 ids from a tensor, an array or a sequence of hashables."""
    if isinstance(values, torch.Tensor):
        ids = values
    else:
        try:
            array = np.asarray(values)
        except ValueError:
            raise ValueError(f"{name} must be a 1-D sequence of ids, one per item") from None
        if array.dtype.kind in "OUSa" or (array.ndim == 1 and array.dtype == object):
            return _factorize(np.asarray(values, dtype=object), name, device)
        if array.size == 0:
            raise ValueError(f"{name} is empty: a batch needs at least one item")
        ids = torch.as_tensor(array)
    if ids.dim() != 1:
        raise ValueError(f"{name} must be 1-D (one id per item), got shape {tuple(ids.shape)}")
    if ids.numel() == 0:
        raise ValueError(f"{name} is empty: a batch needs at least one item")
    if ids.dtype.is_floating_point or ids.dtype.is_complex:
        raise ValueError(f"{name} must hold integer ids (or hashable values), got dtype {ids.dtype}")
    return ids.to(device=device, dtype=torch.int64)


def _factorize(array: np.ndarray, name: str, device: torch.device | None) -> torch.Tensor:
    """Integer codes for hashable ids in first-seen order; ``None`` becomes -1."""
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one id per item), got shape {array.shape}")
    codes: dict[Any, int] = {}
    out = []
    for value in array.tolist():
        if value is None:
            out.append(-1)
            continue
        try:
            out.append(codes.setdefault(value, len(codes)))
        except TypeError:
            raise ValueError(f"{name} must hold hashable ids, got {type(value).__name__}") from None
    return torch.tensor(out, dtype=torch.int64, device=device)


def _first_device(values: Sequence[Any], device: torch.device | str | None) -> torch.device:
    if device is not None:
        return torch.device(device)
    for value in values:
        if isinstance(value, torch.Tensor):
            return value.device
    return torch.device("cpu")


def related_items(
    anchor_ids: dict[str, Any], other_ids: dict[str, Any] | None = None, device: torch.device | str | None = None
) -> torch.Tensor:
    """``(Na, Nb)`` boolean: anchor ``a`` and item ``b`` share a non-negative id.

    Args:
        anchor_ids: ids of the anchors by name (``labels=...``, ``sources=...``).
        other_ids: ids of the other items, same names; ``None`` compares the
            anchors with themselves.
        device: where the result lives; default the device of the first tensor.
    """
    other_ids = anchor_ids if other_ids is None else other_ids
    if set(anchor_ids) != set(other_ids):
        raise ValueError(f"anchor and queue ids must name the same fields, got {sorted(anchor_ids)} and {sorted(other_ids)}")
    device = _first_device([*anchor_ids.values(), *other_ids.values()], device)
    pairs = {}
    for name in anchor_ids:
        a = _as_ids(anchor_ids[name], name, device)
        b = a if other_ids is anchor_ids else _as_ids(other_ids[name], f"queue {name}", device)
        pairs[name] = (a, b)
    sizes = {name: (len(a), len(b)) for name, (a, b) in pairs.items()}
    if len(set(sizes.values())) > 1:
        raise ValueError(f"id fields must have one id per item, got lengths {sizes}")
    related = None
    for a, b in pairs.values():
        same = (a[:, None] == b[None, :]) & (a[:, None] >= 0)
        related = same if related is None else related | same
    return related


def _item_relation(ids: dict[str, Any], batch_size: int | None, device) -> torch.Tensor:
    """``(N, N)`` related items of one batch, the diagonal included."""
    given = {name: value for name, value in ids.items() if value is not None}
    if not given:
        if batch_size is None:
            raise ValueError("give at least one of labels, groups, sources, clusters, indices, or batch_size")
        n = _check_count(batch_size, "batch_size")
        return torch.eye(n, dtype=torch.bool, device=_first_device([], device))
    related = related_items(given, device=device)
    n = related.shape[0]
    if batch_size is not None and batch_size != n:
        raise ValueError(f"batch_size={batch_size} does not match the {n} ids given")
    return related | torch.eye(n, dtype=torch.bool, device=related.device)


def _check_count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def negative_mask(
    labels: Any = None,
    groups: Any = None,
    sources: Any = None,
    clusters: Any = None,
    *,
    indices: Any = None,
    n_views: int = 2,
    batch_size: int | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """``(V*N, V*N)`` boolean mask: True where the column may be a negative of the row.

    False on the anchor itself, on the other views of its item and on every view
    of every item that shares one of the given ids with it.

    Args:
        labels: class ids, one per item (negative: unknown).
        groups: near-duplicate group ids.
        sources: ids of the video or file each item comes from.
        clusters: pseudo-labels such as k-means cluster ids.
        indices: dataset indices (the same image twice in a batch).
        n_views: views per item, ``V``.
        batch_size: ``N``; needed only when no ids are given.
        device: device of the mask; default that of the first tensor given.

    Example:
        >>> negative_mask(batch_size=2).int().tolist()
        [[0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 0]]
    """
    n_views = _check_count(n_views, "n_views")
    ids = dict(labels=labels, groups=groups, sources=sources, clusters=clusters, indices=indices)
    return ~_item_relation(ids, batch_size, device).repeat(n_views, n_views)


def positive_mask(
    labels: Any = None,
    groups: Any = None,
    sources: Any = None,
    clusters: Any = None,
    *,
    indices: Any = None,
    n_views: int = 2,
    batch_size: int | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """``(V*N, V*N)`` boolean mask: True where the column is a positive of the row.

    The positives of an anchor are the other views of its item and every view of
    every item that shares one of the given ids with it (the supervised
    contrastive positives of Khosla et al. 2020 when ``labels`` are given). The
    anchor itself is excluded. Arguments as in :func:`negative_mask`.

    Example:
        >>> positive_mask(labels=[3, 3, 4], n_views=1).int().tolist()
        [[0, 1, 0], [1, 0, 0], [0, 0, 0]]
    """
    n_views = _check_count(n_views, "n_views")
    ids = dict(labels=labels, groups=groups, sources=sources, clusters=clusters, indices=indices)
    related = _item_relation(ids, batch_size, device).repeat(n_views, n_views)
    related.fill_diagonal_(False)
    return related


def queue_negative_mask(
    *,
    labels: tuple[Any, Any] | None = None,
    groups: tuple[Any, Any] | None = None,
    sources: tuple[Any, Any] | None = None,
    clusters: tuple[Any, Any] | None = None,
    indices: tuple[Any, Any] | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """``(N, K)`` boolean mask of the queue entries that may be negatives of each query.

    For a memory queue of keys (MoCo, He et al. 2020). Each argument is a pair
    ``(batch_ids, queue_ids)`` of ``N`` and ``K`` ids; a queue entry is excluded when it
    shares an id with the query. Pass ``indices`` so that the query's own image,
    still in the queue from an earlier step, is not its negative. Slots of a queue
    not yet filled can carry id -1.

    Example:
        >>> queue_negative_mask(labels=([0, 1], [1, 1, 0, -1])).int().tolist()
        [[1, 1, 0, 1], [0, 0, 1, 1]]
    """
    pairs = dict(labels=labels, groups=groups, sources=sources, clusters=clusters, indices=indices)
    pairs = {name: pair for name, pair in pairs.items() if pair is not None}
    if not pairs:
        raise ValueError("give at least one of labels, groups, sources, clusters, indices as (batch_ids, queue_ids)")
    for name, pair in pairs.items():
        if not isinstance(pair, (tuple, list)) or len(pair) != 2 or any(np.ndim(ids) != 1 for ids in pair):
            raise ValueError(f"{name} must be a pair (batch_ids, queue_ids) of 1-D ids")
    anchors = {name: pair[0] for name, pair in pairs.items()}
    queue = {name: pair[1] for name, pair in pairs.items()}
    return ~related_items(anchors, queue, device)
