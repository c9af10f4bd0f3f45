"""torchvision's RandomResizedCrop, vectorised over the batch."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pairgen.crops.base import CropSampler, check_range, register_crop
from pairgen.crops.proposals import propose, uniform_place


def random_resized_boxes(
    sizes: torch.Tensor,
    seeds: torch.Tensor,
    scale: tuple[float, float],
    ratio: tuple[float, float],
    attempts: int = 10,
    stream: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random-resized-crop boxes for regions of the given sizes.

    The distribution of torchvision's ``RandomResizedCrop.get_params``
    (:func:`pairgen.crops.proposals.propose` with a uniform position): the first of
    ``attempts`` candidates that fits is kept, all drawn at once. If none fits, the
    centre crop of the region clamped to ``ratio`` is used and flagged.

    Args:
        sizes: ``(B, 2)`` float region ``(height, width)``.
        seeds: ``(B,)`` int64 seeds.

    Returns:
        Boxes ``(B, 4)`` float32 xyxy relative to the region's top-left corner, and
        ``(B,)`` bool fallback flags.
    """
    boxes, fallback = propose(sizes, seeds, scale, ratio, attempts, uniform_place(sizes), stream=stream)
    return boxes.float(), fallback


@register_crop
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


@register_crop
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
