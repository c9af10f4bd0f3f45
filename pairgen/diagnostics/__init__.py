"""Dataset-bias diagnostics for contrastive learning: ``pairgen diagnose``.

Before training, find out what a dataset will teach a contrastive model: whether it
is object-centric or scene-centric, how often random crops miss the object, how
many in-batch negatives are secretly positives, which images are duplicates, which
low-level statistics could act as shortcuts, and which files cannot be read.

Example:
    >>> from pairgen.diagnostics import diagnose
    >>> report = diagnose("photos/", out="report/", batch_size=256, workers=2)   # doctest: +SKIP
    >>> report["labels"]["false_negatives"]["p_at_least_one"]                     # doctest: +SKIP
    0.93
"""

from .analysis import ScanSettings, analyse_batch
from .labels import false_negative_rates
from .pipeline import diagnose, merge
from .records import ImageRecord
from .report import SCHEMA_VERSION, render_html, summary_text, write_report

__all__ = ["diagnose", "merge", "ImageRecord", "ScanSettings", "analyse_batch", "false_negative_rates",
           "SCHEMA_VERSION", "render_html", "summary_text", "write_report"]
