"""Saliency-constrained crops (CAST: Selvaraju et al., "CASTing Your Model: Learning to
Localize Improves Self-Supervised Representations", CVPR 2021; code: salesforce/CAST,
``moco/augmentations/functional.py``, ``get_random_crop_coords_mask_cover``)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.special import ndtr, ndtri

from pairgen.crops.base import CropSampler, check_range, register_crop
from pairgen.crops.proposals import propose
from pairgen.crops.random_resized import random_resized_boxes
from pairgen.crops.regions import SalientRegions, salient_regions
from pairgen.random import uniform


def truncated_normal(u: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """Normal(``mean``, ``std``) truncated to ``[low, high]``, from uniforms ``u`` by the inverse
    CDF: the distribution that CAST's rejection loop (``_trunc_gauss``) draws from, in one
    pass. ``low == high`` gives ``low``, as there."""
    a, b = ndtr((low - mean) / std), ndtr((high - mean) / std)
    x = mean + std * ndtri(a + u * (b - a))
    return torch.maximum(torch.minimum(x, high), low)


@register_crop
@dataclass(frozen=True)
class CASTCrop(CropSampler):
    """CAST's crops: random resized crops that cover a share of the salient object.

    As the reference sampler: ``attempts`` candidates per view (all drawn at once),
    area uniform in ``scale`` of the image, log-uniform aspect ratio, a candidate that
    does not fit in the image rejected; its centre from a Gaussian around the salient
    region's centroid with the image's width and height as standard deviations,
    truncated so that the crop lies inside the image. A candidate is accepted when it
    holds at least ``min(min_areacover, scale[0] * image area / salient area)`` of the
    salient area; with ``second_constraint="all"`` later views must also hold that
    share of the salient area inside the first view (``"ref"``, the paper's setting:
    only the object). If no candidate is accepted, CAST's fallback: the salient box
    grown by a uniform whole number of pixels towards each image side, then shrunk to
    ``ratio`` (flagged in ``fallback_used``). An image without salient pixels (where
    the reference skips the image) gets a plain random resized crop, flagged too.

    The truncated Gaussian is drawn by the inverse CDF instead of CAST's rejection
    loop (the same distribution; ``tests/test_cast_reference.py`` compares them), and
    the salient area inside a box is read from the region grid
    (:mod:`pairgen.crops.regions`; exact for images up to 64 px per side).

    Args:
        scale: crop area range, as a fraction of the image.
        ratio: aspect ratio range (width / height).
        min_areacover: share of the salient area each crop must hold (0.2 in the paper).
        second_constraint: ``"ref"`` or ``"all"``, the reference's option of that name.
        threshold: the salient region is saliency >= ``threshold`` x the map's maximum
            (a 0/1 mask is itself).
        attempts: candidates per view (10 in the reference).
    """

    name = "cast"
    needs_saliency = True
    scale: tuple[float, float] = (0.2, 1.0)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    min_areacover: float = 0.2
    second_constraint: str = "ref"
    threshold: float = 0.5
    attempts: int = 10

    def __post_init__(self):
        check_range("scale", self.scale, 0.0, 1.0)
        check_range("ratio", self.ratio, 1e-3, 1e3)
        for name in ("min_areacover", "threshold"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.second_constraint not in ("ref", "all"):
            raise ValueError(f"second_constraint must be 'ref' or 'all', got {self.second_constraint!r}")
        if not 1 <= self.attempts <= 1000:
            raise ValueError(f"attempts must be in [1, 1000], got {self.attempts}")

    def sample(self, batch, seeds, previous):
        regions = salient_regions(batch, self.threshold)
        sizes = batch.sizes.to(seeds.device).double()
        image_area = sizes[:, 0] * sizes[:, 1]
        cover = torch.clamp(self.scale[0] * image_area / regions.source_area().clamp_min(1e-9), max=self.min_areacover)[:, None]
        first = previous[0].boxes.to(sizes)[:, None, :] if previous and self.second_constraint == "all" else None

        def accept(candidates):
            ok = regions.coverage(candidates) >= cover
            if first is not None:
                shared = torch.cat([torch.maximum(first[..., :2], candidates[..., :2]),
                                    torch.minimum(first[..., 2:], candidates[..., 2:])], -1)
                inside_first = regions.box_area(first)
                ok &= (inside_first <= 0) | (regions.box_area(shared) / inside_first.clamp_min(1e-9) >= cover)
            return ok & ~regions.empty[:, None]

        def fallback():
            grown = grown_boxes(regions, sizes, self.ratio, uniform(seeds, 2, 4).double())
            plain, _ = random_resized_boxes(sizes, seeds, self.scale, self.ratio, stream=3)
            return torch.where(regions.empty[:, None], plain.to(grown), grown)

        place = centred_place(sizes, regions)
        boxes, failed = propose(sizes, seeds, self.scale, self.ratio, self.attempts, place, accept, fallback)
        return boxes.float(), failed


def centred_place(sizes: torch.Tensor, regions: SalientRegions):
    """CAST's placement: centre ~ truncated Normal(centroid, image side) inside the image."""
    height, width = sizes[:, 0:1], sizes[:, 1:2]
    # scipy's center_of_mass, which the reference uses, counts pixel i at i, not i + 0.5.
    cx, cy = regions.centroid[:, 0:1].to(sizes) - 0.5, regions.centroid[:, 1:2].to(sizes) - 0.5

    def place(w, h, u):
        centre_x = truncated_normal(u[:, 0], cx, width, w / 2, width - w / 2)
        centre_y = truncated_normal(u[:, 1], cy, height, h / 2, height - h / 2)
        x1, y1 = torch.floor(centre_x - w / 2), torch.floor(centre_y - h / 2)
        return torch.stack([x1, y1, x1 + w, y1 + h], -1)

    return place


def grown_boxes(regions: SalientRegions, sizes: torch.Tensor, ratio: tuple[float, float], u: torch.Tensor) -> torch.Tensor:
    """CAST's fallback: each side of the salient box (whole pixels) moved towards the image
    side by a uniform whole number of pixels (both ends included), then the box's width
    (too wide) or height (too tall) cut to ``ratio``, moved back to the box's far side
    where the cut left it short. ``u``: ``(B, 4)`` uniforms."""
    height, width = sizes[:, 0], sizes[:, 1]
    box = regions.box.to(sizes)
    rx1, ry1 = box[:, 0].floor().clamp(0), box[:, 1].floor().clamp(0)
    rx2, ry2 = torch.minimum(box[:, 2].ceil(), width), torch.minimum(box[:, 3].ceil(), height)
    x1 = rx1 - torch.floor(u[:, 0] * (rx1 + 1))
    y1 = ry1 - torch.floor(u[:, 1] * (ry1 + 1))
    x2 = rx2 + torch.floor(u[:, 2] * (width - rx2 + 1))
    y2 = ry2 + torch.floor(u[:, 3] * (height - ry2 + 1))
    aspect = (x2 - x1) / (y2 - y1)
    wide, tall = aspect > ratio[1], aspect < ratio[0]
    cut_x2 = x1 + torch.floor((y2 - y1) * ratio[1])
    short_x = cut_x2 < rx2
    new_x1 = torch.where(short_x, x1 + rx2 - cut_x2, x1)
    new_x2 = torch.where(short_x, rx2, cut_x2)
    cut_y2 = y1 + torch.floor((x2 - x1) / ratio[0])
    short_y = cut_y2 < ry2
    new_y1 = torch.where(short_y, y1 + ry2 - cut_y2, y1)
    new_y2 = torch.where(short_y, ry2, cut_y2)
    x1, x2 = torch.where(wide, new_x1, x1), torch.where(wide, new_x2, x2)
    y1, y2 = torch.where(tall & ~wide, new_y1, y1), torch.where(tall & ~wide, new_y2, y2)
    return torch.stack([x1, y1, x2, y2], 1)
