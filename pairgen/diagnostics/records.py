"""The per-image record: everything the diagnostics keep about one image.

A scan turns every input item into one :class:`ImageRecord`; the report is an
aggregate over records, so records are what the cache stores and what shards
hand to the merge. A record is small (a few hundred bytes) and JSON-serialisable.

Example:
    >>> r = ImageRecord(key="a.jpg", ordinal=0, status="bad", reason="empty file (0 bytes)")
    >>> ImageRecord.from_dict(r.to_dict()) == r
    True
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field

#: Record statuses: decoded and analysed, unreadable, or deliberately not scanned.
STATUSES = ("ok", "bad", "skipped")


@dataclass
class ImageRecord:
    """What one scan of one image found.

    Attributes:
        key: the file path as listed (or ``"#<index>"`` for a Python dataset item).
        ordinal: position of the item in the full listing; shards merge on it.
        status: ``"ok"``, ``"bad"`` (listed with ``reason``) or ``"skipped"`` (hidden
            files and non-image files that do not claim to be images).
        reason: why a bad or skipped item was not analysed.
        label: class name, or None.
        file_size, mtime_ns: the file's size and modification time (cache key).
        format, width, height, mode, bit_depth: the source image as stored.
        notes: conversions and oddities of a readable image (CMYK, alpha dropped,
            wrong extension, tiny, extreme aspect ratio).
        exact_hash: BLAKE2b-128 of the file bytes (of the pixels for in-memory items).
        dhash, phash: 64-bit perceptual hashes as 16 hex digits.
        salient_fraction, centroid_x, centroid_y, components, dominant_share, spread,
            centre_distance, backbone_fraction: object-centricity cues; scene_score: the
            calibrated log-odds of scene-centric; object_centric: the verdict (see ``centricity``).
        grayscale, brightness, contrast, blur, saturation, colourfulness, mean_rgb:
            low-level statistics a model can use as shortcuts (see ``shortcuts``).
        pairs: recipe name -> [object-sharing rate or None, mean view IoU] over the
            image's Monte-Carlo pairs (see ``pair_quality``).
        pair_examples: the first recipe's name -> the two boxes of a pair that misses the object.
    """

    key: str
    ordinal: int
    status: str = "ok"
    reason: str | None = None
    label: str | None = None
    file_size: int | None = None
    mtime_ns: int | None = None
    format: str | None = None
    width: int | None = None
    height: int | None = None
    mode: str | None = None
    bit_depth: int | None = None
    notes: list[str] = field(default_factory=list)
    exact_hash: str | None = None
    dhash: str | None = None
    phash: str | None = None
    salient_fraction: float | None = None
    centroid_x: float | None = None
    centroid_y: float | None = None
    components: int | None = None
    dominant_share: float | None = None
    spread: float | None = None
    centre_distance: float | None = None
    backbone_fraction: float | None = None
    scene_score: float | None = None
    object_centric: bool | None = None
    grayscale: bool | None = None
    brightness: float | None = None
    contrast: float | None = None
    blur: float | None = None
    saturation: float | None = None
    colourfulness: float | None = None
    mean_rgb: list[float] | None = None
    pairs: dict[str, list[float | None]] = field(default_factory=dict)
    pair_examples: dict[str, list[list[float]]] | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")

    def to_dict(self) -> dict:
        """A JSON-ready dict without the fields that are None or empty (values are shared, not copied)."""
        return {k: v for k, v in vars(self).items() if v is not None and v != [] and v != {}}

    @classmethod
    def from_dict(cls, data: dict) -> "ImageRecord":
        """Inverse of :meth:`to_dict`; unknown keys are an error naming them."""
        unknown = set(data) - _FIELDS
        if unknown:
            raise ValueError(f"unknown record fields {sorted(unknown)}")
        return cls(**data)


_FIELDS = {f.name for f in dataclasses.fields(ImageRecord)}


def finite_json(value) -> str:
    """``json.dumps`` with any NaN or infinity (which no measure should produce) written as null."""
    try:
        return json.dumps(value, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(value), allow_nan=False)


def _finite(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
