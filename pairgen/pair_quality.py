"""Do both views of a pair show the object? The measures of ``../shared/DESIGN.md``.

A crop *shows the object* when object pixels make at least 20% of the crop's area
or the crop holds at least 50% of the object; a pair *shares the object* when both
views show it. A recipe's *object-sharing rate* is the fraction of its pairs that
share the object, and its *diversity* the mean IoU of the two views' boxes (lower
is more diverse).
"""

from __future__ import annotations

import torch


def mask_tables(masks: torch.Tensor) -> torch.Tensor:
    """Summed-area tables ``(B, H + 1, W + 1)`` (float64) of binary masks ``(B, H, W)``."""
    table = torch.zeros((masks.shape[0], masks.shape[1] + 1, masks.shape[2] + 1), dtype=torch.float64)
    table[:, 1:, 1:] = (masks > 0).double().cumsum(1).cumsum(2)
    return table


def pixels_inside(tables: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """Mask pixels (centres) inside xyxy boxes ``(B, K, 4)`` in the masks' pixels -> ``(B, K)``."""
    height, width = tables.shape[1] - 1, tables.shape[2] - 1
    b = boxes.round().long()
    x1, x2 = b[..., 0].clamp(0, width), b[..., 2].clamp(0, width)
    y1, y2 = b[..., 1].clamp(0, height), b[..., 3].clamp(0, height)
    flat, stride = tables.flatten(1), width + 1

    def at(y, x):
        return flat.gather(1, y * stride + x)

    return (at(y2, x2) - at(y1, x2) - at(y2, x1) + at(y1, x1)) * ((x2 > x1) & (y2 > y1))


def shows_object(tables: torch.Tensor, boxes: torch.Tensor, density: float = 0.2, held: float = 0.5) -> torch.Tensor:
    """``(B, K)`` bool: object pixels are >= ``density`` of the crop or >= ``held`` of the object."""
    inside = pixels_inside(tables, boxes)
    area = ((boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])).double().clamp_min(1)
    total = tables[:, -1, -1:].clamp_min(1)
    return (inside / area >= density) | (inside / total >= held)


def box_iou(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """IoU of matching xyxy boxes ``(..., 4)``."""
    lo = torch.maximum(first[..., :2], second[..., :2])
    hi = torch.minimum(first[..., 2:], second[..., 2:])
    inter = (hi - lo).clamp_min(0).prod(-1)
    area = lambda b: (b[..., 2:] - b[..., :2]).clamp_min(0).prod(-1)  # noqa: E731
    return inter / (area(first) + area(second) - inter).clamp_min(1e-9)
