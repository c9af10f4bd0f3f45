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
#: Classes with fewer images do not count towards the spread of class means.
MIN_CLASS_IMAGES = 20

_NUMERIC = ("brightness", "contrast", "blur", "saturation", "colourfulness")


def shortcut_features(rgb: np.ndarray, gray: np.ndarray, gray_source: bool) -> dict:
    """The statistics of one uint8 RGB analysis image and its luma (OpenCV reductions, one pass each)."""
    red, green, blue = cv2.split(rgb)
    spread = cv2.mean(cv2.subtract(cv2.max(cv2.max(red, green), blue), cv2.min(cv2.min(red, green), blue)))[0]
    red, green, blue = (c.astype(np.float32) for c in (red, green, blue))
    rg_mean, rg_std = (float(v[0][0]) for v in cv2.meanStdDev(red - green))
    yb_mean, yb_std = (float(v[0][0]) for v in cv2.meanStdDev(0.5 * (red + green) - blue))
    luma_mean, luma_std = (float(v[0][0]) for v in cv2.meanStdDev(gray))
    laplacian_std = float(cv2.meanStdDev(cv2.Laplacian(gray, cv2.CV_32F))[1][0][0])
    saturation = cv2.mean(cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV))[1]
    return {
        "grayscale": bool(gray_source or spread < GRAY_SPREAD),
        "brightness": luma_mean / 255.0,
        "contrast": luma_std / 255.0,
        "blur": laplacian_std ** 2,
        "saturation": saturation / 255.0,
        "colourfulness": float(np.hypot(rg_std, yb_std) + 0.3 * np.hypot(rg_mean, yb_mean)),
        "mean_rgb": [v / 255.0 for v in cv2.mean(rgb)[:3]],
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
            "blur": Histogram(log_edges(0.1, 1e5, 24)),  # below 0.1 counts in the first bin
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
    some class could be told apart by it alone. Only classes of at least
    ``MIN_CLASS_IMAGES`` images count (a class of two images says little).
    """
    per_class = {k: g for k, g in per_class.items() if g["images"] >= MIN_CLASS_IMAGES}
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
