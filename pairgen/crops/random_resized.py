"""torchvision's RandomResizedCrop, vectorised over the batch."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from pairgen.crops.base import CropSampler, check_range
from pairgen.random import uniform


def random_resized_boxes(
    sizes: torch.Tensor,
    seeds: torch.Tensor,
    scale: tuple[float, float],
    ratio: tuple[float, float],
    attempts: int = 10,
    stream: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random-resized-crop boxes for regions of the given sizes.

    The distribution of torchvision's ``RandomResizedCrop.get_params``: area
    uniform in ``scale`` of the region's area, log aspect ratio uniform in
    ``ratio``, whole-pixel sides, uniform position; the first of ``attempts``
    candidates that fits is kept, all drawn at once. If none fits, the centre crop
    of the region clamped to ``ratio`` is used and flagged.

    Args:
        sizes: ``(B, 2)`` float region ``(height, width)``.
        seeds: ``(B,)`` int64 seeds.

    Returns:
        Boxes ``(B, 4)`` xyxy relative to the region's top-left corner, and ``(B,)``
        bool fallback flags.
    """
    height, width = sizes[:, 0:1].float(), sizes[:, 1:2].float()
    u = uniform(seeds, stream, 4 * attempts).view(-1, 4, attempts)
    area = height * width * (scale[0] + u[:, 0] * (scale[1] - scale[0]))
    log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
    aspect = torch.exp(log_lo + u[:, 1] * (log_hi - log_lo))
    w = torch.round(torch.sqrt(area * aspect))
    h = torch.round(torch.sqrt(area / aspect))
    fits = (w > 0) & (w <= width) & (h > 0) & (h <= height)
    first = fits.float().argmax(1, keepdim=True)  # index of the first candidate that fits
    w, h = w.gather(1, first)[:, 0], h.gather(1, first)[:, 0]
    top = torch.floor(u[:, 2].gather(1, first)[:, 0] * (height[:, 0] - h + 1))
    left = torch.floor(u[:, 3].gather(1, first)[:, 0] * (width[:, 0] - w + 1))
    fallback = ~fits.any(1)
    if bool(fallback.any()):
        fw, fh = _centre_fallback(height[:, 0], width[:, 0], ratio)
        w, h = torch.where(fallback, fw, w), torch.where(fallback, fh, h)
        top = torch.where(fallback, torch.floor((height[:, 0] - h) / 2), top)
        left = torch.where(fallback, torch.floor((width[:, 0] - w) / 2), left)
    return torch.stack([left, top, left + w, top + h], 1), fallback


def _centre_fallback(height, width, ratio):
    aspect = width / height
    w = torch.where(aspect > ratio[1], torch.round(height * ratio[1]), width)
    h = torch.where(aspect < ratio[0], torch.round(width / ratio[0]), height)
    return w.clamp_min(1), h.clamp_min(1)


@dataclass(frozen=True)
class RandomResizedCrop(CropSampler):
    """Random crop of random area and aspect ratio (Szegedy et al. 2015; SimCLR's crop).

    Args:
        scale: range of the crop's area as a fraction of the image's.
        ratio: range of the crop's aspect ratio (width / height).
        attempts: candidates drawn per sample before the centre-crop fallback.

    Example:
        >>> RandomResizedCrop(scale=(0.08, 1.0)).to_dict()["type"]
        'random_resized'
    """

    name = "random_resized"
    scale: tuple[float, float] = (0.08, 1.0)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    attempts: int = 10

    def __post_init__(self):
        check_range("scale", self.scale, 0.0, 1.0)
        check_range("ratio", self.ratio, 1e-3, 1e3)
        if self.scale[1] <= 0:
            raise ValueError(f"scale must allow a positive area, got {self.scale}")
        if not 1 <= self.attempts <= 1000:
            raise ValueError(f"attempts must be in [1, 1000], got {self.attempts}")

    def sample(self, batch, seeds, previous):
        return random_resized_boxes(batch.sizes, seeds, self.scale, self.ratio, self.attempts)


@dataclass(frozen=True)
class CenterCrop(CropSampler):
    """A fixed centred box holding ``fraction`` of each side (SimCCrop's fixed centre box).

    Example:
        >>> CenterCrop(fraction=0.5).to_dict()
        {'type': 'center', 'fraction': 0.5}
    """

    name = "center"
    fraction: float = 1.0

    def __post_init__(self):
        if not 0 < self.fraction <= 1:
            raise ValueError(f"fraction must be in (0, 1], got {self.fraction}")

    def sample(self, batch, seeds, previous):
        size = batch.sizes.float()
        half = size * self.fraction / 2
        centre = size / 2
        lo, hi = centre - half, centre + half
        boxes = torch.stack([lo[:, 1], lo[:, 0], hi[:, 1], hi[:, 0]], 1)
        return boxes, torch.zeros(len(size), dtype=torch.bool, device=size.device)
