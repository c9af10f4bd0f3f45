"""ContrastiveCrop (Peng et al., "Crafting Better Contrastive Views for Siamese
Representation Learning", CVPR 2022) and its fixed-centre-box variant SimCCrop."""

from __future__ import annotations

import functools
from abc import abstractmethod
from dataclasses import dataclass

import torch

from pairgen.crops.base import CropSampler, check_range, register_crop
from pairgen.crops.proposals import propose, uniform_place
from pairgen.crops.regions import image_extents


@functools.lru_cache(maxsize=16)
def _beta_quantiles(alpha: float, points: int = 4097) -> torch.Tensor:
    from scipy.special import betaincinv

    grid = torch.linspace(0, 1, points, dtype=torch.float64)
    return torch.from_numpy(betaincinv(alpha, alpha, grid.numpy()))


def beta_symmetric(u: torch.Tensor, alpha: float) -> torch.Tensor:
    """Beta(alpha, alpha) samples from uniforms ``u`` by the tabulated inverse CDF."""
    table = _beta_quantiles(float(alpha)).to(u.device)
    position = u.double() * (len(table) - 1)
    low = position.floor().long().clamp(max=len(table) - 2)
    frac = position - low
    return (table[low] * (1 - frac) + table[low + 1] * frac).to(u.dtype)


def beta_place(sizes: torch.Tensor, box: torch.Tensor, alpha: float):
    """ContrastiveCrop's placement: the top-left corner between the positions that centre
    the crop on the box's two edges (each clamped inside the image), at a Beta(alpha,
    alpha) fraction of the way, floored to whole pixels (the reference's ``get_params``)."""
    height, width = sizes[:, 0:1], sizes[:, 1:2]
    box = box.to(sizes)[:, :, None]

    def place(w, h, u):
        top_lo = torch.minimum((box[:, 1].floor() - torch.div(h, 2, rounding_mode="floor")).clamp_min(0), height - h)
        top_hi = torch.minimum((box[:, 3].floor() - torch.div(h, 2, rounding_mode="floor")).clamp_min(0), height - h)
        left_lo = torch.minimum((box[:, 0].floor() - torch.div(w, 2, rounding_mode="floor")).clamp_min(0), width - w)
        left_hi = torch.minimum((box[:, 2].floor() - torch.div(w, 2, rounding_mode="floor")).clamp_min(0), width - w)
        top = top_lo + torch.floor((top_hi - top_lo) * beta_symmetric(u[:, 0], alpha))
        left = left_lo + torch.floor((left_hi - left_lo) * beta_symmetric(u[:, 1], alpha))
        return torch.stack([left, top, left + w, top + h], -1)

    return place


def heatmap_boxes(batch, threshold: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(B, 4)`` ContrastiveCrop boxes, xyxy source pixels: the rows and columns where the
    heatmap, min-max normalised over the image, exceeds ``threshold`` (``update_box`` in the
    reference); the far edges are the last such row and column, as there. Images without a
    map (or with a constant one) get the whole image, the reference's initial box, and
    ``False`` in the ``(B,)`` bool flags returned second (``True``: the box is a heatmap's)."""
    sizes = batch.sizes.to(batch.images.device).double()
    whole = torch.stack([torch.zeros_like(sizes[:, 0]), torch.zeros_like(sizes[:, 0]), sizes[:, 1], sizes[:, 0]], 1)
    has_box = torch.zeros(len(batch), dtype=torch.bool, device=sizes.device)
    if batch.saliency is None or len(batch) == 0:
        return whole, has_box
    extent = image_extents(batch)
    box = whole.clone()
    for h, w in extent.unique(dim=0).tolist():  # each image's own region of the canvas
        rows = (extent == extent.new_tensor([h, w])).all(1).nonzero()[:, 0]
        heat = batch.saliency[rows, 0, :h, :w]
        low, high = heat.amin((1, 2)), heat.amax((1, 2))
        level = (low + threshold * (high - low))[:, None]
        row_on, col_on = heat.amax(2) > level, heat.amax(1) > level
        found = (high > low) & row_on.any(1)
        first_row, last_row = row_on.double().argmax(1), h - 1 - row_on.flip(1).double().argmax(1)
        first_col, last_col = col_on.double().argmax(1), w - 1 - col_on.flip(1).double().argmax(1)
        fraction = torch.stack([first_col / w, first_row / h, last_col / w, last_row / h], 1).double()
        box[rows] = torch.where(found[:, None], fraction * whole[rows][:, [2, 3, 2, 3]], whole[rows])
        has_box[rows] = found
    return box, has_box


@dataclass(frozen=True)
class BetaCrop(CropSampler):
    """Random resized crops placed in a box with Beta(alpha, alpha) centre suppression
    (ContrastiveCrop's sampler; subclasses say which box). As the reference, the first of
    10 candidates that fits is kept; if none fits, torchvision's centre crop at ``ratio``
    (flagged).

    Args:
        scale: crop area range, as a fraction of the whole image.
        ratio: aspect ratio range.
        alpha: Beta(alpha, alpha) parameter (0.6 on ImageNet in the paper).
    """

    scale: tuple[float, float] = (0.2, 1.0)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    alpha: float = 0.6

    def __post_init__(self):
        check_range("scale", self.scale, 0.0, 1.0)
        check_range("ratio", self.ratio, 1e-3, 1e3)
        if not 0.01 <= self.alpha <= 100:
            raise ValueError(f"alpha must be in [0.01, 100], got {self.alpha}")

    @abstractmethod
    def region_boxes(self, batch) -> torch.Tensor:
        """``(B, 4)`` boxes the crops are placed in, xyxy source pixels."""

    def placement(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`region_boxes` and ``(B,)`` bool: placed by Beta in the box (``False``:
        uniformly in the image, as a random resized crop)."""
        boxes = self.region_boxes(batch)
        return boxes, torch.ones(len(boxes), dtype=torch.bool, device=boxes.device)

    def sample(self, batch, seeds, previous):
        sizes = batch.sizes.to(seeds.device).double()
        boxes, in_box = (v.to(sizes.device) for v in self.placement(batch))
        beta, plain = beta_place(sizes, boxes.to(sizes), self.alpha), uniform_place(sizes)

        def place(w, h, u):
            return torch.where(in_box[:, None, None], beta(w, h, u), plain(w, h, u))

        boxes, fallback = propose(sizes, seeds, self.scale, self.ratio, 10, place)
        return boxes.float(), fallback


@register_crop
@dataclass(frozen=True)
class ContrastiveCrop(BetaCrop):
    """ContrastiveCrop: crops placed in the object's heatmap box with Beta(alpha, alpha)
    centre suppression.

    The box is where the image's heatmap (``batch.saliency``: a model's summed
    last-stage activations refreshed during training, see
    :class:`pairgen.crops.box_refresh.HeatmapRefresh`, or any saliency map), min-max
    normalised, exceeds ``threshold`` (:func:`heatmap_boxes`). Images without a heatmap
    (or with a constant one) get plain random resized crops at the same ``scale`` and
    ``ratio``, placed uniformly: the paper's warm-up, whose transform is torchvision's
    ``RandomResizedCrop`` (its configs refresh the boxes before the first Beta-placed
    crop; Beta over the whole image would push crops to its borders). ``alpha < 1``
    pushes centres towards the box's edges, so views vary while staying on the object.

    Args:
        threshold: normalised heatmap threshold (``box_thresh``, 0.1 in the paper).
    """

    name = "ccrop"
    threshold: float = 0.1

    def __post_init__(self):
        super().__post_init__()
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {self.threshold}")

    def region_boxes(self, batch) -> torch.Tensor:
        return heatmap_boxes(batch, self.threshold)[0]

    def placement(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        return heatmap_boxes(batch, self.threshold)


@register_crop
@dataclass(frozen=True)
class SimCCrop(BetaCrop):
    """SimCCrop: ContrastiveCrop's sampling in a fixed centred box of ``fraction`` of each
    side (the reference's ``init_box`` (0.25, 0.25, 0.75, 0.75)) instead of a heatmap box:
    the centre prior of object-centric datasets, with no model or map.

    Args:
        fraction: side of the centre box relative to the image's.
    """

    name = "simccrop"
    alpha: float = 0.1
    fraction: float = 0.5

    def __post_init__(self):
        super().__post_init__()
        if not 0 < self.fraction <= 1:
            raise ValueError(f"fraction must be in (0, 1], got {self.fraction}")

    def region_boxes(self, batch) -> torch.Tensor:
        size = batch.sizes.double()
        lo, hi = size * (1 - self.fraction) / 2, size * (1 + self.fraction) / 2
        return torch.stack([lo[:, 1], lo[:, 0], hi[:, 1], hi[:, 0]], 1)
