"""Low-level image statistics a model can use as shortcuts, overall and per class.

When classes differ in colour, brightness or sharpness, a contrastive model can
separate them without learning what is in the images (Chen et al., SimCLR, ICML
2020, section 3: without colour distortion, crops are matched by their colour
histograms). Per image, on the analysis-size image (longest side 256 px):

* ``grayscale``: stored without colour, or every pixel's channel spread below 3/255;
* ``brightness``: mean luma in [0, 1]; ``contrast``: RMS contrast, luma std in [0, 1];
* ``blur``: variance of the Laplacian (Pech-Pacheco et al., ICPR 2000), low is blurry;
* ``saturation``: mean HSV saturation in [0, 1];
* ``colourfulness``: Hasler & Suesstrunk (2003), on the 0-255 scale;
* ``mean_rgb``: channel means in [0, 1].

Example:
    >>> gray = np.full((8, 8, 3), 128, np.uint8)
    >>> shortcut_features(gray, gray[..., 0], gray_source=False)["grayscale"]
    True
"""

from __future__ import annotations

import cv2
import numpy as np

from .streaming import Histogram, Moments, linear_edges, log_edges

#: Mean channel spread (max - min, 0-255) below which an RGB image counts as grayscale.
GRAY_SPREAD = 3.0
#: Variance of the Laplacian below which an analysis image counts as blurry.
BLUR_THRESHOLD = 100.0
#: Per-class statistics are kept for at most this many classes.
MAX_CLASSES = 1000

_NUMERIC = ("brightness", "contrast", "blur", "saturation", "colourfulness")


def shortcut_features(rgb: np.ndarray, gray: np.ndarray, gray_source: bool) -> dict:
    """The statistics of one uint8 RGB analysis image and its luma."""
    rgbf = rgb.astype(np.float32)
    spread = float((rgbf.max(axis=2) - rgbf.min(axis=2)).mean())
    rg = rgbf[..., 0] - rgbf[..., 1]
    yb = 0.5 * (rgbf[..., 0] + rgbf[..., 1]) - rgbf[..., 2]
    colourfulness = float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))
    saturation = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)[..., 1]
    return {
        "grayscale": bool(gray_source or spread < GRAY_SPREAD),
        "brightness": float(gray.mean()) / 255.0,
        "contrast": float(gray.std()) / 255.0,
        "blur": float(cv2.Laplacian(gray, cv2.CV_32F).var()),
        "saturation": float(saturation.mean()) / 255.0,
        "colourfulness": colourfulness,
        "mean_rgb": [float(v) / 255.0 for v in rgbf.reshape(-1, 3).mean(axis=0)],
    }


class _Group:
    def __init__(self):
        self.images = 0
        self.grayscale = 0
        self.blurry = 0
        self.moments = {name: Moments() for name in _NUMERIC}
        self.rgb = [Moments() for _ in range(3)]

    def add(self, record) -> None:
        self.images += 1
        self.grayscale += record.grayscale
        self.blurry += record.blur < BLUR_THRESHOLD
        for name in _NUMERIC:
            self.moments[name].add(getattr(record, name))
        for channel, value in zip(self.rgb, record.mean_rgb):
            channel.add(value)

    def result(self) -> dict:
        out = {"images": self.images,
               "grayscale_fraction": self.grayscale / self.images if self.images else None,
               "blurry_fraction": self.blurry / self.images if self.images else None}
        out.update({name: m.to_dict() for name, m in self.moments.items()})
        out["mean_rgb"] = [m.mean if m.count else None for m in self.rgb]
        return out


class ShortcutStats:
    """Overall and per-class aggregates, with histograms of the overall values."""

    def __init__(self):
        self.overall = _Group()
        self.per_class: dict[str, _Group] = {}
        self.histograms = {
            "brightness": Histogram(linear_edges(0.0, 1.0, 20)),
            "contrast": Histogram(linear_edges(0.0, 0.5, 20)),
            "blur": Histogram([0.0] + log_edges(1.0, 1e5, 20)),
            "saturation": Histogram(linear_edges(0.0, 1.0, 20)),
        }

    def add(self, record) -> None:
        if record.status != "ok" or record.brightness is None:
            return
        self.overall.add(record)
        for name, histogram in self.histograms.items():
            histogram.add(getattr(record, name))
        if record.label is not None:
            group = self.per_class.get(record.label)
            if group is None and len(self.per_class) < MAX_CLASSES:
                group = self.per_class[record.label] = _Group()
            if group is not None:
                group.add(record)

    def result(self) -> dict:
        per_class = {k: g.result() for k, g in sorted(self.per_class.items())}
        return {
            "overall": self.overall.result(),
            "histograms": {k: h.to_dict() for k, h in self.histograms.items()},
            "per_class": per_class,
            "class_spread": _class_spread(per_class, self.overall.result()),
        }


def _class_spread(per_class: dict, overall: dict) -> dict:
    """How far apart the class means are, in units of the overall standard deviation.

    A spread near 0 means no class stands out on that statistic; above about 1,
    some class could be told apart by it alone.
    """
    if len(per_class) < 2:
        return {}
    spread = {}
    for name in _NUMERIC:
        means = [g[name]["mean"] for g in per_class.values() if g[name].get("count")]
        std = overall[name].get("std") or 0.0
        spread[name] = (max(means) - min(means)) / std if std > 1e-12 and means else 0.0
    fractions = [g["grayscale_fraction"] for g in per_class.values()]
    spread["grayscale_fraction"] = max(fractions) - min(fractions)
    return spread
