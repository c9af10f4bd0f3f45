"""The items' masks, boxes and keypoints carried into every view by that view's params.

A view is a crop of its source image, resized, optionally mirrored and moved by the
recipe's geometric ops (``ViewOp.geometric``); the same params move the annotations:
masks by nearest neighbour (label values kept), boxes by their corners (clipped to the
view) and keypoints by :func:`pairgen.correspondence.source_to_view` and the ops'
``apply_to_points``. Everything is batched and free of host syncs.

Also here: whether each view *shows the object* (DESIGN.md, "Measuring pairs on real
photos"): object pixels cover at least 20% of the crop, or the crop holds at least 50%
of the object. The object is the item's mask (nonzero), else its saliency map
thresholded by Otsu's method, as the diagnostics' object proxy does, measured on a grid of at
most 64 cells a side (:data:`GRID`).

Example:
    >>> from pairgen import PairSampler
    >>> mask = torch.zeros(40, 40, dtype=torch.uint8); mask[10:30, 10:30] = 7
    >>> pairs = PairSampler("simclr", size=16, seed=0)([{"image": torch.rand(3, 40, 40), "mask": mask}])
    >>> pairs.masks[0].shape, sorted(set(pairs.masks[0].unique().tolist()) - {0})
    (torch.Size([1, 1, 16, 16]), [7])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from pairgen.batch import ImageBatch
from pairgen.correspondence import boxes_to_view, source_to_view
from pairgen.params import ViewParams
from pairgen.transforms.boxes import move_boxes
from pairgen.view import ViewSpec

#: Object pixels / crop area at or above which a crop shows the object.
MIN_OBJECT_IN_CROP = 0.2
#: Crop's share of the object at or above which a crop shows the object.
MIN_CROP_OF_OBJECT = 0.5


def nearest_crop(maps: torch.Tensor, boxes: torch.Tensor, size: tuple[int, int], flip: torch.Tensor) -> torch.Tensor:
    """Crop ``(B, 4)`` xyxy ``boxes`` (canvas pixels) out of ``(B, C, H, W)`` ``maps`` and resize
    them to ``(height, width)`` by nearest neighbour, mirroring the ``flip`` rows.

    Output pixel ``(i, j)`` reads the map pixel under its centre (torchvision's
    ``NEAREST_EXACT``); pixels outside the map read 0.
    """
    b, c, height_in, width_in = maps.shape
    height, width = size
    boxes = boxes.to(torch.float32)
    steps_x = (torch.arange(width, device=maps.device, dtype=torch.float32) + 0.5) / width
    steps_y = (torch.arange(height, device=maps.device, dtype=torch.float32) + 0.5) / height
    steps_x = torch.where(flip[:, None], 1 - steps_x, steps_x)
    x = (boxes[:, 0:1] + steps_x * (boxes[:, 2:3] - boxes[:, 0:1])).floor().long()
    y = (boxes[:, 1:2] + steps_y * (boxes[:, 3:4] - boxes[:, 1:2])).floor().long()
    inside = ((y >= 0) & (y < height_in))[:, :, None] & ((x >= 0) & (x < width_in))[:, None, :]
    rows = maps.gather(2, y.clamp(0, height_in - 1)[:, None, :, None].expand(b, c, height, width_in))
    out = rows.gather(3, x.clamp(0, width_in - 1)[:, None, None, :].expand(b, c, height, width))
    return out * inside[:, None].to(out.dtype)


def view_masks(spec: ViewSpec, batch: ImageBatch, params: ViewParams) -> torch.Tensor:
    """``(B, 1, h, w)`` uint8 masks of the view: the batch's masks cropped, resized by nearest
    neighbour, flipped and moved by the geometric ops, label values kept."""
    out = nearest_crop(batch.masks, batch.source_to_canvas(params.boxes), params.size, params.flip)
    for op, extra in zip(spec.ops, params.extras):
        if op.geometric:
            out = op.apply_to_maps(out, extra)
    return out


def view_boxes(spec: ViewSpec, batch: ImageBatch, params: ViewParams) -> torch.Tensor:
    """``(B, M, 4)`` xyxy boxes in the view's pixels, clipped to it (boxes outside come back
    with zero width or height)."""
    out = boxes_to_view(batch.boxes.to(torch.float32), params)
    for op, extra in zip(spec.ops, params.extras):
        if op.geometric:
            out = move_boxes(op, out, extra, params.size)
    return out


def view_keypoints(spec: ViewSpec, batch: ImageBatch, params: ViewParams) -> torch.Tensor:
    """``(B, K, 2)`` keypoints ``(x, y)`` in the view's pixels (not clipped: points outside the
    view lie outside ``[0, w] x [0, h]``)."""
    out = source_to_view(batch.keypoints.to(torch.float32), params)
    for op, extra in zip(spec.ops, params.extras):
        if op.geometric:
            out = op.apply_to_points(out, extra)
    return out


#: Object maps are measured on cells of ``k x k`` canvas pixels, ``k`` chosen so that the longer
#: side has at most this many cells (the diagnostics' grid): a few ms per batch.
GRID = 64


def object_map(batch: ImageBatch) -> tuple[torch.Tensor, int] | None:
    """Whether each cell of a grid over the canvas is object, ``(B, ceil(H / k), ceil(W / k))``
    float 0 or 1 read at the cells' centre pixels, and the cell side ``k`` in canvas pixels: from
    the masks' nonzero pixels, else from Otsu's threshold of the saliency maps (over each image's
    own cells); ``None`` without either."""
    if batch.masks is None and batch.saliency is None:
        return None
    height, width = batch.images.shape[-2:]
    k = max(1, -(-max(height, width) // GRID))
    centres = lambda x: x[:, 0, k // 2 :: k, k // 2 :: k]  # noqa: E731  (each cell's centre pixel)
    if batch.masks is not None:
        return (centres(batch.masks) > 0).float(), k
    saliency = centres(batch.saliency).float()
    device = saliency.device
    extent = (batch.sizes.to(device) * batch.scales.to(device) / k).ceil().long()
    rows = torch.arange(saliency.shape[1], device=device)
    cols = torch.arange(saliency.shape[2], device=device)
    valid = (rows[None, :, None] < extent[:, 0, None, None]) & (cols[None, None, :] < extent[:, 1, None, None])
    peak = torch.where(valid, saliency, 0).flatten(1).amax(1).clamp_min(1e-12)
    levels = (saliency / peak[:, None, None] * 255).round().clamp(0, 255).long()
    counts = torch.zeros(len(levels), 256, device=device).scatter_add_(1, levels.flatten(1), valid.flatten(1).float())
    threshold = otsu_threshold(counts)
    return (valid & (levels > threshold[:, None, None])).float(), k


def otsu_threshold(counts: torch.Tensor) -> torch.Tensor:
    """Otsu's threshold (Otsu, IEEE SMC 1979) of ``(B, L)`` histograms: the level ``t`` that
    maximises the between-class variance of ``<= t`` and ``> t`` (``L - 1`` for a flat histogram,
    so nothing lies above it)."""
    levels = torch.arange(counts.shape[1], device=counts.device, dtype=counts.dtype)
    below = counts.cumsum(1)
    total = below[:, -1:]
    mass = (counts * levels).cumsum(1)
    between = (mass[:, -1:] * below - mass * total).square() / (below * (total - below))
    between = torch.where((below > 0) & (below < total), between, -1.0)
    best = between.argmax(1)
    return torch.where(between.amax(1) > 0, best, counts.shape[1] - 1)


def shows_object(objects: tuple[torch.Tensor, int], batch: ImageBatch, params: ViewParams) -> torch.Tensor:
    """``(B,)`` bool: view ``params``' crop shows the object of :func:`object_map` (object pixels
    >= 20% of the crop's area, or the crop holds >= 50% of the object; an empty object is never
    shown). Object pixels inside a box come from the grid's summed-area table, interpolated
    bilinearly (exact where the object fills or misses whole cells)."""
    cells, k = objects
    b, rows, cols = cells.shape
    table = torch.nn.functional.pad(cells.double().cumsum(1).cumsum(2), (1, 0, 1, 0)).flatten(1)
    boxes = batch.source_to_canvas(params.boxes.float()).double()
    x1, x2 = (boxes[:, 0] / k).clamp(0, cols), (boxes[:, 2] / k).clamp(0, cols)
    y1, y2 = (boxes[:, 1] / k).clamp(0, rows), (boxes[:, 3] / k).clamp(0, rows)

    def at(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        y0, x0 = y.floor().long().clamp(max=rows - 1), x.floor().long().clamp(max=cols - 1)
        fy, fx = y - y0, x - x0

        def read(dy: int, dx: int) -> torch.Tensor:
            return table.gather(1, ((y0 + dy) * (cols + 1) + x0 + dx)[:, None])[:, 0]

        return ((1 - fy) * ((1 - fx) * read(0, 0) + fx * read(0, 1))
                + fy * ((1 - fx) * read(1, 0) + fx * read(1, 1)))

    inside = (at(y2, x2) - at(y1, x2) - at(y2, x1) + at(y1, x1)) * k * k
    total = table[:, -1] * k * k
    area = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])).clamp_min(1e-12)
    return (total > 0) & ((inside >= MIN_OBJECT_IN_CROP * area - 1e-6) | (inside >= MIN_CROP_OF_OBJECT * total - 1e-6))


def annotate(
    views: Sequence[ViewSpec],
    batch: ImageBatch,
    params: Sequence[ViewParams],
    view_rows: Callable[[int, int], slice | None],
) -> dict:
    """The :class:`~pairgen.batch.PairBatch` fields that carry ``batch``'s annotations into each
    view (``view_rows(batch_size, k)`` picks view ``k``'s source images, as in ``PairSampler``)."""
    from torchvision import tv_tensors

    sources = []
    for k in range(len(views)):
        rows = view_rows(len(batch), k)
        sources.append(batch if rows is None else batch.rows(rows))
    fields: dict = {}
    if batch.masks is not None:
        fields["masks"] = [tv_tensors.Mask(view_masks(s, src, p)) for s, src, p in zip(views, sources, params)]
    if batch.boxes is not None:
        fields["padded_boxes"] = [view_boxes(s, src, p) for s, src, p in zip(views, sources, params)]
        fields["box_valid"] = [src.box_valid for src in sources]
    if batch.keypoints is not None:
        fields["padded_keypoints"] = [view_keypoints(s, src, p) for s, src, p in zip(views, sources, params)]
        fields["keypoint_valid"] = [src.keypoint_valid for src in sources]
    objects = object_map(batch)
    if objects is not None:
        shown = []
        for k, (src, p) in enumerate(zip(sources, params)):
            rows = view_rows(len(batch), k)
            grid = objects if rows is None else (objects[0][rows], objects[1])
            shown.append(shows_object(grid, src, p))
        fields["object_shown"] = shown
    return fields
