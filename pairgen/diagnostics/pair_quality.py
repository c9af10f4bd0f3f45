"""Pair quality: how often two views of a recipe show the same object, and how alike they are.

Following DESIGN.md ("Measuring pairs on real photos"): a crop box *shows the
object* when object pixels cover at least 20% of the crop or the crop holds at least
50% of the object; a pair *shares the object* when both views show it. The
*object-sharing rate* is the fraction of pairs that share the object; *diversity* is
the mean IoU of the two views' boxes (lower is more diverse). Without annotations
the object is the saliency mask (``object_proxy``).

For each image, ``pairs`` Monte-Carlo pairs are drawn with a per-image seed (the
same in every shard and re-run). Object coverage is read from a summed-area table
of the mask, interpolated bilinearly, which is exact for a mask constant on cells.

A *box sampler* draws the pairs of many images at once:
``sampler(sizes, saliency, seeds)`` takes ``sizes`` ``(n, 2)`` (width, height), the
images' ``saliency`` maps ``(n, SIDE, SIDE)`` in [0, 1] and ``(n,)`` int64 ``seeds`` (one
per pair, derived from the image's path, so a pair is the same in every shard and
re-run) and returns ``(n, 2, 4)`` float boxes ``(x0, y0, x1, y1)`` in source pixels
for the two views. ``recipes.EngineBoxes`` wraps pairgen's ``PairSampler``.

Example:
    >>> mask = np.zeros((64, 64), bool); mask[16:48, 16:48] = True
    >>> boxes = np.array([[[0, 0, 320, 240], [160, 120, 480, 360]]], float)  # one pair, 640x480 image
    >>> pair_statistics(mask, 640, 480, boxes)
    (1.0, 0.14285714285714285)
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .streaming import Histogram, Moments, linear_edges

#: Object pixels / crop area at or above which a crop shows the object.
MIN_OBJECT_IN_CROP = 0.2
#: Crop's share of the object at or above which a crop shows the object.
MIN_CROP_OF_OBJECT = 0.5

BoxSampler = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of matching rows of two ``(N, 4)`` xyxy box arrays."""
    iw = np.clip(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    ih = np.clip(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None)
    inter = iw * ih
    union = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def shows_object(mask: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Whether each box (in mask-grid units, xyxy float) shows the object of ``mask``."""
    table = np.pad(mask.astype(np.float64).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    total = table[-1, -1]
    if total <= 0:
        return np.zeros(len(boxes), bool)
    inside = (_table_at(table, boxes[:, 2], boxes[:, 3]) - _table_at(table, boxes[:, 0], boxes[:, 3])
              - _table_at(table, boxes[:, 2], boxes[:, 1]) + _table_at(table, boxes[:, 0], boxes[:, 1]))
    area = np.maximum((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]), 1e-12)
    return (inside >= MIN_OBJECT_IN_CROP * area - 1e-9) | (inside >= MIN_CROP_OF_OBJECT * total - 1e-9)


def pair_statistics(mask: np.ndarray, width: int, height: int, boxes: np.ndarray) -> tuple[float | None, float]:
    """(object-sharing rate or None when the mask is empty, mean view IoU) of one image.

    Args:
        mask: ``(h, w)`` bool object mask on the image's (squeezed) grid.
        width, height: the source image's size, the boxes' frame.
        boxes: ``(P, 2, 4)`` xyxy boxes of ``P`` pairs.
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    iou = float(box_iou(boxes[:, 0], boxes[:, 1]).mean())
    if not mask.any():
        return None, iou
    grid_h, grid_w = mask.shape
    scaled = boxes * np.array([grid_w / width, grid_h / height] * 2)
    shown = shows_object(mask, scaled.reshape(-1, 4)).reshape(-1, 2)
    return float(shown.all(axis=1).mean()), iou


class PairQualityStats:
    """Dataset aggregate per recipe: object-sharing rate and IoU over all pairs."""

    def __init__(self):
        self._sharing: dict[str, Moments] = {}
        self._sharing_hist: dict[str, Histogram] = {}
        self._iou: dict[str, Moments] = {}
        self._no_object: dict[str, int] = {}

    def add(self, record) -> None:
        if record.status != "ok":
            return
        for name, (rate, iou) in record.pairs.items():
            if name not in self._iou:
                self._sharing[name], self._iou[name], self._no_object[name] = Moments(), Moments(), 0
                self._sharing_hist[name] = Histogram(linear_edges(0.0, 1.0, 10) + [1.0 + 1e-9])
            self._iou[name].add(iou)
            if rate is None:
                self._no_object[name] += 1
            else:
                self._sharing[name].add(rate)
                self._sharing_hist[name].add(rate)

    def result(self, pairs_per_image: int) -> dict:
        out = {}
        for name in self._iou:
            sharing = self._sharing[name]
            n_pairs = sharing.count * pairs_per_image
            out[name] = {
                "object_sharing_rate": sharing.mean if sharing.count else None,
                # Across images (pairs of one image are not independent of each other).
                "standard_error": sharing.std / math.sqrt(sharing.count) if sharing.count else None,
                "mean_iou": self._iou[name].mean if self._iou[name].count else None,
                "images": sharing.count,
                "images_without_object": self._no_object[name],
                "pairs": n_pairs,
                "per_image_rate_histogram": self._sharing_hist[name].to_dict(),
            }
        return out


def _table_at(table: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Summed-area table at fractional grid coordinates, bilinear."""
    h, w = table.shape[0] - 1, table.shape[1] - 1
    x = np.clip(x, 0, w)
    y = np.clip(y, 0, h)
    x0 = np.minimum(np.floor(x).astype(int), w - 1)
    y0 = np.minimum(np.floor(y).astype(int), h - 1)
    fx, fy = x - x0, y - y0
    return ((1 - fx) * (1 - fy) * table[y0, x0] + fx * (1 - fy) * table[y0, x0 + 1]
            + (1 - fx) * fy * table[y0 + 1, x0] + fx * fy * table[y0 + 1, x0 + 1])
