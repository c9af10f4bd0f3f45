"""The two batch types: collated images (CPU stage) and sampled views (device stage)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from pairgen.params import ViewParams


def _map_tensors(obj, fn):
    changes = {
        f.name: fn(getattr(obj, f.name))
        for f in dataclasses.fields(obj)
        if isinstance(getattr(obj, f.name), torch.Tensor)
    }
    return dataclasses.replace(obj, **changes)


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
        saliency_given: optional ``(B,)`` bool, which items brought their own map
            (the others' maps are zero until the sampler computes them).
        masks: optional ``(B, 1, H, W)`` uint8 object masks (0 = background) on the canvas.
        boxes: optional ``(B, M, 4)`` float32 object boxes, xyxy in source pixels.
        box_valid: optional ``(B, M)`` bool, which rows of ``boxes`` are real.
        labels, sources, index: optional ``(B,)`` int64 (``sources`` hashes strings).
        times: optional ``(B,)`` float64 time stamps of frames.
    """

    images: torch.Tensor
    sizes: torch.Tensor
    scales: torch.Tensor
    saliency: torch.Tensor | None = None
    saliency_given: torch.Tensor | None = None
    masks: torch.Tensor | None = None
    boxes: torch.Tensor | None = None
    box_valid: torch.Tensor | None = None
    labels: torch.Tensor | None = None
    sources: torch.Tensor | None = None
    index: torch.Tensor | None = None
    times: torch.Tensor | None = None

    def __len__(self) -> int:
        return self.images.shape[0]

    def to(self, device: torch.device | str, non_blocking: bool = False) -> "ImageBatch":
        return _map_tensors(self, lambda t: t.to(device, non_blocking=non_blocking))

    def pin_memory(self) -> "ImageBatch":
        """Called by the DataLoader when ``pin_memory=True``."""
        return _map_tensors(self, lambda t: t.pin_memory())

    def rows(self, index: slice | torch.Tensor) -> "ImageBatch":
        """The batch of the images ``index`` selects."""
        return _map_tensors(self, lambda t: t[index])

    def with_saliency(self, saliency: torch.Tensor) -> "ImageBatch":
        """The batch with ``saliency`` as the maps of the items that brought none."""
        if self.saliency is not None and self.saliency_given is not None:
            saliency = torch.where(self.saliency_given.view(-1, 1, 1, 1), self.saliency, saliency)
        given = torch.ones(len(self), dtype=torch.bool, device=saliency.device)
        return dataclasses.replace(self, saliency=saliency, saliency_given=given)

    @property
    def needs_saliency(self) -> bool:
        """Whether some item has no saliency map yet."""
        return self.saliency is None or (self.saliency_given is not None and not bool(self.saliency_given.all()))

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
    sizes: torch.Tensor | None = None
    view_ops: tuple[tuple, ...] = ()

    def __len__(self) -> int:
        return len(self.params[0]) if self.params else 0

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
        return dataclasses.replace(
            moved,
            views=[v.to(device, non_blocking=non_blocking) for v in self.views],
            params=[p.to(device) for p in self.params],
        )

    def pin_memory(self) -> "PairBatch":
        return dataclasses.replace(
            _map_tensors(self, lambda t: t.pin_memory()), views=[v.pin_memory() for v in self.views]
        )

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
