"""Everything measured on a batch of images: decode, then every section's ``measure``.

:func:`analyse_batch` is what a scan worker (or a Ray task) runs. It never raises: a failure
becomes a ``"bad"`` record with the reason, and a file that does not claim to be an
image (no image extension) and is not one becomes ``"skipped"``. Saliency and the
recipes' crop boxes are computed for the whole batch in one call each (see
:mod:`pairgen.diagnostics.section`).

Example:
    >>> from pairgen.diagnostics.inputs import Item
    >>> [record] = analyse_batch([Item(key="cat.jpg", ordinal=0, path="cat.jpg")], ScanSettings())  # doctest: +SKIP
    >>> record.status, record.object_centric                                                       # doctest: +SKIP
    ('ok', True)
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field

import cv2
import numpy as np
import torch

from pairgen.random import derive_seeds

from . import hashing
from .centricity import WEIGHT_FREE, WITH_BACKBONE
from .decode import (
    ANALYSIS_SIDE,
    DEFAULT_MAX_PIXELS,
    BadImage,
    Decoded,
    decode_bytes,
    decode_object,
)
from .inputs import Item, load_dataset_item
from .pair_quality import RecipePairs, resolve_recipes
from .records import ImageRecord
from .section import Measured

#: Version of the per-image analysis; cached records of another version are rescanned.
ANALYSIS_VERSION = 5
#: Files larger than this are not read (bad: "file too large").
DEFAULT_MAX_FILE_BYTES = 1 << 31


@dataclass(frozen=True)
class ScanSettings:
    """What a scan measures; records made under other settings are not reused from the cache.

    Attributes:
        side: longest side of the analysis image.
        max_pixels: decompression-bomb limit (width x height).
        max_file_bytes: files larger than this are bad without being read.
        samplers: ``(name, RecipePairs)`` pairs whose pair quality is measured
            (default: the ``simclr`` recipe).
        backbone: a ``backbone.BackboneCue`` for the backbone's centricity cue, or None.
        pairs_per_image: Monte-Carlo pairs per image and sampler.
        seed: base seed of the Monte-Carlo pairs.
        pair_sample: at most this many images get pairs measured (None: all); see
            :func:`pairgen.diagnostics.pair_quality.pair_sample_keys`.
        pair_keys: the keys of those images (None: every image); not part of the
            fingerprint, so a changed sample rescans only the images that enter or leave it.
    """

    side: int = ANALYSIS_SIDE
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    samplers: tuple[tuple[str, RecipePairs], ...] = field(default_factory=lambda: resolve_recipes("simclr"))
    backbone: object = None
    pairs_per_image: int = 16
    seed: int = 0
    pair_sample: int | None = None
    pair_keys: frozenset | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.side < 8:
            raise ValueError(f"side must be >= 8, got {self.side}")
        if self.max_pixels < 1:
            raise ValueError(f"max_pixels must be >= 1, got {self.max_pixels}")
        if self.pairs_per_image < 1:
            raise ValueError(f"pairs_per_image must be >= 1, got {self.pairs_per_image}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        if self.pair_sample is not None and self.pair_sample < 1:
            raise ValueError(f"pair_sample must be >= 1 or None, got {self.pair_sample}")
        names = [name for name, _ in self.samplers]
        if len(set(names)) != len(names):
            raise ValueError(f"sampler names must be unique, got {names}")

    @property
    def canvas_side(self) -> int:
        """Longest side of the pair-quality canvas: the largest ``max_side`` of the recipes' samplers."""
        return max([self.side] + [s.max_side for _, s in self.samplers])

    def canvas_for(self, key: str) -> int | None:
        """The canvas side to decode image ``key`` at besides the analysis side, or None (not in
        the pair sample, or no larger than the analysis image)."""
        return self.canvas_side if self.canvas_side > self.side and self.measures_pairs(key) else None

    def measures_pairs(self, key: str) -> bool:
        """Whether the image ``key`` is in the pair-quality sample."""
        return self.pair_keys is None or key in self.pair_keys

    def fingerprint(self) -> str:
        """A digest of everything that changes a record (the verdicts' constants too: a refit rescans)."""
        described = (ANALYSIS_VERSION, WEIGHT_FREE, WITH_BACKBONE, self.side, self.max_pixels, self.max_file_bytes,
                     repr(self.backbone),
                     tuple((n, repr(s)) for n, s in self.samplers), self.pairs_per_image, self.seed, self.pair_sample)
        return hashlib.blake2b(repr(described).encode(), digest_size=8).hexdigest()


@dataclass
class _Loaded:
    record: ImageRecord
    decoded: Decoded
    sidecar: object


def analyse_batch(items: list[Item], settings: ScanSettings, dataset=None) -> list[ImageRecord]:
    """The records of ``items``, in order; never raises."""
    records, loaded = [], []
    for item in items:
        record, ok = _load(item, settings, dataset)
        records.append(record)
        if ok is not None:
            loaded.append(ok)
    if loaded:
        try:
            _measure(loaded, settings)
        except Exception:  # noqa: BLE001 - isolate the item that fails
            for one in loaded:
                try:
                    _measure([one], settings)
                except Exception as err:  # noqa: BLE001
                    _status(one.record, "bad", f"analysis failed: {type(err).__name__}: {err}")
    return records


def _load(item: Item, settings: ScanSettings, dataset) -> tuple[ImageRecord, _Loaded | None]:
    record = ImageRecord(key=item.key, ordinal=item.ordinal, label=item.label,
                         file_size=item.size, mtime_ns=item.mtime_ns)
    if item.skip is not None:
        return _status(record, "skipped", item.skip), None
    if item.problem is not None:
        return _status(record, "bad", item.problem), None
    try:
        if item.path is not None:
            decoded, digest, sidecar = _load_file(item, settings)
        else:
            image, record.label, sidecar = load_dataset_item(dataset, item.index)
            decoded = decode_object(image, side=settings.side, canvas_side=settings.canvas_for(item.key))
            if decoded.width * decoded.height > settings.max_pixels:
                raise BadImage(f"decompression bomb: {decoded.width}x{decoded.height} exceeds max_pixels")
            digest = hashing.exact_hash(decoded.rgb.tobytes())
    except BadImage as err:
        unclaimed = item.path is not None and not item.strict and str(err).startswith("not an image")
        return _status(record, "skipped" if unclaimed else "bad", "not an image file" if unclaimed else str(err)), None
    except Exception as err:  # noqa: BLE001 - a scan never stops on one item
        return _status(record, "bad", f"cannot read: {type(err).__name__}: {err}"), None
    record.format, record.width, record.height = decoded.format, decoded.width, decoded.height
    record.mode, record.bit_depth, record.notes = decoded.mode, decoded.bit_depth, decoded.notes
    record.exact_hash = digest
    return record, _Loaded(record, decoded, sidecar)


def _load_file(item: Item, settings: ScanSettings) -> tuple[Decoded, str, object]:
    if item.size is not None and item.size > settings.max_file_bytes:
        raise BadImage(f"file too large ({item.size:,} bytes > max_file_bytes {settings.max_file_bytes:,})")
    try:
        with open(item.path, "rb") as handle:
            if item.offset is not None:  # a member of a tar shard
                handle.seek(item.offset)
                data = handle.read(item.size)
            else:  # a buffer of the file's size, not of the limit's (a 2 GiB one costs more than the read)
                limit, size = settings.max_file_bytes, os.fstat(handle.fileno()).st_size
                data = handle.read(min(size, limit) + 1)
                if len(data) > size:  # it grew since: read on, to one byte past the limit
                    data += handle.read(limit + 1 - len(data))
    except OSError as err:
        raise BadImage(f"cannot read: {err.strerror or err}") from None
    if len(data) > settings.max_file_bytes:
        raise BadImage(f"file too large ({len(data):,}+ bytes > max_file_bytes {settings.max_file_bytes:,})")
    decoded = decode_bytes(data, name=item.key, max_pixels=settings.max_pixels, side=settings.side,
                           canvas_side=settings.canvas_for(item.key))
    return decoded, hashing.exact_hash(data), item.mask_path


def _measure(batch: list[_Loaded], settings: ScanSettings) -> None:
    from .sections import SECTIONS

    measured = []
    for one in batch:
        rgb = one.decoded.rgb
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        saliency = None if one.sidecar is None else _sidecar_map(one.sidecar)
        measured.append(Measured(one.record, one.decoded, rgb, gray, saliency))
    for section in SECTIONS:
        section.measure(measured, settings)


def pair_seeds(keys: list[str], pairs: int, seed: int) -> np.ndarray:
    """``(len(keys) * pairs,)`` int64 seeds: a function of each key, the pair index and ``seed`` only."""
    base = torch.tensor([_key_seed(k) for k in keys], dtype=torch.int64)
    rows = base.repeat_interleave(pairs) + torch.arange(pairs, dtype=torch.int64).repeat(len(keys))
    return derive_seeds(rows, seed).numpy()


def _sidecar_map(source) -> np.ndarray:
    """A sidecar mask/saliency as a float32 map in [0, 1]: a file path (image or ``.npy``) or an in-memory map."""
    from pathlib import Path

    from pairgen.saliency.sidecar import _read_array, to_saliency_map

    if isinstance(source, (str, bytes)) or hasattr(source, "__fspath__"):
        return to_saliency_map(_read_array(Path(source)), source=str(source)).numpy()
    return to_saliency_map(np.asarray(source) if not hasattr(source, "detach") else source).numpy()


def _status(record: ImageRecord, status: str, reason: str) -> ImageRecord:
    record.status, record.reason = status, reason
    return record


def _key_seed(key: str) -> int:
    digest = hashlib.blake2b(key.encode("utf-8", "surrogateescape"), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 3  # 61 bits: adding the pair index cannot overflow
