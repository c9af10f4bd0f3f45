"""Object-centric or scene-centric: per-image features and verdicts, and the dataset's.

Purushwalkam & Gupta ("Demystifying Contrastive Self-Supervised Learning:
Invariances, Augmentations and Dataset Biases", NeurIPS 2020) show that aggressive
random crops help on object-centric data (one main object, ImageNet) and hurt on
scene-centric data (several objects, no main one, MS-COCO): two crops of a scene
often show different objects, and the model learns to match them anyway.

From the object mask of the image's saliency (``object_proxy``):

* ``salient_fraction``: mask area / image area;
* ``centroid``: saliency-weighted centroid of the mask, as fractions of width and
  height (the centre-bias heatmap aggregates these);
* ``components``: 8-connected mask components of at least 1% of the image;
* ``dominant_share``: the largest component's share of the components' area.

An image is **object-centric** when it has a dominant component: at least one
component, and the largest holds at least ``DOMINANT_SHARE`` of the salient area.
The dataset verdict is the majority of the per-image verdicts.

Example:
    >>> mask = np.zeros((64, 64), bool); mask[20:40, 20:40] = True
    >>> features = centricity_features(mask.astype(np.float32), mask)
    >>> features.components, features.object_centric
    (1, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .streaming import Histogram, Moments, linear_edges

#: Smallest component counted, as a fraction of the image area.
MIN_COMPONENT = 0.01
#: Share of the salient area the largest component needs for an object-centric verdict.
DOMINANT_SHARE = 0.5
#: Side of the centroid heatmap grid.
HEATMAP_SIDE = 16


@dataclass(frozen=True)
class CentricityFeatures:
    salient_fraction: float
    centroid: tuple[float, float] | None
    components: int
    dominant_share: float
    object_centric: bool


def centricity_features(saliency: np.ndarray, mask: np.ndarray) -> CentricityFeatures:
    """Features and verdict of one image from its [0, 1] saliency map and object mask."""
    fraction = float(mask.mean())
    if not mask.any():
        return CentricityFeatures(0.0, None, 0, 0.0, False)
    weights = saliency * mask
    total = float(weights.sum())
    height, width = mask.shape
    if total > 0:
        ys, xs = np.indices(mask.shape, dtype=np.float64)
        centroid = (float((weights * (xs + 0.5)).sum() / total / width),
                    float((weights * (ys + 0.5)).sum() / total / height))
    else:
        centroid = None
    _, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    areas = areas[areas >= MIN_COMPONENT * mask.size]
    dominant = float(areas.max() / areas.sum()) if len(areas) else 0.0
    return CentricityFeatures(fraction, centroid, int(len(areas)), dominant,
                              bool(len(areas) >= 1 and dominant >= DOMINANT_SHARE))


class CentricityStats:
    """Dataset aggregate of the per-image features."""

    def __init__(self):
        self.fraction = Moments()
        self.fraction_hist = Histogram(linear_edges(0.0, 1.0, 20))
        self.components = [0] * 11  # 0..9 and "10 or more"
        self.heatmap = np.zeros((HEATMAP_SIDE, HEATMAP_SIDE), np.int64)
        self.object_centric = 0
        self.images = 0
        self.per_class: dict[str, list[int]] = {}

    def add(self, record) -> None:
        if record.status != "ok" or record.object_centric is None:
            return
        self.images += 1
        self.object_centric += record.object_centric
        self.fraction.add(record.salient_fraction)
        self.fraction_hist.add(record.salient_fraction)
        self.components[min(record.components, 10)] += 1
        if record.centroid_x is not None:
            col = min(int(record.centroid_x * HEATMAP_SIDE), HEATMAP_SIDE - 1)
            row = min(int(record.centroid_y * HEATMAP_SIDE), HEATMAP_SIDE - 1)
            self.heatmap[row, col] += 1
        if record.label is not None:
            counts = self.per_class.setdefault(record.label, [0, 0])
            counts[0] += record.object_centric
            counts[1] += 1

    def result(self) -> dict:
        located = int(self.heatmap.sum())
        third = HEATMAP_SIDE // 3
        central = int(self.heatmap[third:HEATMAP_SIDE - third, third:HEATMAP_SIDE - third].sum())
        central_area = ((HEATMAP_SIDE - 2 * third) / HEATMAP_SIDE) ** 2
        share = self.object_centric / self.images if self.images else None
        return {
            "images": self.images,
            "object_centric_fraction": share,
            "verdict": None if share is None else ("object-centric" if share >= 0.5 else "scene-centric"),
            "salient_fraction": self.fraction.to_dict() | {"histogram": self.fraction_hist.to_dict()},
            "components_histogram": self.components,
            "centroid_heatmap": self.heatmap.tolist(),
            "centre_bias": {
                "central_fraction": central / located if located else None,
                "central_area": central_area,
            },
            "per_class_object_centric_fraction": {k: v[0] / v[1] for k, v in sorted(self.per_class.items())},
        }
