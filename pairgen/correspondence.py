"""Geometric correspondence between views, for dense losses.

Each view is a crop of the source image (optionally mirrored), resized, then moved by
the view's geometric ops (e.g. :class:`pairgen.transforms.Viewpoint`'s homography).
From two views' params this module gives, for a ``g x g`` grid of feature cells in
each view, the source position of every cell centre, their pairwise distances and the
positive mask of PixPro (Xie et al., "Propagate Yourself", CVPR 2021), as DenseCL and
VICRegL-style losses also use.

PixPro's convention (``regression_loss`` and ``RandomResizedCropCoord`` of
zdaxie/PixPro): coordinates are normalised per axis, a crop of pixel columns ``j ..
j + w - 1`` spanning ``j / (W - 1) .. (j + w - 1) / (W - 1)`` of an image ``W`` wide
(rows likewise with the height), a flip swapping its ends; a cell's size is the crop's
normalised width and height over ``g``, and cells ``i, j`` are positives when the
distance between their centres, divided by the larger of the two views' cell
diagonals, is below ``pos_ratio``. A view warped by a geometric op takes its cell
centres back through the warp to crop fractions first.

Example:
    >>> from pairgen import PairSampler
    >>> pairs = PairSampler("simclr", size=64, seed=0)([torch.rand(3, 96, 96)] * 2)
    >>> match = pairs.correspondence(grid=7)
    >>> match.positive.shape
    torch.Size([2, 49, 49])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from pairgen.ops.view_op import ViewOp
from pairgen.params import ViewParams


def crop_fractions(points: torch.Tensor, params: ViewParams, ops: Sequence[ViewOp] = ()) -> torch.Tensor:
    """Map ``(B, N, 2)`` view pixel coordinates to fractions ``(u, v)`` of each crop box
    (0 at ``x1`` / ``y1``, 1 at ``x2`` / ``y2``): back through the view's geometric ``ops``
    (last first), then the flip."""
    for op, extra in reversed(list(zip(ops, params.extras))):
        points = op.points_to_input(points, extra)
    height, width = params.size
    u = points[..., 0] / width
    u = torch.where(params.flip[:, None], 1 - u, u)
    return torch.stack([u, points[..., 1] / height], -1)


def view_to_source(points: torch.Tensor, params: ViewParams, ops: Sequence[ViewOp] = ()) -> torch.Tensor:
    """Map ``(B, N, 2)`` view pixel coordinates ``(x, y)`` to source pixels.

    View coordinates run over ``[0, width] x [0, height]`` of the output; points go
    back through the view's geometric ``ops`` (last first), then the flip and the crop.
    """
    fractions = crop_fractions(points, params, ops)
    boxes = params.boxes.to(fractions.dtype)[:, None, :]
    return boxes[..., :2] + fractions * (boxes[..., 2:] - boxes[..., :2])


def source_to_view(points: torch.Tensor, params: ViewParams, ops: Sequence[ViewOp] = ()) -> torch.Tensor:
    """Map ``(B, N, 2)`` source pixel coordinates to the view's pixel coordinates
    (crop, flip, then the view's geometric ``ops``)."""
    height, width = params.size
    boxes = params.boxes.to(points.dtype)
    u = (points[..., 0] - boxes[:, None, 0]) / (boxes[:, None, 2] - boxes[:, None, 0]).clamp_min(1e-6)
    v = (points[..., 1] - boxes[:, None, 1]) / (boxes[:, None, 3] - boxes[:, None, 1]).clamp_min(1e-6)
    u = torch.where(params.flip[:, None], 1 - u, u)
    points = torch.stack([u * width, v * height], -1)
    for op, extra in zip(ops, params.extras):
        points = op.apply_to_points(points, extra)
    return points


def boxes_to_view(boxes: torch.Tensor, params: ViewParams) -> torch.Tensor:
    """Map ``(B, M, 4)`` xyxy source boxes into each view's pixels (crop and flip),
    clipped to the view; :func:`pairgen.transforms.move_boxes` moves them through ops.

    Boxes that fall outside the view come back with zero width or height.
    """
    height, width = params.size
    corners = source_to_view(boxes.reshape(len(boxes), -1, 2), params).reshape(boxes.shape)
    x1 = torch.minimum(corners[..., 0], corners[..., 2]).clamp(0, width)
    x2 = torch.maximum(corners[..., 0], corners[..., 2]).clamp(0, width)
    y1, y2 = corners[..., 1].clamp(0, height), corners[..., 3].clamp(0, height)
    return torch.stack([x1, y1, x2, y2], -1)


def _cells(params: ViewParams, grid: int) -> torch.Tensor:
    """View pixel coordinates ``(B, grid * grid, 2)`` of the cell centres, row-major."""
    height, width = params.size
    steps = (torch.arange(grid, device=params.boxes.device, dtype=torch.float32) + 0.5) / grid
    ys, xs = torch.meshgrid(steps * height, steps * width, indexing="ij")
    return torch.stack([xs.flatten(), ys.flatten()], -1).expand(len(params), -1, -1)


def grid_centres(params: ViewParams, grid: int, ops: Sequence[ViewOp] = ()) -> torch.Tensor:
    """Source coordinates ``(B, grid * grid, 2)`` of the centres of a ``grid x grid``
    partition of each view, row-major as a flattened feature map."""
    return view_to_source(_cells(params, grid), params, ops)


def pixpro_coordinates(
    params: ViewParams, grid: int, sizes: torch.Tensor, ops: Sequence[ViewOp] = ()
) -> tuple[torch.Tensor, torch.Tensor]:
    """PixPro's normalised coordinates ``(B, grid * grid, 2)`` of the cell centres and
    ``(B,)`` cell diagonals: a crop spans the pixel indices ``x1 .. x2 - 1``, divided
    by ``width - 1`` (``y`` by ``height - 1``), as ``RandomResizedCropCoord`` does."""
    fractions = crop_fractions(_cells(params, grid), params, ops)
    boxes = params.boxes.to(fractions.dtype)
    scale = (sizes.flip(1).to(boxes) - 1).clamp_min(1)  # (width - 1, height - 1)
    extent = (boxes[:, 2:] - boxes[:, :2] - 1) / scale
    coords = boxes[:, None, :2] / scale[:, None, :] + fractions * extent[:, None, :]
    return coords, (extent / grid).norm(dim=1)


@dataclass(frozen=True)
class Correspondence:
    """Dense correspondence of two views.

    Attributes:
        points1, points2: ``(B, g*g, 2)`` source pixel coordinates of each view's cell centres.
        distance: ``(B, g*g, g*g)`` distance between cell ``i`` of view 1 and cell ``j``
            of view 2 in PixPro's per-axis normalised coordinates
            (:func:`pixpro_coordinates`), divided by the larger of the two views' cell
            diagonals there.
        positive: ``(B, g*g, g*g)`` bool, ``distance < pos_ratio``.
        overlap: ``(B, 4)`` xyxy intersection of the two crops in source pixels (empty
            boxes have ``x2 <= x1`` or ``y2 <= y1``).
        overlap_valid: ``(B,)`` bool, the crops intersect.
    """

    points1: torch.Tensor
    points2: torch.Tensor
    distance: torch.Tensor
    positive: torch.Tensor
    overlap: torch.Tensor
    overlap_valid: torch.Tensor


def correspondence(
    first: ViewParams,
    second: ViewParams,
    sizes: torch.Tensor,
    grid: int = 7,
    pos_ratio: float = 0.7,
    first_ops: Sequence[ViewOp] = (),
    second_ops: Sequence[ViewOp] = (),
) -> Correspondence:
    """Cell-to-cell correspondence of two views of the same images, PixPro's positives.

    Args:
        first: params of the first view.
        second: params of the second view, of the same batch.
        sizes: ``(B, 2)`` source ``(height, width)`` of the images (``ImageBatch.sizes``).
        grid: cells per side of each view's feature map (7 for a ResNet's C5 at 224 px).
        pos_ratio: PixPro's threshold on the normalised distance (0.7 in the paper).
        first_ops: the first view's ops (``ViewSpec.ops``): geometric ones move the
            cell centres (the cell diagonals stay the crop's).
        second_ops: the second view's ops.

    Raises:
        ValueError: batch sizes disagree, ``grid < 1`` or ``sizes`` is not ``(B, 2)``.
    """
    if len(first) != len(second):
        raise ValueError(f"first and second must describe the same batch, got {len(first)} and {len(second)} samples")
    if grid < 1:
        raise ValueError(f"grid must be >= 1, got {grid}")
    if sizes.shape != (len(first), 2):
        raise ValueError(f"sizes must be ({len(first)}, 2) source (height, width), got shape {tuple(sizes.shape)}")
    points1, points2 = grid_centres(first, grid, first_ops), grid_centres(second, grid, second_ops)
    (coords1, diagonal1), (coords2, diagonal2) = (pixpro_coordinates(p, grid, sizes, ops) for p, ops in
                                                  ((first, first_ops), (second, second_ops)))
    distance = torch.cdist(coords1, coords2, compute_mode="donot_use_mm_for_euclid_dist")
    distance = distance / torch.maximum(diagonal1, diagonal2)[:, None, None].clamp_min(1e-12)
    lo = torch.maximum(first.boxes[:, :2], second.boxes[:, :2])
    hi = torch.minimum(first.boxes[:, 2:], second.boxes[:, 2:])
    return Correspondence(
        points1=points1,
        points2=points2,
        distance=distance,
        positive=distance < pos_ratio,
        overlap=torch.cat([lo, hi], 1),
        overlap_valid=(hi > lo).all(1),
    )
