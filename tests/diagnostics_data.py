"""Folders of real photos and of every kind of bad or awkward file, for the diagnostics tests."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from skimage import data as skdata

#: skimage's photos (public domain / CC0), by name (``cat`` is ``chelsea`` again, so left out).
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry", "retina", "camera",
          "coins", "moon", "grass", "gravel", "brick", "clock")


def photo(name: str) -> np.ndarray:
    """An RGB uint8 skimage photo."""
    image = getattr(skdata, name)()
    return image[..., :3] if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)


def jpeg_bytes(rgb: np.ndarray, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
            + chunk(b"IEND", b""))


#: 16-bit gray ramp: the true mean brightness is 0.5 (clipping at 255 would read ~1.0).
RAMP16 = np.tile(np.linspace(0, 65535, 256).round().astype(np.uint16), (64, 1))


def build_bad_folder(root: Path) -> dict[str, str]:
    """One file of every kind; returns ``{relative path: expected status}`` (ok / bad / skipped)."""
    root.mkdir(parents=True, exist_ok=True)
    chelsea = photo("chelsea")
    expected = {}

    def write(name: str, content: bytes, status: str) -> None:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        expected[name] = status

    good = jpeg_bytes(chelsea)
    write("good.jpg", good, "ok")
    write("truncated.jpg", good[: len(good) // 2], "bad")
    write("empty.jpg", b"", "bad")
    write("text.jpg", b"this is not an image, just some words\n" * 20, "bad")
    write("png_named.jpg", png_bytes(Image.fromarray(photo("coffee"))), "ok")
    write("cmyk.jpg", _save(Image.fromarray(chelsea).convert("CMYK"), "JPEG"), "ok")
    write("exif_rotated.jpg", exif_rotated_jpeg(chelsea), "ok")
    write("gray16.png", png_bytes(Image.fromarray(RAMP16)), "ok")
    ok, rgb16 = cv2.imencode(".png", np.dstack([RAMP16] * 3))
    write("rgb16.png", rgb16.tobytes(), "ok")
    rgba = Image.fromarray(photo("astronaut")).convert("RGBA")
    rgba.putalpha(128)
    write("rgba.png", png_bytes(rgba), "ok")
    write("palette.png", png_bytes(Image.fromarray(chelsea).convert("P", palette=Image.Palette.ADAPTIVE)), "ok")
    write("onebit.png", png_bytes(Image.fromarray(chelsea).convert("1")), "ok")
    write("onepixel.png", png_bytes(Image.new("RGB", (1, 1), (200, 10, 10))), "ok")
    write("tall.png", png_bytes(Image.fromarray(np.tile(np.arange(2000, dtype=np.uint8)[:, None] % 251, (1, 1)))),
          "ok")
    write("bomb.png", bomb_png(), "bad")
    write(".hidden.jpg", good, "skipped")
    write("README.txt", b"notes about the dataset\n", "skipped")
    os.symlink("loop.jpg", root / "loop.jpg")
    expected["loop.jpg"] = "bad"
    (root / "sub").mkdir()
    os.symlink("..", root / "sub" / "back")
    expected["sub/back"] = "bad"
    os.mkfifo(root / "pipe.jpg")
    expected["pipe.jpg"] = "bad"
    return expected


def exif_rotated_jpeg(rgb: np.ndarray, orientation: int = 6) -> bytes:
    """A JPEG whose EXIF says to rotate it for display (6: 90 degrees clockwise)."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=90, exif=exif)
    return buffer.getvalue()


def _save(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()
