"""Plot helpers shared by the report's sections: matplotlib figures as base64 PNG.

matplotlib is imported on first use only (a report without HTML never loads it), or
ahead of time by :func:`import_in_background` while a scan waits on its workers.

Example:
    >>> fig, (ax,) = figure(1)                                     # doctest: +SKIP
    >>> png = encode(fig)                                          # doctest: +SKIP
"""

from __future__ import annotations

import base64
import io
import threading

import numpy as np

BLUE, ORANGE, GRAY = "#3b6ea8", "#d9822b", "#8a8f98"
DPI = 90


def import_in_background() -> threading.Thread:
    """Import matplotlib (seconds) in a daemon thread; :func:`figure` then finds it loaded.

    Start it only once the scan's worker processes are forked: a fork during an import
    would leave that module's lock held in the child.
    """
    thread = threading.Thread(target=_import, name="import-matplotlib", daemon=True)
    thread.start()
    return thread


def _import() -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot


def figure(panels: int, height: float = 2.7):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, panels, figsize=(3.6 * panels, height), dpi=DPI, squeeze=False)
    return fig, axes[0]


def encode(fig, bottom: float = 0.2) -> str:
    import matplotlib.pyplot as plt

    # Fixed margins: tight_layout measures every tick label and costs seconds.
    fig.subplots_adjust(left=0.07, right=0.97, bottom=bottom, top=0.88, wspace=0.32)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def stairs(ax, histogram: dict, title: str, xlabel: str, log: bool = False, color: str = BLUE) -> None:
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


def short(text: str, width: int = 14) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
