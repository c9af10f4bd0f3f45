"""The report's figures, drawn with matplotlib and returned as base64 PNG.

Every function takes a report section (the JSON-ready dict) and returns the PNG as
a base64 string, for an ``<img src="data:image/png;base64,...">`` tag.

Example:
    >>> png = centricity_figure(report["centricity"])     # doctest: +SKIP
"""

from __future__ import annotations

import base64
import io

import numpy as np

from .shortcuts import BLUR_THRESHOLD

_BLUE, _ORANGE, _GRAY = "#3b6ea8", "#d9822b", "#8a8f98"
_DPI = 90


def _figure(panels: int, height: float = 2.7):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, panels, figsize=(3.6 * panels, height), dpi=_DPI, squeeze=False)
    return fig, axes[0]


def _encode(fig, bottom: float = 0.2) -> str:
    import matplotlib.pyplot as plt

    # Fixed margins: tight_layout measures every tick label and costs seconds.
    fig.subplots_adjust(left=0.07, right=0.97, bottom=bottom, top=0.88, wspace=0.32)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI)
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _stairs(ax, histogram: dict, title: str, xlabel: str, log: bool = False, color: str = _BLUE) -> None:
    """A histogram; ``log`` draws it against log10 of the edges on a linear axis (fast) with 10^k ticks."""
    edges = np.asarray(histogram["edges"], dtype=float)
    counts = np.asarray(histogram["counts"])
    if log:
        edges = np.log10(np.maximum(edges, 1e-12))
    ax.stairs(counts, edges, fill=True, color=color, alpha=0.85)
    used = np.flatnonzero(counts)
    if len(used):
        ax.set_xlim(edges[max(used[0] - 1, 0)], edges[min(used[-1] + 2, len(edges) - 1)])
    if log:
        lo, hi = ax.get_xlim()
        ticks = np.arange(np.floor(lo), np.ceil(hi) + 1)
        ticks = ticks[(ticks >= lo - 1e-9) & (ticks <= hi + 1e-9)]
        ax.set_xticks(ticks, [_power_label(t) for t in ticks])
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel, fontsize=9)
    ax.set_ylabel("images", fontsize=9)
    ax.tick_params(labelsize=8)


def _power_label(exponent: float) -> str:
    value = 10.0 ** exponent
    if value >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:g}"


def inventory_figure(inventory: dict) -> str:
    fig, (a, b, c) = _figure(3)
    _stairs(a, inventory["width"]["histogram"], "Width", "pixels", log=True)
    _stairs(b, inventory["height"]["histogram"], "Height", "pixels", log=True)
    _stairs(c, inventory["aspect_ratio_histogram"], "Aspect ratio", "width / height", log=True, color=_ORANGE)
    return _encode(fig)


def centricity_figure(centricity: dict) -> str:
    fig, (a, b, c) = _figure(3, height=3.0)
    _stairs(a, centricity["salient_fraction"]["histogram"], "Salient-area fraction", "fraction of image")
    counts = centricity["components_histogram"]
    b.bar(range(len(counts)), counts, color=_ORANGE)
    b.set_xticks(range(len(counts)), [str(i) for i in range(len(counts) - 1)] + ["10+"], fontsize=8)
    b.set_title("Salient components per image", fontsize=10)
    b.set_xlabel("components (>= 1% of image)", fontsize=9)
    b.tick_params(labelsize=8)
    heat = np.asarray(centricity["centroid_heatmap"], dtype=float)
    shown = c.imshow(heat, extent=(0, 1, 1, 0), cmap="magma", interpolation="nearest")
    c.set_title("Saliency centroids (centre bias)", fontsize=10)
    c.set_xlabel("x / width", fontsize=9)
    c.set_ylabel("y / height", fontsize=9)
    c.tick_params(labelsize=8)
    fig.colorbar(shown, ax=c, fraction=0.046, pad=0.04).ax.tick_params(labelsize=7)
    return _encode(fig)


def pair_quality_figure(pair_quality: dict) -> str:
    fig, (a, b) = _figure(2, height=2.8)
    names = list(pair_quality)
    rates = [pair_quality[n]["object_sharing_rate"] or 0.0 for n in names]
    ious = [pair_quality[n]["mean_iou"] or 0.0 for n in names]
    x = np.arange(len(names))
    a.bar(x - 0.2, rates, 0.4, label="object-sharing rate", color=_BLUE)
    a.bar(x + 0.2, ious, 0.4, label="mean view IoU", color=_ORANGE)
    a.set_xticks(x, names, fontsize=9)
    a.set_ylim(0, 1)
    a.legend(fontsize=8, loc="upper right")
    a.set_title("Pairs per recipe", fontsize=10)
    a.tick_params(labelsize=8)
    for name, color in zip(names, (_BLUE, _ORANGE, _GRAY)):
        hist = pair_quality[name]["per_image_rate_histogram"]
        b.stairs(hist["counts"], hist["edges"], label=name, color=color, linewidth=1.8)
    b.set_title("Per-image object-sharing rate", fontsize=10)
    b.set_xlabel("fraction of an image's pairs that share the object", fontsize=9)
    b.set_ylabel("images", fontsize=9)
    b.legend(fontsize=8)
    b.tick_params(labelsize=8)
    return _encode(fig)


def labels_figure(labels: dict, top: int = 40) -> str:
    counts = sorted(labels["counts"].items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    fig, (a,) = _figure(1, height=3.0)
    fig.set_size_inches(10.8, 3.0)
    a.bar(range(len(counts)), [c for _, c in counts], color=_BLUE)
    a.set_xticks(range(len(counts)), [_short(k) for k, _ in counts], rotation=60, ha="right", fontsize=7)
    a.set_ylabel("images", fontsize=9)
    title = "Images per class" + (f" (largest {top} of {labels['classes']})" if labels["classes"] > top else "")
    a.set_title(title, fontsize=10)
    a.tick_params(axis="y", labelsize=8)
    return _encode(fig, bottom=0.32)


def shortcuts_figure(shortcuts: dict) -> str:
    hists = shortcuts["histograms"]
    fig, axes = _figure(4, height=2.6)
    fig.set_size_inches(10.8, 2.6)
    _stairs(axes[0], hists["brightness"], "Brightness", "mean luma")
    _stairs(axes[1], hists["contrast"], "Contrast", "luma std")
    _stairs(axes[2], hists["blur"], "Sharpness", "variance of Laplacian", log=True, color=_ORANGE)
    axes[2].axvline(np.log10(BLUR_THRESHOLD), color="k", linestyle="--", linewidth=1)
    _stairs(axes[3], hists["saturation"], "Saturation", "mean HSV saturation")
    return _encode(fig)


def class_shortcuts_figure(shortcuts: dict, top: int = 30) -> str:
    """Per-class means of the two statistics whose class means differ most."""
    per_class = shortcuts["per_class"]
    names = sorted(per_class, key=lambda k: -per_class[k]["images"])[:top]
    spread = shortcuts["class_spread"]
    stats = sorted((s for s in _CLASS_STATS if s in spread), key=lambda s: -spread[s])[:2] or list(_CLASS_STATS[:2])
    fig, axes = _figure(2, height=3.0)
    fig.set_size_inches(10.8, 3.0)
    for ax, stat in zip(axes, stats):
        means = [per_class[n][stat].get("mean", 0.0) for n in names]
        stds = [per_class[n][stat].get("std", 0.0) for n in names]
        ax.bar(range(len(names)), means, yerr=stds, color=_BLUE, ecolor=_GRAY, capsize=2)
        ax.set_xticks(range(len(names)), [_short(n) for n in names], rotation=60, ha="right", fontsize=7)
        ax.set_title(f"Mean {_CLASS_STATS[stat]} per class (spread {spread.get(stat, 0.0):.1f} std)", fontsize=10)
        ax.tick_params(axis="y", labelsize=8)
    return _encode(fig, bottom=0.32)


_CLASS_STATS = {"brightness": "brightness", "contrast": "contrast", "colourfulness": "colourfulness",
                "saturation": "saturation", "blur": "sharpness"}


def _short(text: str, width: int = 14) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
