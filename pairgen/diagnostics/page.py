"""HTML building blocks shared by the report's sections: escaping, numbers, tables, thumbnails.

Example:
    >>> table(["a", "b"], [["1", "2"]])
    '<table class=""><thead><tr><th>a</th><th>b</th></tr></thead><tbody><tr><td>1</td><td>2</td></tr></tbody></table>'
"""

from __future__ import annotations

import base64
import html
import io
import os
import re

import numpy as np

#: Longest side of a thumbnail, in pixels.
THUMB_SIDE = 96
#: Rows shown in the HTML tables of files and groups (the JSON has them all).
HTML_ROWS = 200
_BOX_COLOURS = ((230, 57, 70), (29, 120, 230))


def escape(value) -> str:
    return html.escape(str(value))


def pct(value, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:.{digits}%}"


def num(value, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def table(headers: list[str] | None, rows: list[list], cls: str = "") -> str:
    head = "" if headers is None else "<thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in headers) + "</tr></thead>"
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<table class="{cls}">{head}<tbody>{body}</tbody></table>'


def code(text: str) -> str:
    """Escape, then show `backticked` words as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text))


def counts(counter: dict) -> str:
    return ", ".join(f"{escape(k)}: {v:,}" for k, v in counter.items()) or "none"


def file_preview(key: str):
    from PIL import Image

    if not os.path.isfile(key):
        return None
    with Image.open(key) as image:
        image.draft("RGB", (2 * THUMB_SIDE, 2 * THUMB_SIDE))
        return np.asarray(image.convert("RGB"))


def thumb(preview, key: str, boxes=None, source_width: int | None = None, caption: str = "") -> str:
    """An inline JPEG thumbnail of ``preview(key)`` (None or a failure: nothing).

    ``boxes``: xyxy boxes in the pixels of a source image ``source_width`` wide, drawn
    as outlines (the two crops of a pair: red, then blue).
    """
    from PIL import Image, ImageDraw

    try:
        array = preview(key)
        if array is None:
            return ""
        image = Image.fromarray(array)
        side = 2 * THUMB_SIDE if boxes is not None else THUMB_SIDE
        scale = side / max(image.size)
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                             Image.Resampling.NEAREST if scale > 1 else Image.Resampling.LANCZOS)
        if boxes is not None:
            draw = ImageDraw.Draw(image)
            factor = image.width / (source_width or array.shape[1])
            for box, colour in zip(boxes, _BOX_COLOURS):
                draw.rectangle([v * factor for v in box], outline=colour, width=2)
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=85)
    except Exception:  # noqa: BLE001 - a preview is optional
        return ""
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    tag = f'<img class="thumb{" big" if boxes is not None else ""}" alt="{escape(key)}" title="{escape(key)}" ' \
          f'src="data:image/jpeg;base64,{data}">'
    return f'<figure class="thumb">{tag}<figcaption>{escape(caption)}</figcaption></figure>' if caption else tag


def gallery(preview, examples: list[dict], caption) -> str:
    """Thumbnails of ``examples`` (dicts with ``key``), each captioned ``caption(example)``."""
    tiles = "".join(thumb(preview, x["key"], x.get("boxes"), x.get("width"), caption(x)) for x in examples)
    return f'<div class="gallery">{tiles}</div>' if tiles else ""
