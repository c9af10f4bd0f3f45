"""The report: a versioned JSON document, a self-contained HTML page and a terminal summary.

``report.json`` holds every section as numbers and lists (``SCHEMA_VERSION`` names its
layout; a change that removes or renames a field bumps the major version).
``report.html`` is one file with inline CSS and the plots embedded as base64 PNG,
so it opens anywhere, offline. ``records.jsonl`` (written by the scan) holds the
per-image records.

Example:
    >>> write_report(report, "report/")     # doctest: +SKIP
    >>> print(summary_text(report))          # doctest: +SKIP
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
import re
from pathlib import Path

import numpy as np

from . import plots
from .records import finite_json

#: Layout version of report.json.
SCHEMA_VERSION = "1.0"
#: Rows shown in the HTML tables of bad files and duplicate groups (the JSON has them all).
HTML_ROWS = 200
_THUMB_GROUPS, _THUMB_PER_GROUP, _THUMB_SIDE = 20, 5, 96


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
    inv, cen, pq, dup, lab, sc = (report[k] for k in
                                  ("inventory", "centricity", "pair_quality", "duplicates", "labels", "shortcuts"))
    body = [_header(report), _cards(report), _recommendations(report["recommendations"]),
            _inventory(inv), _centricity(cen), _pair_quality(pq), _duplicates(dup, preview or _file_preview),
            _labels(lab), _shortcuts(sc)]
    return _PAGE.format(title=_e(f"pairgen diagnose: {report['source']}"), css=_CSS, body="\n".join(body))


def _e(value) -> str:
    return html.escape(str(value))


def _pct(value, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:.{digits}%}"


def _num(value, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _img(png: str, alt: str) -> str:
    return f'<img class="plot" alt="{_e(alt)}" src="data:image/png;base64,{png}">'


def _table(headers: list[str] | None, rows: list[list], cls: str = "") -> str:
    head = "" if headers is None else "<thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in headers) + "</tr></thead>"
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<table class="{cls}">{head}<tbody>{body}</tbody></table>'


def _header(report: dict) -> str:
    settings = report["settings"]
    shard = f" &middot; shard {_e(settings['shard'])}" if settings.get("shard") not in (None, "0/1") else ""
    return (f"<header><h1>Dataset diagnostics</h1><p class=\"source\">{_e(report['source'])}</p>"
            f"<p class=\"meta\">{_e(report['generator'])} &middot; schema {_e(report['schema_version'])} &middot; "
            f"{_e(report['created'])} &middot; recipes {_e(', '.join(settings['recipes']))} &middot; "
            f"batch size {_e(settings['batch_size'])}{shard}</p></header>")


def _cards(report: dict) -> str:
    inv, cen, dup, lab = report["inventory"], report["centricity"], report["duplicates"], report["labels"]
    simclr = report["pair_quality"].get("simclr", {})
    cards = [
        ("Images readable", f"{inv['readable']:,}", f"of {inv['items']:,} items"),
        ("Bad files", f"{inv['bad']:,}", f"{inv['skipped']:,} skipped", "warn" if inv["bad"] else ""),
        ("Verdict", _e(cen["verdict"] or "n/a"), f"{_pct(cen['object_centric_fraction'])} of images object-centric",
         "text"),
        ("simclr object sharing", _pct(simclr.get("object_sharing_rate")), f"mean IoU {_num(simclr.get('mean_iou'))}"),
        ("Near-duplicate groups", f"{dup['near']['groups']:,}", f"{dup['exact']['groups']:,} exact"),
    ]
    if lab is not None and lab["false_negatives"] is not None:
        fn = lab["false_negatives"]
        cards.append(("Same-class negatives", _num(fn["expected_per_anchor"]),
                      f"per anchor at B={fn['batch_size']}; P(&ge;1) {_pct(fn['p_at_least_one'])}"))
    html_cards = "".join(
        f'<div class="card {c[3] if len(c) > 3 else ""}"><div class="k">{_e(c[0])}</div>'
        f'<div class="v">{c[1]}</div><div class="s">{c[2]}</div></div>' for c in cards)
    return f'<section class="cards">{html_cards}</section>'


def _recommendations(recs: list[dict]) -> str:
    if not recs:
        return "<section><h2>Recommendations</h2><p>Nothing to recommend.</p></section>"
    items = "".join(f'<li><span class="tag">{_e(r["topic"])}</span>{_code(r["text"])}'
                    f'<div class="because">because: {_e(r["because"])}</div></li>' for r in recs)
    return f"<section><h2>Recommendations</h2><ul class=\"recs\">{items}</ul></section>"


def _code(text: str) -> str:
    """Escape, then show `backticked` words as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", _e(text))


def _counts(counter: dict) -> str:
    return ", ".join(f"{_e(k)}: {v:,}" for k, v in counter.items()) or "none"


def _inventory(inv: dict) -> str:
    rows = [["Items", f"{inv['items']:,}"], ["Readable", f"{inv['readable']:,}"], ["Bad", f"{inv['bad']:,}"],
            ["Skipped", f"{inv['skipped']:,} ({_counts(inv['skipped_reasons'])})"],
            ["Formats", _counts(inv["formats"])], ["Colour modes", _counts(inv["modes"])],
            ["Bit depths", _counts(inv["bit_depths"])], ["Conversions and notes", _counts(inv["notes"])]]
    if inv["width"].get("count"):
        rows.append(["Width (min / mean / max)", f"{inv['width']['min']:.0f} / {inv['width']['mean']:.0f} / "
                     f"{inv['width']['max']:.0f} px"])
        rows.append(["Height (min / mean / max)", f"{inv['height']['min']:.0f} / {inv['height']['mean']:.0f} / "
                     f"{inv['height']['max']:.0f} px"])
    parts = ["<section><h2>Inventory</h2>", _table(None, rows, "kv")]
    if inv["width"].get("count"):
        parts.append(_img(plots.inventory_figure(inv), "size histograms"))
    if inv["bad_files"]:
        bad = [[f"<code>{_e(b['path'])}</code>", _e(b["reason"])] for b in inv["bad_files"][:HTML_ROWS]]
        more = len(inv["bad_files"]) - HTML_ROWS
        parts.append(f"<h3>Unreadable files ({inv['bad']:,})</h3>" + _table(["path", "reason"], bad, "files")
                     + (f"<p class=\"note\">{more:,} more in report.json</p>" if more > 0 else ""))
    if inv["note_examples"]:
        notes = [[_e(kind), "<br>".join(f"<code>{_e(x)}</code>" for x in examples[:5])]
                 for kind, examples in inv["note_examples"].items()]
        parts.append("<h3>Converted or unusual images (examples)</h3>" + _table(["kind", "examples"], notes, "files"))
    parts.append("</section>")
    return "".join(parts)


def _centricity(cen: dict) -> str:
    if not cen["images"]:
        return ""
    bias = cen["centre_bias"]
    text = (f"<p><b>{_e(cen['verdict'])}</b>: {_pct(cen['object_centric_fraction'])} of images have one dominant "
            f"salient component. Salient area {_pct(cen['salient_fraction']['mean'])} of the image on average; "
            f"{_pct(bias['central_fraction'])} of saliency centroids fall in the central "
            f"{_pct(bias['central_area'])} of the frame (centre bias).</p>")
    return f"<section><h2>Object-centricity</h2>{text}{_img(plots.centricity_figure(cen), 'centricity')}</section>"


def _pair_quality(pq: dict) -> str:
    if not pq:
        return ""
    rows = [[f"<code>{_e(n)}</code>", _pct(v["object_sharing_rate"], 1), _num(v["standard_error"], 3),
             _num(v["mean_iou"]), f"{v['pairs']:,}", f"{v['images_without_object']:,}"] for n, v in pq.items()]
    table = _table(["recipe", "object-sharing rate", "std. error", "mean view IoU", "pairs",
                    "images without salient object"], rows)
    text = ("<p>Monte-Carlo pairs per image, the salient region standing in for the object: a view shows the "
            "object when it is &ge; 20% of the crop or the crop holds &ge; 50% of it; a pair shares it when both "
            "views show it. Lower IoU means more diverse views.</p>")
    return f"<section><h2>Pair quality</h2>{text}{table}{_img(plots.pair_quality_figure(pq), 'pairs')}</section>"


def _duplicates(dup: dict, preview) -> str:
    parts = [f"<section><h2>Duplicates</h2><p>{dup['exact']['groups']:,} exact-copy groups "
             f"({dup['exact']['redundant_images']:,} redundant files); {dup['near']['groups']:,} near-duplicate "
             f"groups ({dup['near']['images_in_groups']:,} images; pHash and dHash within "
             f"{dup['max_distance']} bits).</p>"]
    fn = dup.get("false_negatives")
    if fn and dup["near"]["groups"]:
        parts.append(f"<p>At batch size {fn['batch_size']}, {_pct(fn['p_at_least_one'], 2)} of anchors meet a "
                     f"near-duplicate of themselves as a negative.</p>")
    groups = dup["near"]["listed"]
    if groups:
        rows = []
        for index, group in enumerate(groups[:HTML_ROWS]):
            thumbs = "".join(_thumb(preview, k) for k in group[:_THUMB_PER_GROUP]) if index < _THUMB_GROUPS else ""
            names = "<br>".join(f"<code>{_e(k)}</code>" for k in group[:10])
            more = f"<br>&hellip; {len(group) - 10} more" if len(group) > 10 else ""
            rows.append([str(len(group)), thumbs, names + more])
        parts.append(_table(["size", "preview", "images"], rows, "files"))
    parts.append("</section>")
    return "".join(parts)


def _file_preview(key: str):
    from PIL import Image

    if not os.path.isfile(key):
        return None
    with Image.open(key) as image:
        image.draft("RGB", (2 * _THUMB_SIDE, 2 * _THUMB_SIDE))
        return np.asarray(image.convert("RGB"))


def _thumb(preview, key: str) -> str:
    from PIL import Image

    try:
        array = preview(key)
        if array is None:
            return ""
        image = Image.fromarray(array)
        scale = _THUMB_SIDE / max(image.size)
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                             Image.Resampling.NEAREST if scale > 1 else Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=85)
    except Exception:  # noqa: BLE001 - a preview is optional
        return ""
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img class="thumb" alt="" src="data:image/jpeg;base64,{data}">'


def _labels(lab: dict | None) -> str:
    if lab is None:
        return "<section><h2>Labels</h2><p>No labels (images are not in class sub-folders).</p></section>"
    fn = lab["false_negatives"]
    unlabelled = f", {lab['unlabelled_images']:,} unlabelled" if lab["unlabelled_images"] else ""
    text = (f"<p>{lab['classes']:,} classes, {lab['labelled_images']:,} labelled images{unlabelled}; "
            f"largest/smallest class {lab['imbalance_ratio']:.1f}, normalised entropy "
            f"{lab['normalised_entropy']:.3f} (1 = balanced).</p>")
    if fn is not None:
        text += (f"<p>In a batch of {fn['batch_size']} images drawn without replacement, an anchor meets on average "
                 f"<b>{fn['expected_per_anchor']:.2f}</b> same-class negatives; <b>{_pct(fn['p_at_least_one'], 1)}"
                 f"</b> of anchors meet at least one; {_pct(fn['fraction_of_negatives'], 2)} of all negatives are "
                 f"false negatives (two views per image double the counts, not the fraction).</p>")
    return f"<section><h2>Labels</h2>{text}{_img(plots.labels_figure(lab), 'class counts')}</section>"


def _shortcuts(sc: dict) -> str:
    overall = sc["overall"]
    if not overall["images"]:
        return ""
    stats = [["Grayscale", _pct(overall["grayscale_fraction"], 1)], ["Blurry (variance of Laplacian < 100)",
             _pct(overall["blurry_fraction"], 1)]]
    for name, label in (("brightness", "Brightness (mean luma)"), ("contrast", "Contrast (luma std)"),
                        ("saturation", "Saturation"), ("colourfulness", "Colourfulness"),
                        ("blur", "Sharpness (variance of Laplacian)")):
        m = overall[name]
        stats.append([label, f"{m['mean']:.3g} &plusmn; {m['std']:.3g} (mean &plusmn; std)"])
    rgb = overall["mean_rgb"]
    stats.append(["Mean R, G, B", ", ".join(f"{v:.3f}" for v in rgb)])
    parts = ["<section><h2>Shortcuts</h2>", _table(["statistic", "overall"], stats, "kv"),
             _img(plots.shortcuts_figure(sc), "shortcut histograms")]
    if sc["class_spread"]:
        spread = ", ".join(f"{_e(k)} {v:.2f}" for k, v in sc["class_spread"].items())
        parts.append(f"<p>Spread of class means, in overall standard deviations (grayscale: difference of "
                     f"fractions): {spread}.</p>")
        parts.append(_img(plots.class_shortcuts_figure(sc), "per-class statistics"))
    parts.append("</section>")
    return "".join(parts)


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
img.plot{display:block;max-width:100%;height:auto;margin:10px auto 0}
img.thumb{height:64px;margin:0 4px 4px 0;border:1px solid #ddd;border-radius:3px}
.note{color:#6b7280;font-size:13px}
"""

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>{css}</style></head>
<body><main>
{body}
</main></body></html>
"""
