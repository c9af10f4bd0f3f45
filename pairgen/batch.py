"""The two batch types: collated images (CPU stage) and sampled views (device stage)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from pairgen.params import ViewParams


def _map_tensors(obj, fn, **changes):
    """``obj`` with ``fn`` applied to its tensor fields and to the tensors of its list fields
    (and the other ``changes``)."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, torch.Tensor):
            changes[f.name] = fn(value)
        elif isinstance(value, list) and value and all(isinstance(v, torch.Tensor) for v in value):
            changes[f.name] = [fn(v) for v in value]
    return dataclasses.replace(obj, **changes)


def device_index(rows: Sequence[int], device: torch.device | str) -> slice | torch.Tensor:
    """Rows given as host ints, as an index for tensors on ``device`` that never waits for
    the device: a slice when they are contiguous, else an int64 tensor copied from pinned
    memory without blocking on CUDA."""
    if list(rows) == list(range(rows[0], rows[0] + len(rows))):
        return slice(rows[0], rows[0] + len(rows))
    return _host_to(torch.tensor(rows, dtype=torch.int64), device)


def host_maps(shape: tuple[int, ...], zeroed: bool = False) -> torch.Tensor:
    """A float32 CPU tensor of ``shape`` for a batch's maps, uninitialised or ``zeroed``.

    Its memory is numpy's: numpy asks the kernel for transparent huge pages
    (``MADV_HUGEPAGE``) for arrays of 4 MiB or more, torch only when ``THP_MEM_ALLOC_ENABLE``
    is set. A batch's maps (32 MiB for 32 images on a 512-px canvas) are fresh pages on
    most calls, and touching them 2 MiB rather than 4 KiB at a time takes 6 ms instead of
    21 on a 2-core VM (``benchmarks/bench_saliency_helpers.py``).
    """
    return torch.from_numpy((np.zeros if zeroed else np.empty)(shape, dtype=np.float32))


def _host_to(tensor: torch.Tensor, device: torch.device | str) -> torch.Tensor:
    """A CPU tensor copied to ``device`` without blocking (from pinned memory on CUDA)."""
    return tensor.pin_memory().to(device, non_blocking=True) if torch.device(device).type == "cuda" else tensor.to(device)


def _shape(tensor: torch.Tensor) -> str:
    return f"({', '.join(map(str, tensor.shape))}) {str(tensor.dtype).removeprefix('torch.')}"


def _present(obj, names: tuple[str, ...]) -> str:
    return ", ".join(name for name in names if getattr(obj, name) is not None) or "none"


@dataclass(frozen=True)
class ImageBatch:
    """Images of one batch on a shared canvas, with their metadata.

    Each image sits at the top-left corner of a ``(H, W)`` canvas (the batch's
    largest image, after shrinking images whose longer side exceeds the sampler's
    ``max_side``); boxes and sizes stay in source-image pixels.

    Attributes:
        images: ``(B, 3, H, W)`` uint8 RGB canvas.
        sizes: ``(B, 2)`` int64 source ``(height, width)``.
        scales: ``(B, 2)`` float32 canvas pixels per source pixel, ``(y, x)``.
        saliency: optional ``(B, 1, H, W)`` float32 maps, >= 0, on the canvas.
        saliency_given: optional ``(B,)`` bool, which items brought their own map when
            only some did (the others' maps are zero until the sampler computes them);
            ``None`` when all did (or ``saliency`` is ``None``).
        masks: optional ``(B, 1, H, W)`` uint8 object masks (0 = background) on the canvas.
        boxes: optional ``(B, M, 4)`` float32 object boxes, xyxy in source pixels.
        box_valid: optional ``(B, M)`` bool, which rows of ``boxes`` are real.
        keypoints: optional ``(B, K, 2)`` float32 keypoints ``(x, y)`` in source pixels.
        keypoint_valid: optional ``(B, K)`` bool, which rows of ``keypoints`` are real.
        labels, sources, index: optional ``(B,)`` int64 (``sources`` hashes strings).
        times: optional ``(B,)`` float64 time stamps of frames.
        extents: each image's ``(height, width)`` on the canvas, as host ints (never moved
            to a device), so that the device stage groups images by size without reading
            the device; ``None`` when unknown (then read from ``sizes`` and ``scales``).
    """

    images: torch.Tensor
    sizes: torch.Tensor
    scales: torch.Tensor
    saliency: torch.Tensor | None = None
    saliency_given: torch.Tensor | None = None
    masks: torch.Tensor | None = None
    boxes: torch.Tensor | None = None
    box_valid: torch.Tensor | None = None
    keypoints: torch.Tensor | None = None
    keypoint_valid: torch.Tensor | None = None
    labels: torch.Tensor | None = None
    sources: torch.Tensor | None = None
    index: torch.Tensor | None = None
    times: torch.Tensor | None = None
    extents: tuple[tuple[int, int], ...] | None = None

    def __post_init__(self):
        if self.extents is not None and len(self.extents) != self.images.shape[0]:
            raise ValueError(f"extents must hold one (height, width) per image ({self.images.shape[0]}), "
                             f"got {len(self.extents)}")

    def __len__(self) -> int:
        return self.images.shape[0]

    def __repr__(self) -> str:
        extras = _present(self, ("saliency", "masks", "boxes", "keypoints", "labels", "sources", "index", "times"))
        return (f"ImageBatch({len(self)} images on a canvas {_shape(self.images)}, {self.images.device}; "
                f"with: {extras})")

    def to(self, device: torch.device | str, non_blocking: bool = False) -> "ImageBatch":
        return _map_tensors(self, lambda t: t.to(device, non_blocking=non_blocking))

    def pin_memory(self) -> "ImageBatch":
        """Called by the DataLoader when ``pin_memory=True``."""
        return _map_tensors(self, lambda t: t.pin_memory())

    def rows(self, index: slice | torch.Tensor) -> "ImageBatch":
        """The batch of the images ``index`` selects (a slice, or an int64 or bool tensor).

        A CPU index for a batch on a device is copied there without blocking; an index on
        a device is read back to the host for :attr:`extents` (one sync: pass CPU indices).
        Under ``torch.compile`` the rows carry no extents (their ints would specialise the
        graph; rendering does not use them)."""
        extents = None if torch.compiler.is_compiling() else self.extents  # traced renders need no host ints
        if isinstance(index, torch.Tensor):
            if extents is not None:
                extents = tuple(extents[i] for i in torch.arange(len(self))[index.cpu()].tolist())
            if index.device.type == "cpu" and self.images.device.type != "cpu":
                index = _host_to(index, self.images.device)
        elif extents is not None:
            extents = extents[index]
        return _map_tensors(self, lambda t: t[index], extents=extents)

    def host_extents(self) -> tuple[tuple[int, int], ...]:
        """Each image's ``(height, width)`` on the canvas, as host ints: :attr:`extents`, else
        computed from ``sizes`` and ``scales`` (a host sync when those are on a device)."""
        if self.extents is not None:
            return self.extents
        extent = (self.sizes.double() * self.scales.double()).round().long().clamp_min(1)
        return tuple((h, w) for h, w in extent.tolist())

    def with_saliency(self, saliency: torch.Tensor) -> "ImageBatch":
        """The batch with ``saliency`` as the maps of the items that brought none."""
        if self.saliency is not None and self.saliency_given is not None:
            saliency = torch.where(self.saliency_given.view(-1, 1, 1, 1), self.saliency, saliency)
        return dataclasses.replace(self, saliency=saliency, saliency_given=None)

    @property
    def needs_saliency(self) -> bool:
        """Whether some item may have no saliency map yet (read from the fields' presence,
        never from the device)."""
        return self.saliency is None or self.saliency_given is not None

    def source_to_canvas(self, boxes: torch.Tensor) -> torch.Tensor:
        """Map ``(B, 4)`` (or ``(B, M, 4)``) xyxy boxes from source to canvas pixels."""
        scale = self.scales.to(boxes)[:, [1, 0, 1, 0]]
        return boxes * (scale if boxes.dim() == 2 else scale[:, None, :])


@dataclass(frozen=True)
class PairBatch:
    """Views of a batch, their params and the items' metadata.

    Attributes:
        views: one ``(B, 3, h, w)`` tensor per view (global views first).
        params: one :class:`ViewParams` per view.
        seeds: ``(B,)`` int64 per-sample seeds: ``sampler.generate(batch, seeds)`` replays
            every view of the batch.
        labels, sources, index, times: the items' metadata, as in :class:`ImageBatch`.
        recipe: the name of the recipe that drew the views.
        masks: when items bring masks, one ``tv_tensors.Mask`` ``(B, 1, h, w)`` uint8 per
            view: the masks moved as that view's image (nearest neighbour, labels kept).
        padded_boxes, box_valid: when items bring boxes (or masks, whose components are
            boxes), per view ``(B, M, 4)`` xyxy boxes in the view's pixels (clipped) and the
            ``(B, M)`` rows that are real; :attr:`boxes` gives them per sample.
        padded_keypoints, keypoint_valid: the same for keypoints, ``(B, K, 2)`` per view;
            :attr:`keypoints` gives them per sample.
        object_shown: when items bring masks or saliency, per view ``(B,)`` bool: the crop
            shows the object (DESIGN.md's definition, :mod:`pairgen.annotations`).
        sizes: ``(B, 2)`` int64 source ``(height, width)`` when every view shows the
            item's own image (what :meth:`correspondence` needs).
        view_ops: each view's ops (``ViewSpec.ops``), for :meth:`correspondence`.
    """

    views: list[torch.Tensor]
    params: list[ViewParams]
    seeds: torch.Tensor | None = None
    labels: torch.Tensor | None = None
    sources: torch.Tensor | None = None
    index: torch.Tensor | None = None
    times: torch.Tensor | None = None
    recipe: str | None = None
    masks: list[torch.Tensor] | None = None
    padded_boxes: list[torch.Tensor] | None = None
    box_valid: list[torch.Tensor] | None = None
    padded_keypoints: list[torch.Tensor] | None = None
    keypoint_valid: list[torch.Tensor] | None = None
    object_shown: list[torch.Tensor] | None = None
    sizes: torch.Tensor | None = None
    view_ops: tuple[tuple, ...] = ()

    def __len__(self) -> int:
        return len(self.params[0]) if self.params else 0

    def __repr__(self) -> str:
        shapes: dict[str, int] = {}
        for view in self.views:
            shapes[_shape(view)] = shapes.get(_shape(view), 0) + 1
        views = " + ".join(f"{count} x {shape}" for shape, count in shapes.items())
        kind = f" {type(self.views[0]).__name__}" if self.views and type(self.views[0]) is not torch.Tensor else ""
        device = self.views[0].device if self.views else "cpu"
        fallback = sum(int(p.fallback_used.sum()) for p in self.params)
        names = ("masks", "padded_boxes", "padded_keypoints", "object_shown", "labels", "sources", "index", "times")
        extras = _present(self, names).replace("padded_", "")
        return (f"PairBatch({len(self)} samples, recipe {self.recipe!r}, {device}\n"
                f"  views: {views}{kind}\n"
                f"  params: {len(self.params)} ViewParams, fallback crops {fallback}/{len(self) * len(self.params)}\n"
                f"  with: {extras})")

    @property
    def boxes(self) -> list[list[torch.Tensor]] | None:
        """``boxes[k][i]``: sample ``i``'s ``tv_tensors.BoundingBoxes`` (XYXY) in view ``k``'s pixels."""
        if self.padded_boxes is None:
            return None
        from torchvision import tv_tensors

        return [[tv_tensors.BoundingBoxes(boxes[i][valid[i]], format="XYXY", canvas_size=params.size)
                 for i in range(len(boxes))]
                for boxes, valid, params in zip(self.padded_boxes, self.box_valid, self.params)]

    @property
    def keypoints(self) -> list[list[torch.Tensor]] | None:
        """``keypoints[k][i]``: sample ``i``'s ``tv_tensors.KeyPoints`` in view ``k``'s pixels."""
        if self.padded_keypoints is None:
            return None
        from torchvision import tv_tensors

        return [[tv_tensors.KeyPoints(points[i][valid[i]], canvas_size=params.size) for i in range(len(points))]
                for points, valid, params in zip(self.padded_keypoints, self.keypoint_valid, self.params)]

    @property
    def object_shared(self) -> torch.Tensor | None:
        """``(B,)`` bool: the first two views both show the object (the pair *shares* it)."""
        if self.object_shown is None or len(self.object_shown) < 2:
            return None
        return self.object_shown[0] & self.object_shown[1]

    @property
    def view1(self) -> torch.Tensor:
        return self.views[0]

    @property
    def view2(self) -> torch.Tensor:
        return self.views[1]

    @property
    def params1(self) -> ViewParams:
        return self.params[0]

    @property
    def params2(self) -> ViewParams:
        return self.params[1]

    def to(self, device: torch.device | str, non_blocking: bool = False) -> "PairBatch":
        moved = _map_tensors(self, lambda t: t.to(device, non_blocking=non_blocking))
        return dataclasses.replace(moved, params=[p.to(device) for p in self.params])

    def pin_memory(self) -> "PairBatch":
        return _map_tensors(self, lambda t: t.pin_memory())

    def negative_mask(self, views: int = 2, **ids) -> torch.Tensor:
        """Who may be a negative of whom among the first ``views`` views (rows ordered as
        ``torch.cat(views)``): items sharing a label, a source or the dataset index are
        not negatives. Extra ids (``groups=``, ``clusters=``) pass on to
        :func:`pairgen.negatives.negative_mask`."""
        from pairgen.negatives import negative_mask

        known = {"labels": self.labels, "sources": self.sources, "indices": self.index}
        known = {k: v for k, v in known.items() if v is not None}
        return negative_mask(**known, **ids, n_views=views, batch_size=len(self), device=self.views[0].device)

    def correspondence(self, first: int = 0, second: int = 1, grid: int = 7, pos_ratio: float = 0.7):
        """Dense correspondence between two views, PixPro's positives, geometric ops
        followed (see :func:`pairgen.correspondence.correspondence`).

        Raises:
            ValueError: the batch does not know its source sizes (views of different images).
        """
        from pairgen.correspondence import correspondence

        if self.sizes is None:
            raise ValueError("this batch has no source sizes: its views do not all show the same images")
        ops = self.view_ops or ((),) * len(self.params)
        return correspondence(self.params[first], self.params[second], self.sizes, grid=grid, pos_ratio=pos_ratio,
                              first_ops=ops[first], second_ops=ops[second])
