"""The report's SVG plots: marks drawn where the numbers put them."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from pairgen.diagnostics.plots import PANEL_HEIGHT, Panel, figure


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # well-formed XML, or this raises


def points(element: ET.Element) -> np.ndarray:
    return np.array([[float(v) for v in p.split(",")] for p in element.get("points").split()])


def test_histogram_heights_are_proportional_to_the_counts():
    counts = [2, 0, 7, 3, 5]
    panel = Panel("h")
    panel.stairs(counts, np.linspace(0, 1, 6))
    root = parse(figure([panel], "histogram"))
    polygon = root.find(".//polygon")
    xy = points(polygon)
    base = xy[0, 1]
    tops = xy[1:-1:2, 1]  # the left corner of each bin's top
    heights = base - tops
    assert heights / heights.max() == pytest.approx(np.array(counts) / max(counts), abs=1e-3)
    lefts = xy[1:-1:2, 0]
    assert np.all(np.diff(lefts) > 0)
    # The y axis reaches a round number at or above the largest count: 7 -> 8 (ticks of 2).
    labels = [t.text for t in root.iter("text")]
    assert "8" in labels and "10" not in labels


def test_log_histogram_ticks_at_powers_of_ten_within_the_used_range():
    edges = np.geomspace(10, 10_000, 31)
    counts = np.zeros(30)
    counts[5:25] = 1
    panel = Panel("w", xlabel="pixels")
    panel.stairs(counts, edges, log=True)
    labels = [t.text for t in parse(figure([panel], "log")).iter("text")]
    assert "100" in labels and "1k" in labels
    assert "10" not in labels and "10k" not in labels  # outside the used bins (and one bin either side)


def test_bars_with_errors_and_rotated_categories():
    panel = Panel("bars", ylabel="")
    panel.bars([0, 1, 2], [1.0, 4.0, 2.0], errors=[0.5, 0.0, 1.0])
    panel.categories(["alpha", "beta", "gamma"], rotate=True)
    root = parse(figure([panel], "bars"))
    rects = [r for r in root.iter("rect") if r.get("class") == "bar"]
    heights = np.array([float(r.get("height")) for r in rects])
    assert heights / heights.max() == pytest.approx([0.25, 1.0, 0.5], abs=1e-3)
    assert len([p for p in root.iter("path")]) == 2  # the zero error draws nothing
    rotated = [t for t in root.iter("text") if "rotate(-60)" in (t.get("transform") or "")]
    assert [t.text for t in rotated] == ["alpha", "beta", "gamma"]
    assert int(root.get("height")) > PANEL_HEIGHT  # room for the rotated names


def test_heatmap_colour_rises_with_the_value_and_panels_sit_side_by_side():
    grid = np.array([[0.0, 1.0], [2.0, 4.0]])
    heat = Panel("heat", ylabel="y")
    heat.heatmap(grid)
    other = Panel("other", width=200)
    other.stairs([1], [0, 1])
    root = parse(figure([heat, other], "two"))
    groups = root.findall("g")
    assert [g.get("transform") for g in groups] == ["translate(0,0)", "translate(330,0)"]
    assert root.get("viewBox") == f"0 0 530 {PANEL_HEIGHT}"
    cells = [r.get("fill") for r in groups[0].find("g").iter("rect")][:4]  # the cells, row-major
    brightness = [sum(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in cells]
    assert brightness == sorted(brightness) and brightness[0] < brightness[-1]


def test_empty_data_draws_axes_without_nan():
    panel = Panel("empty")
    panel.stairs(np.zeros(4), np.linspace(0, 1, 5))
    panel.bars([], [])
    svg = figure([panel], "empty <data> & more")
    assert "nan" not in svg.lower() and "inf" not in svg.lower()
    assert parse(svg).get("aria-label") == "empty <data> & more"


def test_a_threshold_outside_the_axis_is_not_drawn():
    panel = Panel("sharpness")
    panel.stairs([1, 2], [1000.0, 3000.0, 10000.0], log=True)
    inside = Panel("inside")
    inside.stairs([1, 2], [10.0, 100.0, 1000.0], log=True)
    panel.vline(2.0)  # log10(100): left of the 1k-10k axis
    inside.vline(2.0)
    assert len(parse(figure([panel], "off")).findall(".//line[@stroke-dasharray]")) == 0
    assert len(parse(figure([inside], "on")).findall(".//line[@stroke-dasharray]")) == 1


def test_a_log_axis_within_one_decade_labels_its_ends():
    edges = np.geomspace(1, 100_000, 51)  # ten bins per decade
    counts = np.zeros(50)
    counts[34] = 7  # every width in one bin, 2.5k-3.2k
    panel = Panel("width")
    panel.stairs(counts, edges, log=True)
    labels = [t.text for t in parse(figure([panel], "one bin")).iter("text")]
    assert "2k" in labels and "3.98k" in labels
