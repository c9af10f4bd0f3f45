"""``shared_object``: pairgen's own crops that both show the salient object (not a paper's
method), keeping the diversity of plain random resized crops."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pairgen.crops.base import CropSampler, check_range, register_crop
from pairgen.crops.cast import grown_boxes
from pairgen.crops.proposals import propose, uniform_place
from pairgen.crops.random_resized import random_resized_boxes
from pairgen.crops.regions import salient_regions
from pairgen.random import uniform


@register_crop
@dataclass(frozen=True)
class SharedObjectCrop(CropSampler):
    """Random resized crops that show the salient object, every view of the pair.

    Candidates are SimCLR's random resized crops (uniform position, ``scale`` and
    ``ratio`` as in a random resized crop), ``attempts`` per view drawn at once; the
    first that *shows the object* is kept: the salient region covers at least
    ``min_object_in_crop`` of the crop, or the crop holds at least
    ``min_crop_of_object`` of the region (the rule of pairgen's pair-quality measure,
    ``pairgen.diagnostics.pair_quality``; both read from the region grid of
    :mod:`pairgen.crops.regions`). Every view draws independently, so a pair is two
    random crops conditioned on showing the object: both views show it, and besides
    that they vary as plain random crops do. If no candidate shows it, the salient box
    grown at random towards the image sides (CAST's fallback,
    :func:`pairgen.crops.cast.grown_boxes`), which holds the object; an image without
    salient pixels gets a plain random resized crop. Both are flagged in
    ``fallback_used``.

    Args:
        scale: crop area range, as a fraction of the image.
        ratio: aspect ratio range (width / height).
        min_object_in_crop: salient share of the crop that shows the object.
        min_crop_of_object: share of the salient region that shows the object.
        threshold: the salient region is saliency >= ``threshold`` x the map's maximum.
        attempts: candidates per view.
    """

    name = "shared_object"
    needs_saliency = True
    scale: tuple[float, float] = (0.08, 1.0)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    min_object_in_crop: float = 0.2
    min_crop_of_object: float = 0.5
    threshold: float = 0.5
    attempts: int = 50

    def __post_init__(self):
        check_range("scale", self.scale, 0.0, 1.0)
        check_range("ratio", self.ratio, 1e-3, 1e3)
        for name in ("min_object_in_crop", "min_crop_of_object", "threshold"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if not 1 <= self.attempts <= 1000:
            raise ValueError(f"attempts must be in [1, 1000], got {self.attempts}")

    def sample(self, batch, seeds, previous):
        regions = salient_regions(batch, self.threshold)
        sizes = batch.sizes.to(seeds.device).double()
        pixels = (regions.scales[:, 0] * regions.scales[:, 1])[:, None]  # canvas pixels per source pixel

        def accept(candidates):
            inside = regions.box_area(candidates)
            crop_area = (candidates[..., 2] - candidates[..., 0]) * (candidates[..., 3] - candidates[..., 1]) * pixels
            shows = (inside >= self.min_object_in_crop * crop_area) | (inside >= self.min_crop_of_object * regions.area[:, None])
            return shows & ~regions.empty[:, None]

        def fallback():
            grown = grown_boxes(regions, sizes, self.ratio, uniform(seeds, 2, 4).double())
            plain, _ = random_resized_boxes(sizes, seeds, self.scale, self.ratio, stream=3)
            return torch.where(regions.empty[:, None], plain.to(grown), grown)

        boxes, failed = propose(sizes, seeds, self.scale, self.ratio, self.attempts, uniform_place(sizes), accept, fallback)
        return boxes.float(), failed
