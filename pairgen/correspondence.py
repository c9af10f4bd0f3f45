"""Geometric correspondence between views, for dense losses.

Each view is an axis-aligned crop of the source image (optionally mirrored), so
view and source coordinates map by an affine function per sample. From two views'
params this module gives, for a ``g x g`` grid of feature cells in each view, the
source position of every cell centre, the pairwise distances normalised by the
larger cell diagonal, and the positive mask of PixPro (Xie et al., "Propagate
Yourself", CVPR 2021: cells closer than ``pos_ratio`` are positives), as DenseCL
and VICRegL-style losses also use.

Example:
    >>> from pairgen import PairSampler
    >>> pairs = PairSampler("simclr", size=64, seed=0)([torch.rand(3, 96, 96)] * 2)
    >>> match = correspondence(pairs.params1, pairs.params2, grid=7)
    >>> match.positive.shape
    torch.Size([2, 49, 49])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pairgen.params import ViewParams


def view_to_source(points: torch.Tensor, params: ViewParams) -> torch.Tensor:
    """Map ``(B, N, 2)`` view pixel coordinates ``(x, y)`` to source pixels.

    View coordinates run over ``[0, width] x [0, height]`` of the output; a flipped
    view mirrors ``x``.
    """
    height, width = params.size
    boxes = params.boxes.to(points.dtype)
    u = points[..., 0] / width
    u = torch.where(params.flip[:, None], 1 - u, u)
    v = points[..., 1] / height
    x = boxes[:, None, 0] + u * (boxes[:, None, 2] - boxes[:, None, 0])
    y = boxes[:, None, 1] + v * (boxes[:, None, 3] - boxes[:, None, 1])
    return torch.stack([x, y], -1)


def source_to_view(points: torch.Tensor, params: ViewParams) -> torch.Tensor:
    """Map ``(B, N, 2)`` source pixel coordinates to the view's pixel coordinates."""
    height, width = params.size
    boxes = params.boxes.to(points.dtype)
    u = (points[..., 0] - boxes[:, None, 0]) / (boxes[:, None, 2] - boxes[:, None, 0]).clamp_min(1e-6)
    v = (points[..., 1] - boxes[:, None, 1]) / (boxes[:, None, 3] - boxes[:, None, 1]).clamp_min(1e-6)
    u = torch.where(params.flip[:, None], 1 - u, u)
    return torch.stack([u * width, v * height], -1)


def boxes_to_view(boxes: torch.Tensor, params: ViewParams) -> torch.Tensor:
    """Map ``(B, M, 4)`` xyxy source boxes into each view's pixels, clipped to the view.

    Boxes that fall outside the view come back with zero width or height.
    """
    height, width = params.size
    corners = source_to_view(boxes.reshape(len(boxes), -1, 2), params).reshape(boxes.shape)
    x1 = torch.minimum(corners[..., 0], corners[..., 2]).clamp(0, width)
    x2 = torch.maximum(corners[..., 0], corners[..., 2]).clamp(0, width)
    y1, y2 = corners[..., 1].clamp(0, height), corners[..., 3].clamp(0, height)
    return torch.stack([x1, y1, x2, y2], -1)


def grid_centres(params: ViewParams, grid: int) -> torch.Tensor:
    """Source coordinates ``(B, grid * grid, 2)`` of the centres of a ``grid x grid``
    partition of each view, row-major as a flattened feature map."""
    height, width = params.size
    steps = (torch.arange(grid, device=params.boxes.device, dtype=torch.float32) + 0.5) / grid
    ys, xs = torch.meshgrid(steps * height, steps * width, indexing="ij")
    cells = torch.stack([xs.flatten(), ys.flatten()], -1).expand(len(params), -1, -1)
    return view_to_source(cells, params)


@dataclass(frozen=True)
class Correspondence:
    """Dense correspondence of two views.

    Attributes:
        points1, points2: ``(B, g*g, 2)`` source coordinates of each view's cell centres.
        distance: ``(B, g*g, g*g)`` distance between cell ``i`` of view 1 and cell ``j``
            of view 2 in source pixels, divided by the larger of the two views' cell
            diagonals.
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


def correspondence(first: ViewParams, second: ViewParams, grid: int = 7, pos_ratio: float = 0.7) -> Correspondence:
    """Cell-to-cell correspondence of two views of the same images.

    Args:
        first: params of the first view.
        second: params of the second view, of the same batch.
        grid: cells per side of each view's feature map (7 for a ResNet's C5 at 224 px).
        pos_ratio: PixPro's threshold on the normalised distance (0.7 in the paper).
    """
    if len(first) != len(second):
        raise ValueError(f"first and second must describe the same batch, got {len(first)} and {len(second)} samples")
    if grid < 1:
        raise ValueError(f"grid must be >= 1, got {grid}")
    points1, points2 = grid_centres(first, grid), grid_centres(second, grid)
    diagonal = torch.maximum(_cell_diagonal(first, grid), _cell_diagonal(second, grid))
    distance = torch.cdist(points1, points2) / diagonal[:, None, None].clamp_min(1e-6)
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


def _cell_diagonal(params: ViewParams, grid: int) -> torch.Tensor:
    sides = (params.boxes[:, 2:] - params.boxes[:, :2]) / grid
    return sides.norm(dim=1)
