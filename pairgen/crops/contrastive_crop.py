"""ContrastiveCrop (Peng et al., "Crafting Better Contrastive Views for Siamese
Representation Learning", CVPR 2022) and its fixed-centre-box variant SimCCrop."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch

from pairgen.crops.base import CropSampler, check_range
from pairgen.crops.regions import salient_regions
from pairgen.random import uniform


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


def beta_crops(sizes, regions_box, seeds, scale, ratio, alpha, attempts=10):
    """Crops whose size is a random resized crop's and whose top-left corner is drawn
    with Beta(alpha, alpha) between the positions that centre the crop on the box's
    two edges (the reference code's parameterisation), clamped inside the image."""
    height, width = sizes[:, 0:1].double(), sizes[:, 1:2].double()
    u = uniform(seeds, 0, 4 * attempts).double().view(-1, 4, attempts)
    area = height * width * (scale[0] + u[:, 0] * (scale[1] - scale[0]))
    log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
    aspect = torch.exp(log_lo + u[:, 1] * (log_hi - log_lo))
    w, h = torch.round(torch.sqrt(area * aspect)), torch.round(torch.sqrt(area / aspect))
    fits = (w > 0) & (w <= width) & (h > 0) & (h <= height)
    first = fits.double().argmax(1, keepdim=True)
    w, h = w.gather(1, first)[:, 0], h.gather(1, first)[:, 0]
    fallback = ~fits.any(1)
    side = torch.minimum(width[:, 0], height[:, 0])
    w, h = torch.where(fallback, side, w), torch.where(fallback, side, h)
    box = regions_box.double()
    top_lo = (box[:, 1] - h // 2).floor().clamp(min=0)
    top_lo = torch.minimum(top_lo, height[:, 0] - h)
    top_hi = torch.minimum((box[:, 3] - h // 2).floor().clamp(min=0), height[:, 0] - h)
    left_lo = torch.minimum((box[:, 0] - w // 2).floor().clamp(min=0), width[:, 0] - w)
    left_hi = torch.minimum((box[:, 2] - w // 2).floor().clamp(min=0), width[:, 0] - w)
    b = beta_symmetric(u[:, 2:, 0], alpha)
    top = top_lo + torch.floor((top_hi - top_lo) * b[:, 0])
    left = left_lo + torch.floor((left_hi - left_lo) * b[:, 1])
    top = torch.where(fallback, torch.floor((height[:, 0] - h) / 2), top)
    left = torch.where(fallback, torch.floor((width[:, 0] - w) / 2), left)
    return torch.stack([left, top, left + w, top + h], 1).float(), fallback


@dataclass(frozen=True)
class ContrastiveCrop(CropSampler):
    """Crops centred inside the object's box, with Beta(alpha, alpha) centre suppression.

    The box is the region where the image's heatmap (``batch.saliency``: a model's
    summed last-stage activations refreshed during training, see
    :class:`pairgen.crops.box_refresh.HeatmapRefresh`, or any saliency map) is at
    least ``threshold`` x its maximum. Images without a heatmap use the whole image,
    which is the paper's warm-up with plain random resized crops. ``alpha < 1``
    pushes centres towards the box's edges, so views vary while staying on the
    object.

    Args:
        scale: crop area range, as a fraction of the whole image.
        ratio: aspect ratio range.
        alpha: Beta(alpha, alpha) parameter (0.6 on ImageNet in the paper).
        threshold: heatmap threshold relative to its maximum (0.1 in the paper).
    """

    name = "ccrop"
    scale: tuple[float, float] = (0.2, 1.0)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    alpha: float = 0.6
    threshold: float = 0.1

    def __post_init__(self):
        check_range("scale", self.scale, 0.0, 1.0)
        check_range("ratio", self.ratio, 1e-3, 1e3)
        if not 0.01 <= self.alpha <= 100:
            raise ValueError(f"alpha must be in [0.01, 100], got {self.alpha}")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {self.threshold}")

    def region_boxes(self, batch) -> torch.Tensor:
        """``(B, 4)`` boxes the crops centre in, source pixels."""
        return salient_regions(batch, self.threshold).box

    def sample(self, batch, seeds, previous):
        return beta_crops(batch.sizes.to(seeds.device), self.region_boxes(batch), seeds, self.scale, self.ratio, self.alpha)


@dataclass(frozen=True)
class SimCCrop(ContrastiveCrop):
    """ContrastiveCrop with a fixed centred box of ``fraction`` of each side instead of a
    heatmap box: the centre prior of object-centric datasets, with no model or map.

    Args:
        fraction: side of the centre box relative to the image's.
    """

    name = "simccrop"
    fraction: float = 0.6

    def __post_init__(self):
        super().__post_init__()
        if not 0 < self.fraction <= 1:
            raise ValueError(f"fraction must be in (0, 1], got {self.fraction}")

    def region_boxes(self, batch) -> torch.Tensor:
        size = batch.sizes.double()
        lo, hi = size * (1 - self.fraction) / 2, size * (1 + self.fraction) / 2
        return torch.stack([lo[:, 1], lo[:, 0], hi[:, 1], hi[:, 0]], 1)
