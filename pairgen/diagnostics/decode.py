"""Robust decoding of one image into a small 8-bit RGB array for analysis.

Never raises anything but :class:`BadImage` for bad input, whose ``reason`` says what
is wrong in words: empty, not an image, truncated, a decompression bomb, zero size.
Readable images in awkward modes are converted by the core's
:func:`pairgen.collate.to_rgb_uint8`, the conversion training uses: CMYK, palette, 1-bit,
grayscale+alpha and RGBA (alpha dropped). High-bit-depth images (16-bit PNG/TIFF, 32-bit integer or float) are scaled
by their true bit depth (``65535`` for 16-bit), never clipped at 255 as a plain
``convert("L")`` does. An EXIF orientation is noted, not applied, as in training's loaders.

JPEGs are decoded at a reduced DCT scale (1/2, 1/4 or 1/8, as ``Image.draft`` picks it
for each side), which reads every byte (truncation is still caught) at a fraction of the
cost, and only once when the analysis image and the canvas share a scale. A plain 8-bit
JPEG (YCbCr, RGB or gray, one frame, the usual marker segments) is decoded by
libjpeg-turbo through ``simplejpeg``, straight into an array with no image object or copy
in between: the same pixels as Pillow's decoder (libjpeg-turbo in Pillow's wheels too;
checked in the tests) at 0.6-0.8 of the cost. Everything else goes to Pillow's path,
which decodes it or says why not: CMYK, multi-picture files, a file the strict decoder
stops on (a damaged segment, truncation), headers Pillow's parser may refuse, bombs.

The decompression-bomb check reads only the header: an image whose width x height
exceeds ``max_pixels`` (default: the size Pillow itself refuses, twice
``Image.MAX_IMAGE_PIXELS``) is bad, and is never decoded.

Example:
    >>> decoded = decode_bytes(open("cat.jpg", "rb").read(), name="cat.jpg")  # doctest: +SKIP
    >>> decoded.rgb.shape, decoded.mode                                      # doctest: +SKIP
    ((192, 256, 3), 'RGB')
"""

from __future__ import annotations

import io
import math
import os
import warnings
from dataclasses import dataclass, field

import cv2
import numpy as np
import simplejpeg
from PIL import Image, UnidentifiedImageError

#: Longest side of the analysis image, in pixels.
ANALYSIS_SIDE = 256
#: Images with more pixels are decompression bombs (Pillow raises above twice its limit).
DEFAULT_MAX_PIXELS = 2 * (Image.MAX_IMAGE_PIXELS or 89_478_485)
#: An image this small or smaller (shorter side, pixels) gets a note.
TINY_SIDE = 16
#: An aspect ratio (long side / short side) above this gets a note.
EXTREME_ASPECT = 10.0

_MODE_BITS = {"1": 1, "I;16": 16, "I;16B": 16, "I;16L": 16, "I;16N": 16, "I": 32, "F": 32}
_GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
_SAME_FORMAT = {"MPO": "JPEG"}  # Pillow names multi-picture JPEGs MPO; their extension is .jpg
_EXIF_ORIENTATION = 0x0112
#: simplejpeg's colour spaces that it decodes to 8-bit RGB as Pillow does, and Pillow's mode for each.
_TURBO_MODES = {"YCbCr": "RGB", "RGB": "RGB", "Gray": "L"}
_XMP = b"http://ns.adobe.com/xap/1.0/\x00"
#: Markers of a plain JPEG before its scan: SOF0-2, DHT, DQT, DRI, APP0-15, COM.
_PLAIN_MARKERS = frozenset([0xC0, 0xC1, 0xC2, 0xC4, 0xDB, 0xDD, 0xFE, *range(0xE0, 0xF0)])
#: The shortest APP payloads Pillow's parser reads without failing, by (marker, payload prefix).
_SHORTEST = {(0xE0, b"JFIF"): 7, (0xEE, b"Adobe"): 7, (0xE2, b"ICC_PROFILE\x00"): 14}


class BadImage(Exception):
    """An unreadable image; ``str(error)`` is the reason, for the report."""


@dataclass
class Decoded:
    """A decoded image: the analysis array and what the file held.

    Attributes:
        rgb: uint8 ``(h, w, 3)`` array, longest side at most the requested side.
        canvas: the same image with its longest side at most the requested canvas side
            (the samplers' canvas, for pair quality), or None when none was requested.
        format, width, height, mode, bit_depth: the source as stored.
        gray_source: the stored image has no colour channels.
        notes: conversions and oddities, in words.
    """

    rgb: np.ndarray
    format: str | None
    width: int
    height: int
    mode: str
    bit_depth: int
    gray_source: bool
    notes: list[str] = field(default_factory=list)
    canvas: np.ndarray | None = None

    @property
    def canvas_rgb(self) -> np.ndarray:
        """The canvas-sized image where one was decoded, else the analysis image."""
        return self.rgb if self.canvas is None else self.canvas


def decode_bytes(data: bytes, name: str = "", max_pixels: int = DEFAULT_MAX_PIXELS,
                 side: int = ANALYSIS_SIDE, canvas_side: int | None = None) -> Decoded:
    """Decode an encoded image file's bytes.

    The analysis array never depends on ``canvas_side``: a JPEG is DCT-scaled for
    ``side`` and, when a canvas is asked for, decoded a second time for it.

    Args:
        data: the file's content.
        name: the file name, used to check that the extension matches the content.
        max_pixels: width x height above which the image is a decompression bomb.
        side: longest side of the returned analysis array.
        canvas_side: longest side of ``Decoded.canvas``; None: no canvas.

    Raises:
        BadImage: with the reason, for any file that is not a readable image.
    """
    if len(data) == 0:
        raise BadImage("empty file (0 bytes)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # our own bomb check replaces Pillow's warning
        decoded = _turbo_jpeg(data, name, max_pixels, side, canvas_side) if data[:2] == b"\xff\xd8" else None
        return decoded or _pillow(data, name, max_pixels, side, canvas_side)


def _pillow(data: bytes, name: str, max_pixels: int, side: int, canvas_side: int | None) -> Decoded:
    """:func:`decode_bytes` by Pillow: any format, JPEGs at ``Image.draft``'s scales."""
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise BadImage(_not_an_image(data)) from None
    except Image.DecompressionBombError as err:
        raise BadImage(f"decompression bomb: {err}") from None
    except Exception as err:  # noqa: BLE001 - any decoder failure is a bad file
        raise BadImage(f"unreadable header: {_describe(err)}") from None
    width, height = image.size
    if width <= 0 or height <= 0:
        raise BadImage(f"zero-sized image ({width}x{height})")
    if width * height > max_pixels:
        raise BadImage(f"decompression bomb: {width}x{height} = {width * height:,} pixels "
                       f"exceeds the limit of {max_pixels:,} (max_pixels)")
    fmt, mode = image.format, image.mode
    bit_depth = _bit_depth(data, fmt, mode, image)
    notes = _extension_notes(name, fmt)
    try:
        if bit_depth > 8 and fmt != "JPEG":
            full = _high_depth_rgb(data, image, bit_depth)
            rgb, canvas = fit(full, side), None if canvas_side is None else fit(full, canvas_side)
            notes.append(f"{bit_depth}-bit, scaled to 8 bits by its full range")
        else:  # a JPEG is DCT-scaled for each side it is decoded for, once when the scales agree
            full = _eight_bit_rgb(image, notes, draft=side)
            rgb, canvas = fit(full, side), None
            if canvas_side is not None:
                if fmt == "JPEG" and _dct_factor((width, height), canvas_side) != _dct_factor((width, height), side):
                    full = _eight_bit_rgb(Image.open(io.BytesIO(data)), [], draft=canvas_side)
                canvas = fit(full, canvas_side)
    except BadImage:
        raise
    except Exception as err:  # noqa: BLE001
        raise BadImage(_decode_reason(err)) from None
    notes.extend(_orientation_notes(image))  # Pillow's warnings on a corrupt EXIF block stay silenced
    notes.extend(_shape_notes(width, height))
    return Decoded(rgb=rgb, format=fmt, width=width, height=height, mode=mode, bit_depth=bit_depth,
                   gray_source=mode in _GRAY_MODES, notes=notes, canvas=canvas)


def _turbo_jpeg(data: bytes, name: str, max_pixels: int, side: int, canvas_side: int | None) -> Decoded | None:
    """:func:`decode_bytes` of a plain 8-bit JPEG by libjpeg-turbo, or None where Pillow must decode it (all
    that is not plain, and bombs, whose reasons Pillow's path gives)."""
    try:
        height, width, colorspace, _ = simplejpeg.decode_jpeg_header(data)
    except ValueError:
        return None
    mode, segments = _TURBO_MODES.get(colorspace), _jpeg_segments(data)
    pillow_limit = Image.MAX_IMAGE_PIXELS
    if mode is None or segments is None or segments[2] or width * height > max_pixels or (
            pillow_limit and width * height > 2 * pillow_limit):
        return None  # segments[2]: an MPO file, which Pillow names and reads as such
    exif, xmp, _ = segments
    try:  # strict: a recoverable error (a damaged segment, truncation) raises, and Pillow decodes it instead
        factor = _dct_factor((width, height), side)
        full = _turbo_rgb(data, mode, (width, height), factor)
        rgb, canvas = fit(full, side), None
        if canvas_side is not None:
            if _dct_factor((width, height), canvas_side) != factor:
                full = _turbo_rgb(data, mode, (width, height), _dct_factor((width, height), canvas_side))
            canvas = fit(full, canvas_side)
    except ValueError:
        return None
    if xmp:  # Pillow also reads an orientation from XMP: let it
        try:
            orientation = _orientation_notes(Image.open(io.BytesIO(data)))
        except Exception:  # noqa: BLE001 - a header Pillow refuses: its own path says why
            return None
    else:
        orientation = [] if exif is None else _orientation_notes(exif)
    return Decoded(rgb=rgb, format="JPEG", width=width, height=height, mode=mode, bit_depth=8,
                   gray_source=mode == "L", notes=_extension_notes(name, "JPEG") + orientation + _shape_notes(width, height),
                   canvas=canvas)


def _turbo_rgb(data: bytes, mode: str, size: tuple[int, int], factor: int) -> np.ndarray:
    """uint8 RGB of a JPEG of ``size`` ``(w, h)`` decoded at scale ``1 / factor`` (1, 2, 4 or 8)."""
    kwargs = {} if factor == 1 else {"min_width": -(-size[0] // factor), "min_height": -(-size[1] // factor)}
    array = simplejpeg.decode_jpeg(data, colorspace="GRAY" if mode == "L" else "RGB", strict=True, **kwargs)
    return _core_rgb(array[..., 0] if mode == "L" else array)


def _jpeg_segments(data: bytes) -> tuple[bytes | None, bool, bool] | None:
    """The marker segments before the scan, as Pillow's JPEG plugin reads them: (the Exif payload, Pillow's
    concatenation of the APP1 Exif segments, or None; an XMP packet is there; an APP2 MPF segment is there).

    None for anything but a plain layout, which Pillow's own parser may refuse: bytes between segments,
    markers other than one 8-bit SOF0-2, DHT, DQT, DRI, APPn and COM, a segment past the end, JFIF, Adobe
    or ICC segments too short for Pillow, a quantisation table of the wrong length.
    """
    exif, xmp, multi_picture, frames, pos = None, False, False, 0, 2
    while True:
        if pos + 4 > len(data) or data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xDA:  # start of scan
            break
        end = pos + 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
        if marker not in _PLAIN_MARKERS or end < pos + 4 or end > len(data):
            return None
        payload = data[pos + 4:end]
        if marker in (0xC0, 0xC1, 0xC2):
            frames += 1
            if len(payload) < 6 or payload[0] != 8:
                return None
        elif marker == 0xDB and not _quantisation_tables_fit(payload):
            return None
        elif any(marker == m and payload.startswith(prefix) and len(payload) < n for (m, prefix), n in _SHORTEST.items()):
            return None
        elif marker == 0xE1 and payload.startswith(b"Exif\x00\x00"):
            exif = payload if exif is None else exif + payload[6:]
        xmp = xmp or (marker == 0xE1 and payload.startswith(_XMP))
        multi_picture = multi_picture or (marker == 0xE2 and payload.startswith(b"MPF\x00"))
        pos = end
    return (exif, xmp, multi_picture) if frames == 1 else None


def _quantisation_tables_fit(payload: bytes) -> bool:
    """Whether a DQT payload is whole tables (1 + 64 or 1 + 128 bytes each), as Pillow requires."""
    while payload:
        length = 1 + 64 * (1 if payload[0] // 16 == 0 else 2)
        if len(payload) < length:
            return False
        payload = payload[length:]
    return True


def decode_object(obj, side: int = ANALYSIS_SIDE, canvas_side: int | None = None) -> Decoded:
    """Decode an in-memory image: a PIL image, a numpy array or a tensor.

    Arrays are ``(H, W)``, ``(H, W, C)`` or, when the first axis has 1, 3 or 4 entries
    and the last does not, ``(C, H, W)``. uint8 is used as is, uint16 is scaled by
    65535, floats are taken to lie in [0, 1]. ``side`` and ``canvas_side`` as in
    :func:`decode_bytes` (nothing is DCT-scaled here: the object is already decoded).
    """
    if isinstance(obj, Image.Image):
        width, height = obj.size
        if width <= 0 or height <= 0:
            raise BadImage(f"zero-sized image ({width}x{height})")
        bit_depth = _MODE_BITS.get(obj.mode, 8)
        notes: list[str] = []
        full = _core_rgb(obj) if bit_depth > 8 else _eight_bit_rgb(obj, notes)
        return Decoded(fit(full, side), None, width, height, obj.mode, bit_depth, obj.mode in _GRAY_MODES,
                       notes + _shape_notes(width, height), _fit_or_none(full, canvas_side))
    if hasattr(obj, "detach") and hasattr(obj, "cpu"):
        obj = obj.detach().cpu().numpy()
    array = np.asarray(obj)
    if array.ndim == 3 and array.shape[0] in (1, 3, 4) and array.shape[-1] not in (1, 3, 4):
        array = np.moveaxis(array, 0, -1)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (1, 3, 4)):
        raise BadImage(f"not an image array: shape {array.shape}")
    height, width = array.shape[:2]
    if width == 0 or height == 0:
        raise BadImage(f"zero-sized image ({width}x{height})")
    if array.dtype.kind not in "uifb":
        raise BadImage(f"not an image array: dtype {array.dtype}")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise BadImage("image array holds NaN or infinity")
    bit_depth = {1: 8, 2: 16}.get(array.dtype.itemsize, 32) if array.dtype.kind in "ui" else 32
    gray = array.ndim == 2 or array.shape[-1] == 1
    mode = ("L" if gray else "RGB") if bit_depth == 8 else f"{array.dtype}"
    full = _core_rgb(np.ascontiguousarray(array))
    return Decoded(fit(full, side), None, width, height, mode, bit_depth, gray, _shape_notes(width, height),
                   _fit_or_none(full, canvas_side))


def _fit_or_none(array: np.ndarray, side: int | None) -> np.ndarray | None:
    return None if side is None else fit(array, side)


def _eight_bit_rgb(image: Image.Image, notes: list[str], draft: int | None = None) -> np.ndarray:
    """uint8 RGB of an 8-bit Pillow image; with ``draft``, a JPEG is decoded at 1/2, 1/4 or 1/8
    size (DCT scaling) as long as its longest side stays >= ``draft``."""
    mode = image.mode
    if draft is not None and image.format == "JPEG":
        image.draft(mode, _draft_size(image.size, draft))
    image.load()
    if mode == "CMYK":
        notes.append("CMYK converted to RGB")
    elif mode in ("RGBA", "LA", "La", "RGBa", "PA"):
        notes.append("alpha channel dropped")
    elif mode == "P":
        notes.append("palette converted to RGB")
    elif mode == "1":
        notes.append("1-bit converted to 8-bit")
    return _core_rgb(image)


def _dct_factor(size: tuple[int, int], side: int) -> int:
    """The reduction ``Image.draft`` picks for the request :func:`_draft_size` makes on an
    image of ``size``: the largest of 8, 4, 2, 1 not above ``min(width // w, height // h)``."""
    width, height = _draft_size(size, side)
    scale = min(size[0] // width, size[1] // height)
    return next(factor for factor in (8, 4, 2, 1) if scale >= factor)


def _orientation_notes(source: Image.Image | bytes) -> list[str]:
    """The note on an EXIF orientation, of an opened image or of an APP1 Exif payload."""
    try:
        if isinstance(source, Image.Image):
            exif = source.getexif()
        else:
            exif = Image.Exif()
            exif.load(source)
        orientation = exif.get(_EXIF_ORIENTATION)
    except Exception:  # noqa: BLE001 - a malformed EXIF block does not make the image unreadable
        return []
    if orientation in (None, 1):
        return []
    return [f"EXIF orientation {orientation} not applied (training's loaders ignore it too)"]


def _draft_size(size: tuple[int, int], side: int) -> tuple[int, int]:
    """The size to ask ``Image.draft`` for so that the longest side stays >= ``side``. Draft
    reduces by ``min(width // w, height // h)`` for a request ``(w, h)``, so a square request
    would stop a 4:3 image at full size; the image's own aspect, rounded down, does not."""
    scale = min(1.0, side / max(size))
    return max(1, math.floor(size[0] * scale)), max(1, math.floor(size[1] * scale))


def _high_depth_rgb(data: bytes, image: Image.Image, bit_depth: int) -> np.ndarray:
    """16-bit (or deeper) images at full size, read at full depth by OpenCV or Pillow and scaled to uint8 RGB."""
    array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if array is not None and array.ndim == 3:
        code = cv2.COLOR_BGRA2RGBA if array.shape[2] == 4 else cv2.COLOR_BGR2RGB
        array = cv2.cvtColor(array, code)
    if array is None:
        image.load()
        array = np.asarray(image)
    if array.dtype.kind in "ui" and array.dtype.itemsize > 2:
        array = array.astype(np.float64) / (2.0 ** min(bit_depth, 32) - 1)
    return _core_rgb(np.ascontiguousarray(array))


def _core_rgb(image) -> np.ndarray:
    """``pairgen.collate.to_rgb_uint8`` (the conversion training uses); its errors become :class:`BadImage`."""
    from pairgen.collate import to_rgb_uint8

    try:
        return to_rgb_uint8(image)
    except (TypeError, ValueError) as err:
        raise BadImage(f"not an image array: {err}") from None


def fit(array: np.ndarray, side: int) -> np.ndarray:
    """Shrink so that the longest side is at most ``side`` (never enlarges)."""
    height, width = array.shape[:2]
    longest = max(height, width)
    if longest <= side:
        return array
    scale = side / longest
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(array, size, interpolation=cv2.INTER_AREA)


def _bit_depth(data: bytes, fmt: str | None, mode: str, image: Image.Image) -> int:
    if fmt == "PNG" and len(data) > 25:
        return data[24]  # IHDR bit depth per channel: 1, 2, 4, 8 or 16
    if fmt == "TIFF":
        bits = getattr(image, "tag_v2", {}).get(258)
        if bits:
            return int(bits[0] if isinstance(bits, tuple) else bits)
    return _MODE_BITS.get(mode, 8)


def _extension_notes(name: str, fmt: str | None) -> list[str]:
    extension = os.path.splitext(name)[1].lower()
    if not extension or fmt is None:
        return []
    expected = Image.registered_extensions().get(extension)
    if _SAME_FORMAT.get(fmt, fmt) != _SAME_FORMAT.get(expected, expected):
        return [f"extension {extension} but the content is {fmt}"]
    return []


def _shape_notes(width: int, height: int) -> list[str]:
    notes = []
    if min(width, height) <= TINY_SIDE:
        notes.append(f"tiny ({width}x{height})")
    aspect = max(width, height) / min(width, height)
    if aspect > EXTREME_ASPECT:
        notes.append(f"extreme aspect ratio ({width}x{height})")
    return notes


def _not_an_image(data: bytes) -> str:
    head = data[:512]
    printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in head)
    kind = "text" if printable > 0.95 * len(head) else "data"
    return f"not an image: unrecognised content ({kind}, {len(data):,} bytes)"


def _decode_reason(err: Exception) -> str:
    text = str(err)
    if "truncated" in text.lower() or isinstance(err, EOFError):
        return f"truncated file: {text or type(err).__name__}"
    return f"cannot decode: {_describe(err)}"


def _describe(err: Exception) -> str:
    return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
