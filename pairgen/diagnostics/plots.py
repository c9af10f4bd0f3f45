"""The report's plots as inline SVG: histograms, bars, step lines and a heat map.

A plot is a row of :class:`Panel` objects rendered by :func:`figure` into one ``<svg>``
element of the page: text stays text (searchable, sharp at any zoom) and no plotting
library is imported; matplotlib's import and PNG rendering cost about 2 s per report
on 2 cores, these strings a few milliseconds.

Example:
    >>> panel = Panel("Width", xlabel="pixels")
    >>> panel.stairs([3, 5], [0.0, 1.0, 2.0])
    >>> figure([panel], "widths").startswith('<svg class="plot"')
    True
"""

from __future__ import annotations

import html
import math

import numpy as np

BLUE, ORANGE, GRAY = "#3b6ea8", "#d9822b", "#8a8f98"
#: Size of one panel and the margins of its plot area, in pixels.
PANEL_WIDTH, PANEL_HEIGHT = 330, 240
_LEFT, _RIGHT, _TOP, _BOTTOM = 46, 10, 24, 38
#: Extra bottom margin for rotated category labels.
_ROTATED_BOTTOM = 70
#: Anchors of the heat map's colour ramp (dark to light, after matplotlib's magma).
_RAMP = ((0, 0, 4), (81, 18, 124), (183, 55, 121), (252, 137, 97), (252, 253, 191))


class Panel:
    """One plot: marks in data coordinates, axes fitted to them when rendered.

    Args:
        title: the panel's title.
        xlabel: the x axis label.
        ylabel: the y axis label (empty: none).
        width: the panel's width in pixels.
    """

    def __init__(self, title: str, xlabel: str = "", ylabel: str = "images", width: int = PANEL_WIDTH):
        self.title, self.xlabel, self.ylabel, self.width = title, xlabel, ylabel, width
        self.marks: list[tuple] = []
        self.legend: list[tuple[str, str]] = []
        self.xlim: tuple[float, float] | None = None
        self.ylim: tuple[float, float] | None = None
        self.xticks: list[tuple[float, str]] | None = None
        self.rotate_labels = False
        self.heat: np.ndarray | None = None

    def stairs(self, counts, edges, color: str = BLUE, fill: bool = True, label: str | None = None,
               log: bool = False) -> None:
        """A histogram of ``counts`` between ``edges``; ``log``: on log10 of the edges, ticks at 10^k.

        The x range is fitted to the non-empty bins and one bin either side.
        """
        counts = np.asarray(counts, dtype=float)
        edges = np.asarray(edges, dtype=float)
        if log:
            edges = np.log10(np.maximum(edges, 1e-12))
        self.marks.append(("stairs", counts, edges, color, fill))
        used = np.flatnonzero(counts)
        if len(used):
            self.xlim = _union(self.xlim, (edges[max(used[0] - 1, 0)], edges[min(used[-1] + 2, len(edges) - 1)]))
        elif len(edges):
            self.xlim = _union(self.xlim, (edges[0], edges[-1]))
        if log and self.xlim is not None:
            low, high = self.xlim
            powers = range(math.ceil(low - 1e-9), math.floor(high + 1e-9) + 1)
            # Within one decade (every image in one bin) the range's ends are labelled instead.
            self.xticks = [(float(k), _power_label(k)) for k in powers] or [(v, _power_label(v)) for v in (low, high)]
        if label:
            self.legend.append((label, color))

    def bars(self, positions, heights, width: float = 0.8, color: str = BLUE, errors=None,
             label: str | None = None) -> None:
        """Bars centred at ``positions``; ``errors``: symmetric error bars (grey)."""
        positions = np.asarray(positions, dtype=float)
        heights = np.asarray(heights, dtype=float)
        errors = None if errors is None else np.asarray(errors, dtype=float)
        self.marks.append(("bars", positions, heights, width, color, errors))
        if len(positions):
            self.xlim = _union(self.xlim, (positions.min() - 0.5, positions.max() + 0.5))
        if label:
            self.legend.append((label, color))

    def vline(self, x: float, color: str = "#000") -> None:
        """A dashed vertical line at ``x`` (a threshold)."""
        self.marks.append(("vline", float(x), color))

    def categories(self, labels: list[str], rotate: bool = False) -> None:
        """Name the bars at 0, 1, ...; ``rotate``: labels at 60 degrees (long names)."""
        self.xticks = [(float(i), text) for i, text in enumerate(labels)]
        self.rotate_labels = rotate

    def heatmap(self, grid) -> None:
        """A grid of values over the unit square (row 0 at the top), with a colour bar."""
        self.heat = np.asarray(grid, dtype=float)
        self.xlim, self.ylim = (0.0, 1.0), (0.0, 1.0)
        self.ylabel = self.ylabel if self.ylabel != "images" else ""

    @property
    def bottom(self) -> int:
        return _ROTATED_BOTTOM if self.rotate_labels else _BOTTOM

    def render(self, height: int) -> str:
        """The panel's SVG elements, in a box ``self.width`` x ``height``."""
        right = _RIGHT + (40 if self.heat is not None else 0)
        x0, x1 = _LEFT, self.width - right
        y0, y1 = _TOP + (16 if self.legend else 0), height - self.bottom
        xlo, xhi = self.xlim if self.xlim is not None and self.xlim[1] > self.xlim[0] else (0.0, 1.0)
        ylo, yhi = self.ylim if self.ylim is not None else (0.0, _nice_top(self._ymax()))

        def sx(v):
            return x0 + (v - xlo) / (xhi - xlo) * (x1 - x0)

        def sy(v):
            return y1 - (v - ylo) / (yhi - ylo) * (y1 - y0)

        out = [f'<rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" fill="#fff" stroke="#999"/>']
        if self.heat is not None:
            out += _heat_cells(self.heat, x0, y0, x1 - x0, y1 - y0)
            out += _colour_bar(self.heat, x1 + 8, y0, y1 - y0)
        else:
            yticks = _nice_ticks(ylo, yhi)
            for v in yticks:
                out.append(f'<line x1="{x0}" x2="{x1}" y1="{sy(v):.1f}" y2="{sy(v):.1f}" stroke="#eee"/>')
                out.append(_text(x0 - 4, sy(v) + 3, _number(v), anchor="end", size=9))
        for mark in self.marks:
            if mark[0] == "vline" and not xlo <= mark[1] <= xhi:
                continue  # off the axis: it would land on the neighbouring panel
            out += _MARKS[mark[0]](mark, sx, sy, y1)
        ticks = self.xticks if self.xticks is not None else [(v, _number(v)) for v in _nice_ticks(xlo, xhi)]
        for v, text in ticks:
            if xlo - 1e-9 <= v <= xhi + 1e-9:
                out.append(f'<line x1="{sx(v):.1f}" x2="{sx(v):.1f}" y1="{y1}" y2="{y1 + 3}" stroke="#666"/>')
                if self.rotate_labels:
                    out.append(_text(sx(v), y1 + 8, text, anchor="end", size=8, rotate=True))
                else:
                    out.append(_text(sx(v), y1 + 13, text, size=9))
        if self.heat is not None:
            for v in (0.0, 0.5, 1.0):
                out.append(_text(x0 - 4, sy(1.0 - v) + 3, _number(v), anchor="end", size=9))
        out.append(_text((x0 + x1) / 2, 15, self.title, size=11, weight="bold"))
        if self.xlabel:
            out.append(_text((x0 + x1) / 2, height - 6, self.xlabel, size=10))
        if self.ylabel:
            out.append(f'<text transform="translate(11,{(y0 + y1) / 2:.1f}) rotate(-90)" text-anchor="middle" '
                       f'font-size="10">{html.escape(self.ylabel)}</text>')
        x = x0
        for text, color in self.legend:  # one line between the title and the plot
            out.append(f'<rect x="{x}" y="{_TOP + 1}" width="10" height="8" fill="{color}"/>')
            out.append(_text(x + 14, _TOP + 9, text, anchor="start", size=9))
            x += 24 + 5.5 * len(text)
        return "".join(out)

    def _ymax(self) -> float:
        top = 0.0
        for mark in self.marks:
            if mark[0] == "stairs" and len(mark[1]):
                top = max(top, float(mark[1].max()))
            elif mark[0] == "bars" and len(mark[2]):
                errors = mark[5] if mark[5] is not None else 0.0
                top = max(top, float(np.max(mark[2] + errors)))
        return top


def figure(panels: list[Panel], alt: str) -> str:
    """The panels side by side as one ``<svg>`` element labelled ``alt``."""
    height = PANEL_HEIGHT + max(p.bottom for p in panels) - _BOTTOM
    parts, x = [], 0
    for panel in panels:
        parts.append(f'<g transform="translate({x},0)">{panel.render(height)}</g>')
        x += panel.width
    return (f'<svg class="plot" role="img" aria-label="{html.escape(alt)}" viewBox="0 0 {x} {height}" '
            f'width="{x}" height="{height}" font-family="sans-serif">'
            f'<title>{html.escape(alt)}</title>{"".join(parts)}</svg>')


def short(text: str, width: int = 14) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _stairs(mark, sx, sy, base) -> list[str]:
    _, counts, edges, color, fill = mark
    if not len(counts):
        return []
    points = [f"{sx(edges[0]):.1f},{base}"]
    for count, left, right in zip(counts, edges[:-1], edges[1:]):
        points += [f"{sx(left):.1f},{sy(count):.1f}", f"{sx(right):.1f},{sy(count):.1f}"]
    points.append(f"{sx(edges[-1]):.1f},{base}")
    if fill:
        return [f'<polygon class="hist" points="{" ".join(points)}" fill="{color}" fill-opacity="0.85"/>']
    return [f'<polyline class="hist" points="{" ".join(points)}" fill="none" stroke="{color}" stroke-width="1.8"/>']


def _bars(mark, sx, sy, base) -> list[str]:
    _, positions, heights, width, color, errors = mark
    out = []
    for i, (p, h) in enumerate(zip(positions, heights)):
        left, right = sx(p - width / 2), sx(p + width / 2)
        out.append(f'<rect class="bar" x="{left:.1f}" y="{sy(h):.1f}" width="{right - left:.1f}" '
                   f'height="{base - sy(h):.1f}" fill="{color}"/>')
        if errors is not None and errors[i] > 0:
            c, lo, hi = sx(p), sy(h - errors[i]), sy(h + errors[i])
            out.append(f'<path d="M{c:.1f},{lo:.1f}V{hi:.1f}M{c - 2:.1f},{lo:.1f}h4M{c - 2:.1f},{hi:.1f}h4" '
                       f'stroke="{GRAY}"/>')
    return out


def _vline(mark, sx, sy, base) -> list[str]:
    _, x, color = mark
    return [f'<line x1="{sx(x):.1f}" x2="{sx(x):.1f}" y1="{_TOP}" y2="{base}" stroke="{color}" '
            f'stroke-dasharray="4 3"/>']


_MARKS = {"stairs": _stairs, "bars": _bars, "vline": _vline}


def _heat_cells(grid: np.ndarray, x: float, y: float, width: float, height: float) -> list[str]:
    rows, cols = grid.shape
    top = grid.max() if grid.size and grid.max() > 0 else 1.0
    w, h = width / cols, height / rows
    cells = [f'<rect x="{x + j * w:.1f}" y="{y + i * h:.1f}" width="{w + 0.3:.1f}" height="{h + 0.3:.1f}" '
             f'fill="{_colour(grid[i, j] / top)}"/>' for i in range(rows) for j in range(cols)]
    return ['<g shape-rendering="crispEdges">', *cells, "</g>"]


def _colour_bar(grid: np.ndarray, x: float, y: float, height: float, steps: int = 24) -> list[str]:
    top = float(grid.max()) if grid.size else 0.0
    step = height / steps
    out = [f'<rect x="{x}" y="{y + (steps - 1 - i) * step:.1f}" width="8" height="{step + 0.3:.1f}" '
           f'fill="{_colour(i / (steps - 1))}"/>' for i in range(steps)]
    out.append(_text(x + 11, y + 8, _number(top), anchor="start", size=8))
    out.append(_text(x + 11, y + height, "0", anchor="start", size=8))
    return out


def _colour(value: float) -> str:
    """A colour of the ramp for ``value`` in [0, 1]."""
    value = min(max(float(value), 0.0), 1.0) * (len(_RAMP) - 1)
    i = min(int(value), len(_RAMP) - 2)
    t = value - i
    r, g, b = (round(a + (c - a) * t) for a, c in zip(_RAMP[i], _RAMP[i + 1]))
    return f"#{r:02x}{g:02x}{b:02x}"


def _text(x: float, y: float, text: str, anchor: str = "middle", size: int = 10, weight: str = "normal",
          rotate: bool = False) -> str:
    place = f'transform="translate({x:.1f},{y:.1f}) rotate(-60)"' if rotate else f'x="{x:.1f}" y="{y:.1f}"'
    bold = ' font-weight="bold"' if weight != "normal" else ""
    return f'<text {place} text-anchor="{anchor}" font-size="{size}"{bold}>{html.escape(str(text))}</text>'


def _union(a, b):
    return b if a is None else (min(a[0], b[0]), max(a[1], b[1]))


def _nice_step(span: float, most: int = 6) -> float:
    raw = span / most
    power = 10.0 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)


def _nice_top(value: float) -> float:
    """The axis top for data reaching ``value``: the next tick at or above it (1 for no data)."""
    if value <= 0:
        return 1.0
    step = _nice_step(value)
    return math.ceil(value / step - 1e-9) * step


def _nice_ticks(low: float, high: float) -> list[float]:
    step = _nice_step(high - low)
    first = math.ceil(low / step - 1e-9) * step
    return [round(first + k * step, 10) for k in range(int((high - first) / step + 1e-9) + 1)]


def _number(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e5 else f"{value:.2g}"


def _power_label(exponent: float) -> str:
    value = 10.0 ** exponent
    return f"{value / 1000:.3g}k" if value >= 1000 else f"{value:.3g}"
