"""The report: a versioned JSON document, a self-contained HTML page and a terminal summary.

``report.json`` holds every section as numbers and lists (``SCHEMA_VERSION`` names its
layout; a change that removes or renames a field bumps the major version).
``report.html`` is one file with inline CSS, the plots as inline SVG and the thumbnails
as base64 JPEGs, so it opens anywhere, offline; each section renders its own part
(``Section.html``). ``records.jsonl`` (written by the scan) holds the
per-image records.

Example:
    >>> write_report(report, "report/")     # doctest: +SKIP
    >>> print(summary_text(report))          # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .page import code, escape, file_preview, num, pct
from .records import finite_json
from .sections import SECTIONS

#: Layout version of report.json.
SCHEMA_VERSION = "2.0"


def write_report(report: dict, out: str | os.PathLike, with_html: bool = True, preview=None) -> list[Path]:
    """Write ``report.json`` (and ``report.html``) into the folder ``out``; return their paths.

    ``preview(key) -> uint8 RGB array or None`` gives the duplicate groups' thumbnails
    (default: read the key as a file path).
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "report.json"]
    paths[0].write_text(json.dumps(json.loads(finite_json(report)), indent=1), encoding="utf-8")
    if with_html:
        paths.append(folder / "report.html")
        paths[1].write_text(render_html(report, preview), encoding="utf-8")
    return paths


def summary_text(report: dict) -> str:
    """A short plain-text summary for the terminal."""
    inv, cen, dup, lab = report["inventory"], report["centricity"], report["duplicates"], report["labels"]
    lines = [f"pairgen diagnose: {report['source']}",
             f"  items {inv['items']}: {inv['readable']} readable, {inv['bad']} bad, {inv['skipped']} skipped"]
    if cen["object_centric_fraction"] is not None:
        lines.append(f"  centricity: {cen['verdict']} ({cen['object_centric_fraction']:.0%} of images object-centric)")
    for name, pq in report["pair_quality"].items():
        rate = "n/a" if pq["object_sharing_rate"] is None else f"{pq['object_sharing_rate']:.1%}"
        lines.append(f"  pairs [{name}]: object-sharing rate {rate}, mean view IoU {pq['mean_iou']:.2f}")
    lines.append(f"  duplicates: {dup['exact']['groups']} exact groups, {dup['near']['groups']} near-duplicate groups")
    if lab is not None and lab["false_negatives"] is not None:
        fn = lab["false_negatives"]
        lines.append(f"  labels: {lab['classes']} classes; at batch {fn['batch_size']}: "
                     f"{fn['expected_per_anchor']:.2f} same-class negatives per anchor, "
                     f"P(>=1) {fn['p_at_least_one']:.1%}")
    shortcuts = report["shortcuts"]["overall"]
    if shortcuts["images"]:
        lines.append(f"  shortcuts: {shortcuts['grayscale_fraction']:.0%} grayscale, "
                     f"{shortcuts['blurry_fraction']:.0%} blurry")
    for rec in report["recommendations"]:
        lines.append(f"  * [{rec['topic']}] {rec['text']}")
    timing = report.get("timing", {})
    if timing.get("seconds"):
        lines.append(f"  {timing['items']} items in {timing['seconds']:.1f} s "
                     f"({timing['items_per_second']:.0f}/s, {timing['cache_hits']} from cache)")
    return "\n".join(lines)


def render_html(report: dict, preview=None) -> str:
    """The self-contained HTML page of a report (``preview``: see :func:`write_report`)."""
    preview = preview or file_preview
    body = [_header(report), _cards(report), _recommendations(report["recommendations"])]
    body += [section.html(report[section.name], report, preview) for section in SECTIONS]
    return _PAGE.format(title=escape(f"pairgen diagnose: {report['source']}"), css=_CSS, body="\n".join(body))


def _header(report: dict) -> str:
    settings = report["settings"]
    shard = f" &middot; shard {escape(settings['shard'])}" if settings.get("shard") not in (None, "0/1") else ""
    return (f"<header><h1>Dataset diagnostics</h1><p class=\"source\">{escape(report['source'])}</p>"
            f"<p class=\"meta\">{escape(report['generator'])} &middot; schema {escape(report['schema_version'])} &middot; "
            f"{escape(report['created'])} &middot; recipes {escape(', '.join(settings['recipes']))} &middot; "
            f"batch size {escape(settings['batch_size'])}{shard}</p></header>")


def _cards(report: dict) -> str:
    inv, cen, dup, lab = report["inventory"], report["centricity"], report["duplicates"], report["labels"]
    simclr = report["pair_quality"].get("simclr", {})
    cards = [
        ("Images readable", f"{inv['readable']:,}", f"of {inv['items']:,} items"),
        ("Bad files", f"{inv['bad']:,}", f"{inv['skipped']:,} skipped", "warn" if inv["bad"] else ""),
        ("Verdict", escape(cen["verdict"] or "n/a"), f"{pct(cen['object_centric_fraction'])} of images object-centric",
         "text"),
        ("simclr object sharing", pct(simclr.get("object_sharing_rate")), f"mean IoU {num(simclr.get('mean_iou'))}"),
        ("Near-duplicate groups", f"{dup['near']['groups']:,}", f"{dup['exact']['groups']:,} exact"),
    ]
    if lab is not None and lab["false_negatives"] is not None:
        fn = lab["false_negatives"]
        cards.append(("Same-class negatives", num(fn["expected_per_anchor"]),
                      f"per anchor at B={fn['batch_size']}; P(&ge;1) {pct(fn['p_at_least_one'])}"))
    html_cards = "".join(
        f'<div class="card {c[3] if len(c) > 3 else ""}"><div class="k">{escape(c[0])}</div>'
        f'<div class="v">{c[1]}</div><div class="s">{c[2]}</div></div>' for c in cards)
    return f'<section class="cards">{html_cards}</section>'


def _recommendations(recs: list[dict]) -> str:
    if not recs:
        return "<section><h2>Recommendations</h2><p>Nothing to recommend.</p></section>"
    items = "".join(f'<li><span class="tag">{escape(r["topic"])}</span>{code(r["text"])}'
                    f'<div class="because">because: {escape(r["because"])}</div></li>' for r in recs)
    return f"<section><h2>Recommendations</h2><ul class=\"recs\">{items}</ul></section>"


_CSS = """
*{box-sizing:border-box}
body{font-family:-apple-system,"Segoe UI",Roboto,"DejaVu Sans",Arial,sans-serif;margin:0;background:#f4f5f7;color:#1d2430;line-height:1.45}
main{max-width:1120px;margin:0 auto;padding:24px}
header h1{margin:0;font-size:26px}
.source{margin:4px 0;font-family:monospace;font-size:14px;color:#333;word-break:break-all}
.meta{margin:0;color:#6b7280;font-size:13px}
section{background:#fff;border:1px solid #e1e4e8;border-radius:8px;padding:16px 20px;margin:16px 0}
h2{margin:0 0 10px;font-size:19px}
h3{font-size:15px;margin:16px 0 6px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(165px,1fr));gap:12px;background:none;border:none;padding:0}
.card{background:#fff;border:1px solid #e1e4e8;border-radius:8px;padding:12px 14px}
.card .k{font-size:12px;color:#6b7280;text-transform:uppercase;letter-spacing:.03em}
.card .v{font-size:24px;font-weight:600;margin:2px 0}
.card .s{font-size:12px;color:#6b7280}
.card.warn .v{color:#b42318}
.card.text .v{font-size:17px;line-height:1.9;white-space:nowrap}
.recs{padding-left:0;list-style:none;margin:0}
.recs li{padding:8px 0;border-bottom:1px solid #eef0f2}
.recs li:last-child{border-bottom:none}
.tag{display:inline-block;background:#e8effa;color:#2c5282;border-radius:4px;padding:0 6px;margin-right:8px;font-size:12px;font-weight:600}
.because{color:#6b7280;font-size:13px;margin-top:2px}
table{border-collapse:collapse;width:100%;font-size:13.5px;margin:6px 0}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eef0f2;vertical-align:top}
th{background:#f8f9fb;font-weight:600}
table.kv td:first-child{width:290px;color:#4b5563}
table.files td{overflow-wrap:anywhere}
table.files code{word-break:break-all}
code{font-size:12.5px}
svg.plot{display:block;max-width:100%;height:auto;margin:10px auto 0}
img.thumb{height:64px;margin:0 4px 4px 0;border:1px solid #ddd;border-radius:3px}
img.thumb.big{height:128px}
.gallery{display:flex;flex-wrap:wrap;gap:6px;margin:6px 0}
figure.thumb{margin:0;font-size:11.5px;color:#4b5563;text-align:center}
figure.thumb figcaption{max-width:200px}
pre{background:#f6f8fa;border:1px solid #e1e4e8;border-radius:6px;padding:8px 10px;font-size:12.5px;overflow-x:auto}
.note{color:#6b7280;font-size:13px}
"""

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>{css}</style></head>
<body><main>
{body}
</main></body></html>
"""
