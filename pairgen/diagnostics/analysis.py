"""Everything measured on one image: decode it, then hash, saliency, pairs and statistics.

:func:`analyse` is what a scan worker runs for each item. It never raises: any
failure becomes a ``"bad"`` record with the reason, and a file that does not claim
to be an image (no image extension) and is not one becomes ``"skipped"``.

Example:
    >>> from pairgen.diagnostics.inputs import Item
    >>> record = analyse(Item(key="cat.jpg", ordinal=0, path="cat.jpg"), ScanSettings())  # doctest: +SKIP
    >>> record.status, record.object_centric                                             # doctest: +SKIP
    ('ok', True)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import cv2
import numpy as np

from . import hashing
from .centricity import centricity_features
from .decode import ANALYSIS_SIDE, DEFAULT_MAX_PIXELS, BadImage, Decoded, decode_bytes, decode_object
from .inputs import Item, load_dataset_item
from .object_proxy import SaliencyFn, normalise_map, object_mask, opencv_spectral_residual, saliency_map
from .pair_quality import BoxSampler, pair_statistics, simclr_boxes
from .records import ImageRecord
from .shortcuts import shortcut_features

#: Version of the per-image analysis; cached records of another version are rescanned.
ANALYSIS_VERSION = 1
#: Files larger than this are not read (bad: "file too large").
DEFAULT_MAX_FILE_BYTES = 1 << 31


@dataclass(frozen=True)
class ScanSettings:
    """What a scan measures; records made under other settings are not reused from the cache.

    Attributes:
        side: longest side of the analysis image.
        max_pixels: decompression-bomb limit (width x height).
        max_file_bytes: files larger than this are bad without being read.
        saliency: the object proxy's saliency function (``object_proxy``).
        samplers: ``(name, box sampler)`` pairs whose pair quality is measured.
        pairs_per_image: Monte-Carlo pairs per image and sampler.
        seed: base seed of the Monte-Carlo pairs.
    """

    side: int = ANALYSIS_SIDE
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    saliency: SaliencyFn = opencv_spectral_residual
    samplers: tuple[tuple[str, BoxSampler], ...] = field(default=(("simclr", simclr_boxes),))
    pairs_per_image: int = 16
    seed: int = 0

    def __post_init__(self) -> None:
        if self.side < 8:
            raise ValueError(f"side must be >= 8, got {self.side}")
        if self.max_pixels < 1:
            raise ValueError(f"max_pixels must be >= 1, got {self.max_pixels}")
        if self.pairs_per_image < 1:
            raise ValueError(f"pairs_per_image must be >= 1, got {self.pairs_per_image}")
        names = [name for name, _ in self.samplers]
        if len(set(names)) != len(names):
            raise ValueError(f"sampler names must be unique, got {names}")

    def fingerprint(self) -> str:
        """A digest of everything that changes a record."""
        described = (ANALYSIS_VERSION, self.side, self.max_pixels, self.max_file_bytes, _name(self.saliency),
                     tuple((n, _name(s)) for n, s in self.samplers), self.pairs_per_image, self.seed)
        return hashlib.blake2b(repr(described).encode(), digest_size=8).hexdigest()


def analyse(item: Item, settings: ScanSettings, dataset=None) -> ImageRecord:
    """The record of one item; never raises."""
    record = ImageRecord(key=item.key, ordinal=item.ordinal, label=item.label,
                         file_size=item.size, mtime_ns=item.mtime_ns)
    if item.skip is not None:
        return _status(record, "skipped", item.skip)
    if item.problem is not None:
        return _status(record, "bad", item.problem)
    try:
        decoded, digest, mask_source = _load(item, settings, dataset, record)
    except BadImage as err:
        not_claimed = item.path is not None and not item.strict and str(err).startswith("not an image")
        return _status(record, "skipped" if not_claimed else "bad", "not an image file" if not_claimed else str(err))
    except Exception as err:  # noqa: BLE001 - a scan never stops on one item
        return _status(record, "bad", f"cannot read: {type(err).__name__}: {err}")
    try:
        _measure(record, decoded, digest, mask_source, item, settings)
    except Exception as err:  # noqa: BLE001
        return _status(record, "bad", f"analysis failed: {type(err).__name__}: {err}")
    return record


def _load(item: Item, settings: ScanSettings, dataset, record: ImageRecord) -> tuple[Decoded, str, object]:
    if item.path is not None:
        if item.size is not None and item.size > settings.max_file_bytes:
            raise BadImage(f"file too large ({item.size:,} bytes > max_file_bytes {settings.max_file_bytes:,})")
        try:
            with open(item.path, "rb") as handle:
                data = handle.read(settings.max_file_bytes + 1)
        except OSError as err:
            raise BadImage(f"cannot read: {err.strerror or err}") from None
        decoded = decode_bytes(data, name=item.path, max_pixels=settings.max_pixels, side=settings.side)
        return decoded, hashing.exact_hash(data), item.mask_path
    image, label, mask = load_dataset_item(dataset, item.index)
    record.label = label
    decoded = decode_object(image, side=settings.side)
    if decoded.width * decoded.height > settings.max_pixels:
        raise BadImage(f"decompression bomb: {decoded.width}x{decoded.height} exceeds max_pixels")
    return decoded, hashing.exact_hash(np.ascontiguousarray(decoded.rgb).tobytes()), mask


def _measure(record: ImageRecord, decoded: Decoded, digest: str, mask_source, item: Item,
             settings: ScanSettings) -> None:
    rgb = decoded.rgb
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    record.format, record.width, record.height = decoded.format, decoded.width, decoded.height
    record.mode, record.bit_depth, record.notes = decoded.mode, decoded.bit_depth, decoded.notes
    record.exact_hash = digest
    record.dhash = f"{hashing.dhash(gray):016x}"
    record.phash = f"{hashing.phash(gray):016x}"
    for name, value in shortcut_features(rgb, gray, decoded.gray_source).items():
        setattr(record, name, value)
    saliency = _sidecar_map(mask_source) if mask_source is not None else saliency_map(rgb, settings.saliency)
    mask = object_mask(saliency)
    features = centricity_features(saliency, mask)
    record.salient_fraction = features.salient_fraction
    record.centroid_x, record.centroid_y = features.centroid or (None, None)
    record.components, record.dominant_share = features.components, features.dominant_share
    record.object_centric = features.object_centric
    rng = np.random.default_rng([settings.seed, _key_seed(item.key)])
    for name, sampler in settings.samplers:
        rate, iou = pair_statistics(saliency, mask, decoded.width, decoded.height, sampler,
                                    settings.pairs_per_image, rng)
        record.pairs[name] = [rate, iou]


def _sidecar_map(source) -> np.ndarray:
    """A sidecar mask/saliency: a file path (8-bit image) or an in-memory map."""
    if isinstance(source, (str, bytes)) or hasattr(source, "__fspath__"):
        with open(source, "rb") as handle:
            source = decode_bytes(handle.read(), side=256).rgb[..., 0]
    else:
        source = decode_object(source, side=256).rgb[..., 0]
    return normalise_map(source)


def _status(record: ImageRecord, status: str, reason: str) -> ImageRecord:
    record.status, record.reason = status, reason
    return record


def _key_seed(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8", "surrogateescape"), digest_size=8).digest(), "big")


def _name(fn) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', type(fn).__name__)}"
