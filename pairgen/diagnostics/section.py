"""The section protocol: what one report section does, from one image to the page.

A section lives in one file and is listed once in :data:`pairgen.diagnostics.sections.SECTIONS`.
It

1. **measures one image** (:meth:`Section.measure`): fills its fields of the records of a
   batch of decoded images; this runs wherever the scan runs (a local worker process, a
   Ray task), so it must depend on nothing but the batch and the scan settings;
2. **merges shards** (:meth:`Section.stats`): an accumulator fed record by record. Shards,
   Ray blocks and cached records are merged by feeding it the merged record stream in
   listing order, so a merged report is the report of one full scan;
3. **summarises** (``accumulator.result(settings)``): the JSON-ready section of report.json;
   :meth:`Section.export` may write files of its own next to it (``duplicates.csv``);
4. **renders HTML** (:meth:`Section.html`) from that summary;
5. **recommends** (:meth:`Section.recommend`), with thresholds from
   :mod:`pairgen.diagnostics.thresholds`.

Example:
    >>> from pairgen.diagnostics.sections import SECTIONS
    >>> [s.name for s in SECTIONS]
    ['inventory', 'centricity', 'pair_quality', 'duplicates', 'labels', 'shortcuts']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Measured:
    """One decoded image of a batch, as sections measure it.

    Attributes:
        record: the image's record, to fill.
        decoded: the decoded image (``decode.Decoded``): ``rgb`` the analysis image and, for the
            images of the pair-quality sample, ``canvas`` the sampler canvas's.
        rgb: uint8 analysis image (longest side ``ScanSettings.side``).
        gray: its luma.
        saliency: a sidecar saliency map in [0, 1] (any resolution), or None.
    """

    record: object
    decoded: object
    rgb: np.ndarray
    gray: np.ndarray
    saliency: np.ndarray | None


class Section:
    """Base class of the report's sections (see the module docstring)."""

    #: Key of the section in report.json.
    name = ""

    def measure(self, batch: list[Measured], settings) -> None:
        """Fill the section's record fields for a batch (default: nothing to measure)."""

    def stats(self, settings: dict):
        """A fresh accumulator with ``add(record)`` and ``result(settings) -> dict | None``
        (``settings``: the report's settings, e.g. ``batch_size``)."""
        raise NotImplementedError

    def export(self, accumulator, folder) -> list:
        """Write the section's own files into the report folder; their paths (default: none)."""
        return []

    def html(self, result, report: dict, preview) -> str:
        """The section's ``<section>`` of report.html (``preview(key)``: RGB thumbnail source)."""
        return ""

    def recommend(self, result, report: dict) -> list[dict]:
        """``[{"topic", "text", "because"}]`` that follow from the section's figures."""
        return []


def add(out: list, topic: str, text: str, because: str) -> None:
    """Append one recommendation to ``out``."""
    out.append({"topic": topic, "text": text, "because": because})
