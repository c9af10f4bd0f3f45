"""Move boxes through geometric view ops, by their corners."""

from __future__ import annotations

import torch

from pairgen.ops.view_op import ViewOp


def move_boxes(op: ViewOp, boxes: torch.Tensor, params: dict[str, torch.Tensor], size: tuple[int, int]) -> torch.Tensor:
    """``(B, M, 4)`` xyxy view boxes after ``op``: the box around the four moved corners,
    clipped to the ``(height, width)`` view (boxes that leave it get zero width or height).

    Example:
        >>> from pairgen.transforms import Viewpoint
        >>> op = Viewpoint(rotation=(90.0, 90.0), scale=(1.0, 1.0), shear=(0.0, 0.0), translate=0.0, perspective=0.0)
        >>> params = {"applied": torch.tensor([True]), "matrix": torch.tensor([[[0.0, 1, 0], [-1, 0, 8], [0, 0, 1]]]).double()}
        >>> move_boxes(op, torch.tensor([[[4.0, 2.0, 8.0, 4.0]]]), params, (8, 8))
        tensor([[[2., 0., 4., 4.]]])
    """
    if boxes.dim() != 3 or boxes.shape[-1] != 4:
        raise ValueError(f"boxes must be (B, M, 4) xyxy, got shape {tuple(boxes.shape)}")
    height, width = size
    x1, y1, x2, y2 = boxes.unbind(-1)
    corners = torch.stack([torch.stack(c, -1) for c in ((x1, y1), (x2, y1), (x2, y2), (x1, y2))], 2)
    moved = op.apply_to_points(corners.reshape(len(boxes), -1, 2), params).reshape(*boxes.shape[:2], 4, 2)
    low, high = moved.amin(2), moved.amax(2)
    bounds = torch.tensor([width, height], dtype=boxes.dtype, device=boxes.device)
    low = torch.minimum(low.clamp_min(0), bounds)
    high = torch.minimum(high.clamp_min(0), bounds)
    return torch.cat([low, high], -1)
