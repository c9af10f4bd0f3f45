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

from .examples import Examples
from .page import escape, gallery, pct, table
from .plots import BLUE, ORANGE, Panel, figure, short
from .section import Measured, Section, add
from .streaming import Histogram, Moments, linear_edges, log_edges
from .thresholds import (
    GRAYSCALE_SPREAD,
    MANY_BLURRY,
    MIXED_GRAYSCALE,
    SHORTCUT_SPREAD,
    SMALL_IMAGES,
)

#: Mean channel spread (max - min, 0-255) below which an RGB image counts as grayscale.
GRAY_SPREAD = 3.0
#: Variance of the Laplacian below which an analysis image counts as blurry.
BLUR_THRESHOLD = 100.0
#: How the report names the blurry rule (its table row and its advice).
BLURRY_RULE = f"variance of Laplacian < {BLUR_THRESHOLD:g}"
#: Per-class statistics are kept for at most this many classes.
MAX_CLASSES = 1000
#: Classes with fewer images do not count towards the spread of class means.
MIN_CLASS_IMAGES = 20

_NUMERIC = ("brightness", "contrast", "blur", "saturation", "colourfulness")


def shortcut_features(rgb: np.ndarray, gray: np.ndarray, gray_source: bool) -> dict:
    """The statistics of one uint8 RGB analysis image and its luma (OpenCV reductions, one pass each)."""
    red, green, blue = cv2.split(rgb)
    spread = cv2.mean(cv2.subtract(cv2.max(cv2.max(red, green), blue), cv2.min(cv2.min(red, green), blue)))[0]
    rg_mean, rg_std = (float(v[0][0]) for v in cv2.meanStdDev(cv2.subtract(red, green, dtype=cv2.CV_32F)))
    yellow = cv2.addWeighted(red, 0.5, green, 0.5, 0.0, dtype=cv2.CV_32F)  # exact: halves of integers
    yb_mean, yb_std = (float(v[0][0]) for v in cv2.meanStdDev(cv2.subtract(yellow, blue, dtype=cv2.CV_32F)))
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
        self.blurriest = Examples(lowest=True)
        self.grayscale = Examples(lowest=True)
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
        if record.blur < BLUR_THRESHOLD:
            self.blurriest.add(record.blur, record, blur=record.blur)
        if record.grayscale:
            self.grayscale.add(record.ordinal, record)
        for name, histogram in self.histograms.items():
            histogram.add(getattr(record, name))
        if record.label is not None:
            group = self.per_class.get(record.label)
            if group is None and len(self.per_class) < MAX_CLASSES:
                group = self.per_class[record.label] = _Group()
            if group is not None:
                group.add(record)

    def result(self, settings: dict | None = None) -> dict:
        per_class = {k: g.result() for k, g in sorted(self.per_class.items())}
        return {
            "examples": {"blurriest": self.blurriest.result(), "grayscale": self.grayscale.result()},
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


class ShortcutsSection(Section):
    """Low-level statistics overall and per class, with the blurriest and grayscale images."""

    name = "shortcuts"

    def measure(self, batch: list[Measured], settings) -> None:
        for one in batch:
            for name, value in shortcut_features(one.rgb, one.gray, one.decoded.gray_source).items():
                setattr(one.record, name, value)

    def stats(self, settings: dict) -> ShortcutStats:
        return ShortcutStats()

    def html(self, result: dict, report: dict, preview) -> str:
        return _html(result, preview)

    def recommend(self, result: dict, report: dict) -> list[dict]:
        out: list[dict] = []
        _advice(result, report["inventory"], out)
        return out


SECTION = ShortcutsSection()


def _html(sc: dict, preview) -> str:
    overall = sc["overall"]
    if not overall["images"]:
        return ""
    stats = [["Grayscale", pct(overall["grayscale_fraction"], 1)], [f"Blurry ({BLURRY_RULE})",
             pct(overall["blurry_fraction"], 1)]]
    for name, label in (("brightness", "Brightness (mean luma)"), ("contrast", "Contrast (luma std)"),
                        ("saturation", "Saturation"), ("colourfulness", "Colourfulness"),
                        ("blur", "Sharpness (variance of Laplacian)")):
        m = overall[name]
        stats.append([label, f"{m['mean']:.3g} &plusmn; {m['std']:.3g} (mean &plusmn; std)"])
    rgb = overall["mean_rgb"]
    stats.append(["Mean R, G, B", ", ".join(f"{v:.3f}" for v in rgb)])
    parts = ["<section><h2>Shortcuts</h2>", table(["statistic", "overall"], stats, "kv"),
             _figure(sc)]
    examples = sc["examples"]
    if examples["blurriest"]:
        parts.append("<h3>Blurriest images</h3>" + gallery(preview, examples["blurriest"],
                                                           lambda x: f"sharpness {x['blur']:.0f}"))
    if examples["grayscale"]:
        parts.append("<h3>Grayscale images</h3>" + gallery(preview, examples["grayscale"], lambda x: ""))
    if sc["class_spread"]:
        spread = ", ".join(f"{escape(k)} {v:.2f}" for k, v in sc["class_spread"].items())
        parts.append(f"<p>Spread of class means, in overall standard deviations (grayscale: difference of "
                     f"fractions): {spread}.</p>")
        parts.append(class_shortcuts_figure(sc))
    parts.append("</section>")
    return "".join(parts)


def _figure(shortcuts: dict) -> str:
    hists = shortcuts["histograms"]
    panels = []
    for stat, title, xlabel in (("brightness", "Brightness", "mean luma"), ("contrast", "Contrast", "luma std"),
                                ("blur", "Sharpness", "variance of Laplacian"),
                                ("saturation", "Saturation", "mean HSV saturation")):
        panel = Panel(title, xlabel=xlabel, width=270)
        blur = stat == "blur"
        panel.stairs(hists[stat]["counts"], hists[stat]["edges"], ORANGE if blur else BLUE, log=blur)
        if blur:
            panel.vline(np.log10(BLUR_THRESHOLD))
        panels.append(panel)
    return figure(panels, "shortcut histograms")


def class_shortcuts_figure(shortcuts: dict, top: int = 30) -> str:
    """Per-class means of the two statistics whose class means differ most."""
    per_class = shortcuts["per_class"]
    names = sorted(per_class, key=lambda k: -per_class[k]["images"])[:top]
    spread = shortcuts["class_spread"]
    stats = sorted((s for s in _CLASS_STATS if s in spread), key=lambda s: -spread[s])[:2] or list(_CLASS_STATS[:2])
    panels = []
    for stat in stats:
        panel = Panel(f"Mean {_CLASS_STATS[stat]} per class (spread {spread.get(stat, 0.0):.1f} std)", ylabel="",
                      width=540)
        panel.bars(range(len(names)), [per_class[n][stat].get("mean", 0.0) for n in names],
                   errors=[per_class[n][stat].get("std", 0.0) for n in names])
        panel.categories([short(n) for n in names], rotate=True)
        panels.append(panel)
    return figure(panels, "per-class statistics")


_CLASS_STATS = {"brightness": "brightness", "contrast": "contrast", "colourfulness": "colourfulness",
                "saturation": "saturation", "blur": "sharpness"}


def _advice(shortcuts: dict, inventory: dict, out: list) -> None:
    overall = shortcuts["overall"]
    if not overall["images"]:
        return
    gray = overall["grayscale_fraction"]
    spread = shortcuts["class_spread"]
    if MIXED_GRAYSCALE[0] < gray < MIXED_GRAYSCALE[1]:
        add(out, "augmentation", "Keep random grayscale (p = 0.2) so that colour versus gray is not a feature.",
             f"{gray:.0%} of images are grayscale")
    if spread.get("grayscale_fraction", 0) > GRAYSCALE_SPREAD:
        add(out, "shortcuts", "Grayscale differs between classes: a model can use it as a class cue.",
             f"per-class grayscale fractions differ by {spread['grayscale_fraction']:.0%}")
    differing = [name for name in ("brightness", "colourfulness", "saturation", "contrast", "blur")
                 if spread.get(name, 0) > SHORTCUT_SPREAD]
    if differing:
        add(out, "shortcuts", f"Classes differ in {', '.join(differing)}: use strong colour jitter (SimCLR "
             "strength 1.0) and check that linear probes do not rely on these statistics.",
             "class means span " + ", ".join(f"{spread[n]:.1f} ({n})" for n in differing)
             + " overall standard deviations")
    if overall["blurry_fraction"] > MANY_BLURRY:
        add(out, "augmentation", "Many images are already blurry: lower the Gaussian-blur probability.",
             f"{overall['blurry_fraction']:.0%} blurry ({BLURRY_RULE})")
    side = min(inventory["width"].get("mean", 0), inventory["height"].get("mean", 0))
    if 0 < side < SMALL_IMAGES:
        add(out, "augmentation", f"Images are small (mean side about {side:.0f} px): crop to their size "
             "(e.g. 32) rather than 224, and drop blur as CIFAR SimCLR setups do.", "mean image width and height")
