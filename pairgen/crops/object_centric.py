"""Object-centric crops (Mishra et al., "Object-aware Cropping for Self-Supervised
Learning", 2021): a random resized crop inside one object's dilated box."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pairgen.crops.base import CropSampler, check_range, register_crop
from pairgen.crops.random_resized import random_resized_boxes
from pairgen.crops.regions import salient_regions
from pairgen.random import uniform


@register_crop
@dataclass(frozen=True)
class ObjectCrop(CropSampler):
    """Crop one object: pick an object, dilate its box, random-resized-crop inside it.

    Objects are the item's ``boxes``, or the connected components of its ``mask``
    (found in ``collate``), or else the box of its salient region. Each sample's
    first view picks an object uniformly; later views of the pair take the object
    whose box holds the first view's centre, so a scene with several objects gives
    one object per pair. Without any object the crop is a random resized crop of
    the whole image, flagged in ``fallback_used``.

    Args:
        dilation: each side of the object box grows by this fraction of the box's
            size (clipped to the image).
        scale: crop area range, as a fraction of the dilated box's area.
        ratio: aspect ratio range.
        threshold: salient region threshold (relative to the map's maximum) when
            the item has no boxes.
    """

    name = "object"
    needs_saliency = True
    dilation: float = 0.2
    scale: tuple[float, float] = (0.2, 1.0)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    threshold: float = 0.5

    def __post_init__(self):
        check_range("scale", self.scale, 0.0, 1.0)
        check_range("ratio", self.ratio, 1e-3, 1e3)
        if not 0.0 <= self.dilation <= 10.0:
            raise ValueError(f"dilation must be in [0, 10], got {self.dilation}")

    def sample(self, batch, seeds, previous):
        n, device = len(seeds), seeds.device
        sizes = batch.sizes.to(device).float()
        if batch.boxes is not None:
            objects, valid = batch.boxes.to(device).float(), batch.box_valid.to(device)
        else:
            objects, valid = torch.zeros(n, 1, 4, device=device), torch.zeros(n, 1, dtype=torch.bool, device=device)
        regions = salient_regions(batch, self.threshold)
        use_region = ~valid.any(1) & ~regions.empty
        objects = torch.where(use_region[:, None, None], regions.box.float()[:, None, :], objects)
        valid = valid | use_region[:, None]
        if previous:
            centre = (previous[0].boxes[:, :2] + previous[0].boxes[:, 2:]).to(device)[:, None, :] / 2
            holds = ((centre >= objects[..., :2]) & (centre <= objects[..., 2:])).all(-1) & valid
            score = holds.float() * 2 + valid.float()  # the holding object, else any valid one
            pick = score.argmax(1)
        else:
            count = valid.sum(1).clamp_min(1)
            rank = (uniform(seeds, 0)[:, 0] * count).long().clamp(max=count - 1)
            order = torch.where(valid, valid.long().cumsum(1) - 1, -1)
            pick = (order == rank[:, None]).long().argmax(1)
        box = objects[torch.arange(n, device=device), pick]
        grow = (box[:, 2:] - box[:, :2]) * self.dilation
        # The dilated box in whole pixels, inside the image: crops drawn inside it stay inside.
        corner = (box[:, :2] - grow).floor().clamp_min(0)
        far = torch.maximum(torch.minimum((box[:, 2:] + grow).ceil(), sizes[:, [1, 0]]), corner + 1)
        inside, _ = random_resized_boxes((far - corner).flip(1), seeds, self.scale, self.ratio, stream=1)
        boxes = inside + corner[:, [0, 1, 0, 1]]
        fallback = ~valid.any(1)
        if bool(fallback.any()):
            whole, _ = random_resized_boxes(sizes, seeds, self.scale, self.ratio, stream=2)
            boxes = torch.where(fallback[:, None], whole, boxes)
        return boxes, fallback
