"""Inventory: what the dataset holds, and every file that could not be read.

Counts of readable, bad and skipped items; formats, colour modes and bit depths;
sizes and aspect ratios; conversions and oddities (notes) by kind; and the full
list of bad files with their reasons.

Example:
    >>> from pairgen.diagnostics.records import ImageRecord
    >>> stats = InventoryStats()
    >>> stats.add(ImageRecord(key="x.jpg", ordinal=0, status="bad", reason="empty file (0 bytes)"))
    >>> stats.result()["bad_files"]
    [{'path': 'x.jpg', 'reason': 'empty file (0 bytes)'}]
"""

from __future__ import annotations

from collections import Counter

from .page import HTML_ROWS, counts, escape, table
from .plots import BLUE, ORANGE, Panel, figure
from .section import Section, add
from .streaming import Histogram, Moments, log_edges

#: At most this many bad files are listed (all are counted).
MAX_LISTED_BAD = 10_000
#: Examples listed per kind of note or skip reason.
MAX_EXAMPLES = 20

_NOTE_KINDS = (("extension", "wrong extension"), ("tiny", "tiny image"), ("extreme aspect", "extreme aspect ratio"),
               ("CMYK", "CMYK converted"), ("alpha", "alpha dropped"), ("palette", "palette converted"),
               ("1-bit", "1-bit converted"))


def note_kind(note: str) -> str:
    """The kind of a note, for counting (``"extension .png but ..."`` -> ``"wrong extension"``)."""
    for prefix, kind in _NOTE_KINDS:
        if note.startswith(prefix):
            return kind
    if "-bit, scaled" in note:
        return "high bit depth scaled"
    return note


class InventoryStats:
    def __init__(self):
        self.status = Counter()
        self.formats = Counter()
        self.modes = Counter()
        self.bit_depths = Counter()
        self.labels_seen = 0
        self.bad: list[dict] = []
        self.skipped = Counter()
        self.skipped_examples: dict[str, list[str]] = {}
        self.notes = Counter()
        self.note_examples: dict[str, list[str]] = {}
        self.width, self.height, self.file_size = Moments(), Moments(), Moments()
        self.width_hist = Histogram([1.0] + log_edges(2.0, 65536.0, 15))
        self.height_hist = Histogram([1.0] + log_edges(2.0, 65536.0, 15))
        self.aspect_hist = Histogram(log_edges(1 / 16, 16.0, 16))

    def add(self, record) -> None:
        self.status[record.status] += 1
        if record.status == "bad":
            if len(self.bad) < MAX_LISTED_BAD:
                self.bad.append({"path": record.key, "reason": record.reason})
            return
        if record.status == "skipped":
            self.skipped[record.reason] += 1
            _example(self.skipped_examples, record.reason, record.key)
            return
        self.formats[record.format or "in-memory"] += 1
        self.modes[record.mode] += 1
        self.bit_depths[str(record.bit_depth)] += 1
        for note in record.notes:
            kind = note_kind(note)
            self.notes[kind] += 1
            _example(self.note_examples, kind, f"{record.key}: {note}")
        self.width.add(record.width)
        self.height.add(record.height)
        self.width_hist.add(record.width)
        self.height_hist.add(record.height)
        self.aspect_hist.add(record.width / record.height)
        if record.file_size is not None:
            self.file_size.add(record.file_size)

    def result(self, settings: dict | None = None) -> dict:
        return {
            "items": sum(self.status.values()),
            "readable": self.status["ok"],
            "bad": self.status["bad"],
            "skipped": self.status["skipped"],
            "formats": dict(self.formats.most_common()),
            "modes": dict(self.modes.most_common()),
            "bit_depths": dict(self.bit_depths.most_common()),
            "width": self.width.to_dict() | {"histogram": self.width_hist.to_dict()},
            "height": self.height.to_dict() | {"histogram": self.height_hist.to_dict()},
            "aspect_ratio_histogram": self.aspect_hist.to_dict(),
            "file_size": self.file_size.to_dict(),
            "bad_files": self.bad,
            "skipped_reasons": dict(self.skipped.most_common()),
            "skipped_examples": self.skipped_examples,
            "notes": dict(self.notes.most_common()),
            "note_examples": self.note_examples,
        }


def _example(store: dict[str, list[str]], kind: str, text: str) -> None:
    examples = store.setdefault(kind, [])
    if len(examples) < MAX_EXAMPLES:
        examples.append(text)


class InventorySection(Section):
    """Counts, formats and sizes; every unreadable file with its reason."""

    name = "inventory"

    def stats(self, settings: dict) -> InventoryStats:
        return InventoryStats()

    def html(self, result: dict, report: dict, preview) -> str:
        return _html(result)

    def recommend(self, result: dict, report: dict) -> list[dict]:
        out: list[dict] = []
        _files(result, out)
        return out


SECTION = InventorySection()


def _html(inv: dict) -> str:
    rows = [["Items", f"{inv['items']:,}"], ["Readable", f"{inv['readable']:,}"], ["Bad", f"{inv['bad']:,}"],
            ["Skipped", f"{inv['skipped']:,} ({counts(inv['skipped_reasons'])})"],
            ["Formats", counts(inv["formats"])], ["Colour modes", counts(inv["modes"])],
            ["Bit depths", counts(inv["bit_depths"])], ["Conversions and notes", counts(inv["notes"])]]
    if inv["width"].get("count"):
        rows.append(["Width (min / mean / max)", f"{inv['width']['min']:.0f} / {inv['width']['mean']:.0f} / "
                     f"{inv['width']['max']:.0f} px"])
        rows.append(["Height (min / mean / max)", f"{inv['height']['min']:.0f} / {inv['height']['mean']:.0f} / "
                     f"{inv['height']['max']:.0f} px"])
    parts = ["<section><h2>Inventory</h2>", table(None, rows, "kv")]
    if inv["width"].get("count"):
        parts.append(_figure(inv))
    if inv["bad_files"]:
        bad = [[f"<code>{escape(b['path'])}</code>", escape(b["reason"])] for b in inv["bad_files"][:HTML_ROWS]]
        more = len(inv["bad_files"]) - HTML_ROWS
        parts.append(f"<h3>Unreadable files ({inv['bad']:,})</h3>" + table(["path", "reason"], bad, "files")
                     + (f"<p class=\"note\">{more:,} more in report.json</p>" if more > 0 else ""))
    if inv["note_examples"]:
        notes = [[escape(kind), "<br>".join(f"<code>{escape(x)}</code>" for x in examples[:5])]
                 for kind, examples in inv["note_examples"].items()]
        parts.append("<h3>Converted or unusual images (examples)</h3>" + table(["kind", "examples"], notes, "files"))
    parts.append("</section>")
    return "".join(parts)


def _figure(inventory: dict) -> str:
    panels = []
    for title, xlabel, hist, color in (("Width", "pixels", inventory["width"]["histogram"], BLUE),
                                       ("Height", "pixels", inventory["height"]["histogram"], BLUE),
                                       ("Aspect ratio", "width / height", inventory["aspect_ratio_histogram"], ORANGE)):
        panel = Panel(title, xlabel=xlabel)
        panel.stairs(hist["counts"], hist["edges"], color, log=True)
        panels.append(panel)
    return figure(panels, "size histograms")


def _files(inventory: dict, out: list) -> None:
    if inventory["bad"]:
        add(out, "files", f"Fix or remove the {inventory['bad']} unreadable file(s) listed in the inventory; "
             "a training DataLoader stops at the first one.", f"{inventory['bad']} bad of {inventory['items']} items")
    wrong = inventory["notes"].get("wrong extension", 0)
    if wrong:
        add(out, "files", f"Rename the {wrong} file(s) whose extension does not match the format; some loaders "
             "choose the decoder by extension.", f"{wrong} files with a wrong extension")
