"""Sets of images for the invariance score: one photo under several transformations, or
several photos (or frames) of one group.

Example:
    >>> from pairgen.transforms import Illumination
    >>> views, sets, fallback = transformed_sets([torch.rand(3, 48, 48)] * 2, Illumination(), set_size=4, size=32)
    >>> views.shape, sets.tolist()
    (torch.Size([8, 3, 32, 32]), [0, 0, 0, 0, 1, 1, 1, 1])
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

import torch

from pairgen.collate import collate_items
from pairgen.crops import CenterCrop
from pairgen.ops.view_op import ViewOp
from pairgen.random import derive_seeds
from pairgen.view import ViewSpec

SaliencyFn = Callable[[torch.Tensor], torch.Tensor]


def transformed_sets(
    items: Sequence[Any],
    op: ViewOp,
    set_size: int = 8,
    size: int = 224,
    seed: int = 0,
    saliency: SaliencyFn | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each item as a set: itself plus ``set_size - 1`` renders through ``op``.

    Every item is shown whole (resized to ``size x size``; pass square images to keep
    their aspect); the op's params replay from ``seed``. Items without a mask or a
    saliency map get ``saliency(images)`` when given (occlusion needs an object).

    Args:
        items: images or item mappings (``"image"``, optional ``"mask"``, ``"saliency"``).
        op: the view op whose invariance is measured.
        set_size: images per set, >= 2.
        size: output side.
        seed: seed of the op's params.
        saliency: ``(B, 3, H, W) uint8 -> (B, 1, H, W)`` maps, e.g.
            :func:`pairgen.saliency.builtin_saliency`.

    Returns:
        ``(N * set_size, 3, size, size)`` float views in ``[0, 1]``, ``(N * set_size,)``
        set ids and ``(N * set_size,)`` bool: the op fell back (``params["fallback"]``).
    """
    if set_size < 2:
        raise ValueError(f"set_size must be >= 2, got {set_size}")
    if size < 1:
        raise ValueError(f"size must be positive, got {size}")
    plain = ViewSpec(size=size, crop=CenterCrop(1.0))
    spec = ViewSpec(size=size, crop=CenterCrop(1.0), ops=(op,))
    views, fallback = [], []
    for index, item in enumerate(items):
        batch = collate_items([item] * set_size, max(512, 2 * size))
        if saliency is not None and batch.masks is None and batch.saliency is None:
            batch = batch.with_saliency(saliency(batch.images[:1]).float().expand(set_size, -1, -1, -1))
        seeds = derive_seeds(torch.arange(index * set_size, (index + 1) * set_size, dtype=torch.int64), seed)
        params = spec.sample(batch, seeds)
        rendered = spec.apply(batch, params)
        original = collate_items([item], max(512, 2 * size))
        rendered[0] = plain.apply(original, plain.sample(original, seeds[:1]))[0]
        views.append(rendered)
        fallback.append(params.ops[0].get("fallback", torch.zeros(set_size, dtype=torch.bool)).cpu())
    sets = torch.arange(len(items)).repeat_interleave(set_size)
    if not views:
        return torch.zeros(0, 3, size, size), sets, torch.zeros(0, dtype=torch.bool)
    return torch.cat(views), sets, torch.cat(fallback)


def group_sets(
    items: Sequence[Any],
    groups: Sequence[Hashable],
    set_size: int = 8,
    size: int = 224,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sets of different images of one group (an instance, a video's frames).

    Each group's items, in the given order, are cut into runs of ``set_size``; a last
    run shorter than 2 is dropped. Returns ``(M, 3, size, size)`` float views in
    ``[0, 1]`` and ``(M,)`` set ids.
    """
    if len(groups) != len(items):
        raise ValueError(f"groups must have one entry per item: {len(groups)} groups for {len(items)} items")
    if set_size < 2:
        raise ValueError(f"set_size must be >= 2, got {set_size}")
    members: dict[Hashable, list[int]] = {}
    for index, group in enumerate(groups):
        members.setdefault(group, []).append(index)
    chosen, sets = [], []
    for group_members in members.values():
        for start in range(0, len(group_members), set_size):
            run = group_members[start : start + set_size]
            if len(run) >= 2:
                sets += [sets[-1] + 1 if sets else 0] * len(run)
                chosen += run
    plain = ViewSpec(size=size, crop=CenterCrop(1.0))
    views = []
    for start in range(0, len(chosen), 32):
        batch = collate_items([items[i] for i in chosen[start : start + 32]], max(512, 2 * size))
        seeds = torch.zeros(len(batch), dtype=torch.int64)
        views.append(plain.apply(batch, plain.sample(batch, seeds)))
    if not views:
        raise ValueError(f"no group has 2 or more items (set_size={set_size})")
    return torch.cat(views), torch.tensor(sets, dtype=torch.int64)
