"""Where the object is: salient regions and summed-area tables for the crop samplers.

All statistics are computed on the batch's canvas, batched, and returned in source
pixels, so a sampler scores K candidate boxes of every sample at once with four
lookups each (an integral image, Crow 1984).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch

from pairgen.batch import ImageBatch


@dataclass(frozen=True)
class SalientRegions:
    """Binary salient region of every image of a batch.

    Attributes:
        table: ``(B, H + 1, W + 1)`` float64 summed-area table of the region on the canvas.
        area: ``(B,)`` salient area in canvas pixels.
        centroid: ``(B, 2)`` ``(x, y)`` centroid in source pixels.
        box: ``(B, 4)`` bounding box of the region, xyxy source pixels (the whole
            image where the region is empty).
        empty: ``(B,)`` bool, no salient pixel (no map, an all-zero map...).
        scales: ``(B, 2)`` canvas pixels per source pixel ``(y, x)``.
    """

    table: torch.Tensor
    area: torch.Tensor
    centroid: torch.Tensor
    box: torch.Tensor
    empty: torch.Tensor
    scales: torch.Tensor

    def box_area(self, boxes: torch.Tensor) -> torch.Tensor:
        """Salient canvas pixels inside source-pixel boxes ``(B, K, 4)`` -> ``(B, K)``.

        A pixel counts when its centre lies inside the box (box edges are rounded to
        whole canvas pixels)."""
        scale = self.scales.to(boxes)[:, None, [1, 0, 1, 0]]
        height, width = self.table.shape[1] - 1, self.table.shape[2] - 1
        canvas = (boxes * scale).round().long()
        x1, x2 = canvas[..., 0].clamp(0, width), canvas[..., 2].clamp(0, width)
        y1, y2 = canvas[..., 1].clamp(0, height), canvas[..., 3].clamp(0, height)
        flat = self.table.flatten(1)
        stride = width + 1

        def at(y, x):
            return flat.gather(1, (y * stride + x).flatten(1)).view(y.shape)

        total = at(y2, x2) - at(y1, x2) - at(y2, x1) + at(y1, x1)
        return total * ((x2 > x1) & (y2 > y1))

    def coverage(self, boxes: torch.Tensor) -> torch.Tensor:
        """Fraction ``(B, K)`` of each image's salient area inside the boxes (0 when empty)."""
        return self.box_area(boxes) / self.area.clamp_min(1)[:, None]


_warned = False


def salient_regions(batch: ImageBatch, threshold: float = 0.5) -> SalientRegions:
    """The salient region of each image: saliency at least ``threshold`` x its maximum.

    Maps that are missing, all zero, or (before collation) NaN or negative give an
    empty region; samplers then fall back to uniform sampling and flag it. One
    warning is issued per process.
    """
    global _warned
    n, device = len(batch), batch.images.device
    height, width = batch.images.shape[-2:]
    sizes = batch.sizes.to(device).double()
    scales = batch.scales.to(device).double()
    if batch.saliency is None:
        region = torch.zeros((n, height, width), dtype=torch.float64, device=device)
    else:
        saliency = batch.saliency[:, 0].double().nan_to_num(0.0).clamp_min(0)
        peak = saliency.flatten(1).amax(1).view(n, 1, 1)
        region = ((saliency >= threshold * peak) & (peak > 0)).double()
    table = torch.zeros((n, height + 1, width + 1), dtype=torch.float64, device=device)
    table[:, 1:, 1:] = region.cumsum(1).cumsum(2)
    area = table[:, -1, -1]
    empty = area < 1
    if bool(empty.any()) and batch.saliency is not None and not _warned:
        warnings.warn("some saliency maps are empty: those samples fall back to uniform crops (fallback_used)", stacklevel=3)
        _warned = True
    ys = torch.arange(height, device=device, dtype=torch.float64) + 0.5
    xs = torch.arange(width, device=device, dtype=torch.float64) + 0.5
    mass = area.clamp_min(1)
    cx = (region.sum(1) * xs).sum(1) / mass / scales[:, 1]
    cy = (region.sum(2) * ys).sum(1) / mass / scales[:, 0]
    rows, cols = region.amax(2) > 0, region.amax(1) > 0
    big = torch.iinfo(torch.int64).max // 4
    col_index = torch.arange(width, device=device)
    row_index = torch.arange(height, device=device)
    x1 = torch.where(cols, col_index, big).amin(1).double()
    x2 = torch.where(cols, col_index + 1, -1).amax(1).double()
    y1 = torch.where(rows, row_index, big).amin(1).double()
    y2 = torch.where(rows, row_index + 1, -1).amax(1).double()
    box = torch.stack([x1 / scales[:, 1], y1 / scales[:, 0], x2 / scales[:, 1], y2 / scales[:, 0]], 1)
    whole = torch.stack([torch.zeros_like(sizes[:, 0]), torch.zeros_like(sizes[:, 0]), sizes[:, 1], sizes[:, 0]], 1)
    box = torch.where(empty[:, None], whole, torch.minimum(box, whole[:, [2, 3, 2, 3]]))
    centroid = torch.where(empty[:, None], whole[:, 2:] / 2, torch.stack([cx, cy], 1))
    return SalientRegions(table=table, area=area, centroid=centroid, box=box, empty=empty, scales=scales)
