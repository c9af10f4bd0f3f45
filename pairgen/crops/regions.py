"""Where the object is: salient regions and summed-area tables for the crop samplers.

The binary salient region of every image is counted on a coarse grid of cells
(at most ``GRID`` cells per side of the canvas) with one sum-pooling call, and a
summed-area table of those counts (an integral image, Crow 1984) scores the K
candidate boxes of every sample at once with four lookups each. Only cells that
lie wholly inside a box are counted, so the salient area a box is credited with
is a lower bound of the exact pixel count: a crop accepted for covering a fraction
of the object covers at least that much at full resolution.
"""

from __future__ import annotations

import math
import warnings
import weakref
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from pairgen.batch import ImageBatch

#: Cells per side of the canvas, at most.
GRID = 128


@dataclass(frozen=True)
class SalientRegions:
    """Binary salient region of every image of a batch.

    Attributes:
        table: ``(B, h + 1, w + 1)`` float64 summed-area table of salient pixel counts
            per cell of ``cell`` x ``cell`` canvas pixels.
        cell: side of a cell in canvas pixels.
        area: ``(B,)`` salient area in canvas pixels (exact).
        centroid: ``(B, 2)`` ``(x, y)`` centroid in source pixels (cell accuracy).
        box: ``(B, 4)`` box holding the region, xyxy source pixels, rounded outwards to
            cells (the whole image where the region is empty).
        empty: ``(B,)`` bool, no salient pixel (no map, an all-zero map...).
        scales: ``(B, 2)`` canvas pixels per source pixel ``(y, x)``.
    """

    table: torch.Tensor
    cell: int
    area: torch.Tensor
    centroid: torch.Tensor
    box: torch.Tensor
    empty: torch.Tensor
    scales: torch.Tensor

    def box_area(self, boxes: torch.Tensor) -> torch.Tensor:
        """Salient canvas pixels in the cells wholly inside source-pixel boxes
        ``(B, K, 4)`` -> ``(B, K)``: a lower bound of the pixels whose centres are inside."""
        scale = self.scales.to(boxes)[:, None, [1, 0, 1, 0]] / self.cell
        cells = boxes * scale
        rows, cols = self.table.shape[1] - 1, self.table.shape[2] - 1
        x1 = torch.ceil(cells[..., 0] - 1e-6).long().clamp(0, cols)
        y1 = torch.ceil(cells[..., 1] - 1e-6).long().clamp(0, rows)
        x2 = torch.floor(cells[..., 2] + 1e-6).long().clamp(0, cols)
        y2 = torch.floor(cells[..., 3] + 1e-6).long().clamp(0, rows)
        flat, stride = self.table.flatten(1), cols + 1

        def at(y, x):
            return flat.gather(1, (y * stride + x).flatten(1)).view(y.shape)

        total = at(y2, x2) - at(y1, x2) - at(y2, x1) + at(y1, x1)
        return total * ((x2 > x1) & (y2 > y1))

    def coverage(self, boxes: torch.Tensor) -> torch.Tensor:
        """Fraction ``(B, K)`` of each image's salient area inside the boxes (a lower
        bound; 0 when the region is empty)."""
        return self.box_area(boxes) / self.area.clamp_min(1)[:, None]


_warned = False
_last: tuple = (None, None, None)  # (weak reference to the maps, threshold, regions)


def salient_regions(batch: ImageBatch, threshold: float = 0.5) -> SalientRegions:
    """The salient region of each image: saliency at least ``threshold`` x its maximum.

    Maps that are missing, all zero, or (before collation) NaN or negative give an
    empty region; samplers then fall back to uniform sampling and flag it. One
    warning is issued per process. The last result is kept, so the views of one
    batch share the work.
    """
    global _last
    reference, last_threshold, regions = _last
    if batch.saliency is not None and reference is not None and reference() is batch.saliency and last_threshold == threshold:
        return regions
    regions = _salient_regions(batch, threshold)
    if batch.saliency is not None:
        _last = (weakref.ref(batch.saliency), threshold, regions)
    return regions


def _salient_regions(batch: ImageBatch, threshold: float) -> SalientRegions:
    global _warned
    n, device = len(batch), batch.images.device
    height, width = batch.images.shape[-2:]
    cell = max(1, math.ceil(max(height, width) / GRID))
    sizes = batch.sizes.to(device).double()
    scales = batch.scales.to(device).double()
    if batch.saliency is None:
        counts = torch.zeros((n, math.ceil(height / cell), math.ceil(width / cell)), device=device)
    else:
        saliency = batch.saliency[:, 0].float()
        peak = saliency.flatten(1).amax(1).view(n, 1, 1)
        region = ((saliency >= threshold * peak) & (peak > 0)).float()
        counts = F.avg_pool2d(region[:, None], cell, ceil_mode=True, divisor_override=1)[:, 0] if cell > 1 else region
    counts = counts.double()
    table = F.pad(counts.cumsum(1).cumsum(2), (1, 0, 1, 0))
    area = table[:, -1, -1]
    empty = area < 1
    if bool(empty.any()) and batch.saliency is not None and not _warned:
        warnings.warn("some saliency maps are empty: those samples fall back to uniform crops (fallback_used)", stacklevel=3)
        _warned = True
    rows_n, cols_n = counts.shape[1:]
    centres_y = (torch.arange(rows_n, device=device, dtype=torch.float64) + 0.5) * cell
    centres_x = (torch.arange(cols_n, device=device, dtype=torch.float64) + 0.5) * cell
    mass = area.clamp_min(1)
    cx = (counts.sum(1) * centres_x).sum(1) / mass / scales[:, 1]
    cy = (counts.sum(2) * centres_y).sum(1) / mass / scales[:, 0]
    rows, cols = counts.amax(2) > 0, counts.amax(1) > 0
    big = 1 << 40
    col_index = torch.arange(cols_n, device=device)
    row_index = torch.arange(rows_n, device=device)
    x1 = torch.where(cols, col_index, big).amin(1).double() * cell
    x2 = torch.where(cols, col_index + 1, -1).amax(1).double() * cell
    y1 = torch.where(rows, row_index, big).amin(1).double() * cell
    y2 = torch.where(rows, row_index + 1, -1).amax(1).double() * cell
    box = torch.stack([x1 / scales[:, 1], y1 / scales[:, 0], x2 / scales[:, 1], y2 / scales[:, 0]], 1)
    whole = torch.stack([torch.zeros_like(sizes[:, 0]), torch.zeros_like(sizes[:, 0]), sizes[:, 1], sizes[:, 0]], 1)
    box = torch.where(empty[:, None], whole, torch.minimum(box, whole[:, [2, 3, 2, 3]]))
    centroid = torch.where(empty[:, None], whole[:, 2:] / 2, torch.stack([cx, cy], 1))
    return SalientRegions(table=table, cell=cell, area=area, centroid=centroid, box=box, empty=empty, scales=scales)
