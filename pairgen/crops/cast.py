"""Saliency-constrained crops (CAST: Selvaraju et al., "CASTing Your Model: Learning to
Localize Improves Self-Supervised Representations", CVPR 2021)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from pairgen.crops.base import CropSampler, check_range
from pairgen.crops.random_resized import random_resized_boxes
from pairgen.crops.regions import SalientRegions, salient_regions
from pairgen.random import normal, uniform


def enclosing_boxes(inner: torch.Tensor, sizes: torch.Tensor, ratio: tuple[float, float]) -> torch.Tensor:
    """The smallest boxes that hold ``inner`` (xyxy), with an aspect ratio in ``ratio``,
    centred on it and shifted inside images of ``sizes`` ``(height, width)``."""
    height, width = sizes[:, 0].to(inner), sizes[:, 1].to(inner)
    w, h = inner[:, 2] - inner[:, 0], inner[:, 3] - inner[:, 1]
    w = torch.maximum(w, h * ratio[0]).clamp(1, None)
    h = torch.maximum(h, w / ratio[1]).clamp(1, None)
    w, h = torch.minimum(w.ceil(), width), torch.minimum(h.ceil(), height)
    cx, cy = (inner[:, 0] + inner[:, 2]) / 2, (inner[:, 1] + inner[:, 3]) / 2
    x1 = torch.minimum((cx - w / 2).floor().clamp_min(0), width - w)
    y1 = torch.minimum((cy - h / 2).floor().clamp_min(0), height - h)
    return torch.stack([x1, y1, x1 + w, y1 + h], 1)


@dataclass(frozen=True)
class CASTCrop(CropSampler):
    """Random resized crops that must show the salient object.

    ``attempts`` candidates per view are drawn at once: area and aspect ratio as
    in a random resized crop, the centre normally distributed around the
    saliency centroid (standard deviation ``spread`` times the salient box's
    sides), shifted inside the image. A candidate is accepted when it covers at
    least ``min_areacover`` of the salient area; a later view of the pair must in
    addition share at least ``min_shared`` of the salient area with the first
    view (both crops cover it). The first accepted candidate is kept; if none is,
    the crop enclosing the salient box is used, and an image without salient
    pixels gets a plain random resized crop; both are flagged in
    ``fallback_used``.

    Args:
        scale: crop area range, as a fraction of the image.
        ratio: aspect ratio range (width / height).
        min_areacover: fraction of the salient area each crop must cover.
        min_shared: fraction of the salient area the two views must both cover.
        spread: centre standard deviation, relative to the salient box's sides.
        threshold: the salient region is saliency >= ``threshold`` x the map's maximum.
        attempts: candidates per view.
    """

    name = "cast"
    needs_saliency = True
    scale: tuple[float, float] = (0.2, 1.0)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    min_areacover: float = 0.2
    min_shared: float = 0.0
    spread: float = 0.5
    threshold: float = 0.5
    attempts: int = 32

    def __post_init__(self):
        check_range("scale", self.scale, 0.0, 1.0)
        check_range("ratio", self.ratio, 1e-3, 1e3)
        for name in ("min_areacover", "min_shared", "threshold"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.spread < 0:
            raise ValueError(f"spread must be >= 0, got {self.spread}")
        if not 1 <= self.attempts <= 1000:
            raise ValueError(f"attempts must be in [1, 1000], got {self.attempts}")

    def sample(self, batch, seeds, previous):
        regions = salient_regions(batch, self.threshold)
        candidates = self.candidates(batch.sizes, regions, seeds)
        accepted = regions.coverage(candidates) >= self.min_areacover
        if previous and self.min_shared > 0:
            first = previous[0].boxes.to(candidates)[:, None, :]
            shared = torch.cat([torch.maximum(first[..., :2], candidates[..., :2]),
                                torch.minimum(first[..., 2:], candidates[..., 2:])], -1)
            accepted &= regions.coverage(shared) >= self.min_shared
        return choose(candidates, accepted, regions, batch.sizes, seeds, self.scale, self.ratio)

    def candidates(self, sizes: torch.Tensor, regions: SalientRegions, seeds: torch.Tensor) -> torch.Tensor:
        """``(B, attempts, 4)`` candidate boxes around the saliency centroid."""
        k = self.attempts
        height, width = sizes[:, 0:1].double(), sizes[:, 1:2].double()
        u = uniform(seeds, 0, 2 * k).double()
        area = height * width * (self.scale[0] + u[:, :k] * (self.scale[1] - self.scale[0]))
        log_lo, log_hi = math.log(self.ratio[0]), math.log(self.ratio[1])
        aspect = torch.exp(log_lo + u[:, k:] * (log_hi - log_lo))
        w = torch.minimum(torch.round(torch.sqrt(area * aspect)).clamp_min(1), width)
        h = torch.minimum(torch.round(torch.sqrt(area / aspect)).clamp_min(1), height)
        z = normal(seeds, 1, 2 * k).double()
        box = regions.box.double()
        cx = regions.centroid[:, 0:1] + z[:, :k] * self.spread * (box[:, 2:3] - box[:, 0:1])
        cy = regions.centroid[:, 1:2] + z[:, k:] * self.spread * (box[:, 3:4] - box[:, 1:2])
        x1 = torch.minimum(torch.round(cx - w / 2).clamp_min(0), width - w)
        y1 = torch.minimum(torch.round(cy - h / 2).clamp_min(0), height - h)
        return torch.stack([x1, y1, x1 + w, y1 + h], -1)


def choose(candidates, accepted, regions, sizes, seeds, scale, ratio):
    """Keep each sample's first accepted candidate; fall back to the box enclosing the
    salient region, or to a random resized crop where there is no salient region."""
    first = accepted.double().argmax(1)
    boxes = candidates[torch.arange(len(first), device=first.device), first]
    fallback = ~accepted.any(1)
    if bool(fallback.any()):
        enclosing = enclosing_boxes(regions.box, sizes, ratio)
        uniform_crop, _ = random_resized_boxes(sizes, seeds, scale, ratio, stream=2)
        fallback_box = torch.where(regions.empty[:, None], uniform_crop.to(enclosing), enclosing)
        boxes = torch.where(fallback[:, None], fallback_box.to(boxes), boxes)
    return boxes.float(), fallback
