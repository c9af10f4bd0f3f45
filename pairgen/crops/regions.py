"""Where the object is: the salient region of every image, and how much of it a box holds.

The binary salient region (saliency at least ``threshold`` x the map's maximum) is
measured in each image's own canvas pixels, never the batch's canvas, so that an
item's crops do not depend on the other items of its batch. Its area, centroid and
box are exact (per-row and per-column pixel counts). How much of the region a box
holds is read from a summed-area table (an integral image, Crow 1984) of the region
counted on a grid of at most ``GRID`` cells per side of each image, which scores the
K candidate boxes of every sample at once with a few lookups each. The table is
interpolated bilinearly, i.e. the pixels of a cell are taken as spread evenly over
it: the count is exact for boxes on cell boundaries (and for images of at most
``GRID`` pixels per side, whose cells are pixels) and within a cell's share otherwise.
Only an image's own pixels count, whatever a map holds past them. On the CPU the counts
are taken image by image inside its extent, with one integral image each; on a GPU by
whole-canvas passes masked to the extents. Both give the same integers.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from pairgen.batch import ImageBatch, device_index

#: Cells per side of an image, at most (a 512-px image has 8-px cells).
GRID = 64


@dataclass(frozen=True)
class SalientRegions:
    """Binary salient region of every image of a batch.

    Attributes:
        table: ``(B, R + 1, C + 1)`` float64 summed-area table of salient canvas-pixel
            counts per cell; row ``i`` of it uses ``cell[i]`` x ``cell[i]`` canvas pixels
            per cell, from its own top-left corner (rows past an image are constant).
        cell: ``(B,)`` int64 side of each image's cells in canvas pixels.
        area: ``(B,)`` salient area in canvas pixels (exact).
        centroid: ``(B, 2)`` ``(x, y)`` centroid in source pixels (exact; pixel ``i``
            spans ``[i, i + 1)``; the image centre where the region is empty).
        box: ``(B, 4)`` box holding the region, xyxy source pixels (exact in canvas
            pixels; the whole image where the region is empty).
        empty: ``(B,)`` bool, no salient pixel (no map, an all-zero map...).
        scales: ``(B, 2)`` canvas pixels per source pixel ``(y, x)``.
    """

    table: torch.Tensor
    cell: torch.Tensor
    area: torch.Tensor
    centroid: torch.Tensor
    box: torch.Tensor
    empty: torch.Tensor
    scales: torch.Tensor

    def box_area(self, boxes: torch.Tensor) -> torch.Tensor:
        """Salient canvas pixels inside source-pixel boxes ``(B, K, 4)`` -> ``(B, K)``
        (exact on cell boundaries, cells' pixels spread evenly over them otherwise)."""
        scale = (self.scales.to(boxes)[:, [1, 0, 1, 0]] / self.cell.to(boxes)[:, None])[:, None, :]
        cells = boxes * scale
        rows, cols = self.table.shape[1] - 1, self.table.shape[2] - 1
        flat, stride = self.table.flatten(1), cols + 1

        def at(x, y):
            x, y = x.clamp(0, cols), y.clamp(0, rows)
            x0, y0 = x.floor().clamp(max=max(cols - 1, 0)), y.floor().clamp(max=max(rows - 1, 0))
            fx, fy = x - x0, y - y0
            x0, y0 = x0.long(), y0.long()
            x1, y1 = (x0 + 1).clamp(max=cols), (y0 + 1).clamp(max=rows)

            def get(yy, xx):
                return flat.gather(1, (yy * stride + xx).flatten(1)).view(yy.shape)

            return ((1 - fx) * (1 - fy) * get(y0, x0) + fx * (1 - fy) * get(y0, x1)
                    + (1 - fx) * fy * get(y1, x0) + fx * fy * get(y1, x1))

        x1, y1, x2, y2 = cells.unbind(-1)
        total = at(x2, y2) - at(x1, y2) - at(x2, y1) + at(x1, y1)
        return total.clamp_min(0) * ((x2 > x1) & (y2 > y1))

    def coverage(self, boxes: torch.Tensor) -> torch.Tensor:
        """Fraction ``(B, K)`` of each image's salient area inside the boxes (0 when the
        region is empty)."""
        return self.box_area(boxes) / self.area.clamp_min(1)[:, None]

    def source_area(self) -> torch.Tensor:
        """``(B,)`` salient area in source pixels."""
        return self.area / (self.scales[:, 0] * self.scales[:, 1])


_last: tuple = (None, None, None)  # (weak reference to the maps, threshold, regions)


def image_extents(batch: ImageBatch) -> torch.Tensor:
    """``(B, 2)`` int64 ``(height, width)`` of each image on the canvas, on its device (a
    function of the image and the sampler's ``max_side`` only; on the host:
    :meth:`ImageBatch.host_extents`)."""
    device = batch.images.device
    return (batch.sizes.to(device).double() * batch.scales.to(device).double()).round().long().clamp_min(1)


def salient_regions(batch: ImageBatch, threshold: float = 0.5) -> SalientRegions:
    """The salient region of each image: saliency at least ``threshold`` x its maximum.

    Maps that are missing, all zero, or (before collation) NaN or negative give an
    empty region; samplers then fall back to uniform sampling and flag it
    (``fallback_used``). No warning here: it would read the device every batch
    (collation warns of the items' empty maps, on the host). Images are grouped by
    their host-side extents, so nothing here waits for the device. The last result is
    kept, so the views of one batch share the work.
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
    n, device = len(batch), batch.images.device
    canvas_h, canvas_w = batch.images.shape[-2:]
    extent = image_extents(batch)
    cell = ((extent.amax(1) + GRID - 1) // GRID).clamp_min(1)
    host = batch.host_extents()  # the same extents and cells on the host, for shapes and groups
    sides = [max(1, -(-max(h, w) // GRID)) for h, w in host]
    cells = [(-(-h // side), -(-w // side)) for (h, w), side in zip(host, sides)]  # each image's grid
    grid = (max(c[0] for c in cells), max(c[1] for c in cells)) if cells and batch.saliency is not None else (1, 1)
    if batch.saliency is not None and n and device.type == "cpu":
        table, row_counts, col_counts = _counts_on_host(batch.saliency, threshold, host, sides, grid)
    else:
        table, row_counts, col_counts = _counts_on_device(batch, threshold, extent, host, sides, grid)
    area = row_counts.sum(1)
    empty = area < 1
    scales = batch.scales.to(device).double()
    sizes = batch.sizes.to(device).double()
    mass = area.clamp_min(1)
    xs = torch.arange(canvas_w, device=device, dtype=torch.float64) + 0.5
    ys = torch.arange(canvas_h, device=device, dtype=torch.float64) + 0.5
    centroid = torch.stack([(col_counts * xs).sum(1) / mass / scales[:, 1], (row_counts * ys).sum(1) / mass / scales[:, 0]], 1)
    big = 1 << 40
    cols_on, rows_on = col_counts > 0, row_counts > 0
    col_index = torch.arange(canvas_w, device=device)
    row_index = torch.arange(canvas_h, device=device)
    x1 = torch.where(cols_on, col_index, big).amin(1).double() if canvas_w else torch.zeros(n, device=device)
    x2 = torch.where(cols_on, col_index + 1, -1).amax(1).double() if canvas_w else torch.zeros(n, device=device)
    y1 = torch.where(rows_on, row_index, big).amin(1).double() if canvas_h else torch.zeros(n, device=device)
    y2 = torch.where(rows_on, row_index + 1, -1).amax(1).double() if canvas_h else torch.zeros(n, device=device)
    box = torch.stack([x1 / scales[:, 1], y1 / scales[:, 0], x2 / scales[:, 1], y2 / scales[:, 0]], 1)
    whole = torch.stack([torch.zeros_like(sizes[:, 0]), torch.zeros_like(sizes[:, 0]), sizes[:, 1], sizes[:, 0]], 1)
    box = torch.where(empty[:, None], whole, torch.minimum(box, whole[:, [2, 3, 2, 3]]))
    centroid = torch.where(empty[:, None], whole[:, 2:] / 2, centroid)
    return SalientRegions(table=table, cell=cell, area=area, centroid=centroid, box=box, empty=empty, scales=scales)


def _counts_on_device(batch: ImageBatch, threshold: float, extent: torch.Tensor, host: list, sides: list,
                      grid: tuple[int, int]):
    """``(table, row_counts, col_counts)`` float64 of the region, in torch on the batch's device: the
    summed-area table ``(B, R + 1, C + 1)`` of each image's cell counts and its salient pixels per canvas row
    ``(B, H)`` and column ``(B, W)``. Only each image's own pixels (``extent``, ``(B, 2)``) count, whatever
    the map holds past them."""
    n, device = len(batch), batch.images.device
    canvas_h, canvas_w = batch.images.shape[-2:]
    counts = torch.zeros((n, *grid), dtype=torch.float64, device=device)
    row_counts = torch.zeros((n, canvas_h), dtype=torch.float64, device=device)
    col_counts = torch.zeros((n, canvas_w), dtype=torch.float64, device=device)
    if batch.saliency is not None and n:
        inside = ((torch.arange(canvas_h, device=device)[None, :, None] < extent[:, 0, None, None])
                  & (torch.arange(canvas_w, device=device)[None, None, :] < extent[:, 1, None, None]))
        saliency = torch.where(inside, batch.saliency[:, 0].float(), 0.0)
        peak = saliency.flatten(1).amax(1).view(n, 1, 1)
        level = torch.where(peak > 0, threshold * peak, torch.inf)  # an all-zero map has no region
        region = ((saliency >= level) & inside).float()
        row_counts, col_counts = region.sum(2).double(), region.sum(1).double()
        for side in sorted(set(sides)):
            members = [i for i, s in enumerate(sides) if s == side]
            h, w = max(host[i][0] for i in members), max(host[i][1] for i in members)
            rows = device_index(members, device)
            part = region[rows][:, None, :h, :w]
            pooled = F.avg_pool2d(part, side, ceil_mode=True, divisor_override=1) if side > 1 else part
            counts[rows, : pooled.shape[2], : pooled.shape[3]] = pooled[:, 0].double()
    return F.pad(counts.cumsum(1).cumsum(2), (1, 0, 1, 0)), row_counts, col_counts


def _counts_on_host(saliency: torch.Tensor, threshold: float, host: list, sides: list, grid: tuple[int, int]):
    """:func:`_counts_on_device` for CPU maps, image by image in its own extent: a vectorised
    comparison and one integral image (``cv2.integral``) per image give the row, column and cell
    counts (the same integers, tested), in about a quarter of the whole-canvas passes' time."""
    maps = saliency[:, 0].detach().float().numpy()
    n, canvas_h, canvas_w = maps.shape
    table = np.zeros((n, grid[0] + 1, grid[1] + 1), np.float64)
    row_counts, col_counts = np.zeros((n, canvas_h), np.float64), np.zeros((n, canvas_w), np.float64)
    for i, ((h, w), side) in enumerate(zip(host, sides)):
        own = maps[i, :h, :w]
        peak = max(own.max(), np.float32(0))  # the device's peak: the extent's, with the padding's zeros
        if not peak > 0:  # an all-zero map has no region
            continue
        region = own >= np.float32(threshold) * peak
        summed = cv2.integral(region.view(np.uint8))  # (h + 1, w + 1) int32
        row_counts[i, :h], col_counts[i, :w] = np.diff(summed[:, w]), np.diff(summed[h])
        ys = np.minimum(np.arange(grid[0] + 1) * side, h)
        xs = np.minimum(np.arange(grid[1] + 1) * side, w)
        table[i] = summed[ys[:, None], xs[None, :]]  # rows and columns past the image repeat its edge
    return torch.from_numpy(table), torch.from_numpy(row_counts), torch.from_numpy(col_counts)
