"""A held-out labelled centricity set: 247 photos from packages, never used to fit or choose a cue.

Usage: python benchmarks/heldout_photos.py OUT_DIR [--share /usr/share] [--foolbox DIR]
       python benchmarks/diagnose_verdicts.py OUT_DIR [--backbone efficientnet_lite0]

The shipped verdicts were fitted on photos-dev and the set ``benchmarks/packaged_photos.py``
writes, and their cues were chosen on both. This set judges them on photos they have not seen.
Its photos come from the same kinds of packages as photos-dev (Debian's ``gcompris-qt-data``,
``lomiri-wallpapers``, ``mate-backgrounds``, ``palapeli-data`` and PyPI's ``foolbox``): every
natural photo of the gcompris activities with photos (animals, monuments, the ``details``
backgrounds, the categorisation pictures), of the wallpapers and of foolbox's ImageNet
samples, less the ones in photos-dev and one copy of each identical pair (thumbnail
correlation above 0.9). The pairgen developers labelled all 300 with photos-dev's rule
(scene-centric: several objects, no single main one) from contact sheets, before any verdict
was computed on them (2026-12-03), and left 53 out as of ambiguous kind (paintings, textures,
landscapes, facades filling the frame, two separate objects); the labels, what each photo
shows and why one is left out are in ``heldout_photos.csv`` beside this script.

OUT_DIR gets the layout of photos-dev: ``images/NAME.jpg`` (longer side at most 512 px,
JPEG quality 92) and ``manifest.csv`` (``file``, ``package``, ``what``, ``scene_centric``).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import struct
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
from packaged_photos import save_photo, write_manifest

LABELS_CSV = Path(__file__).with_name("heldout_photos.csv")
#: Where each Debian package keeps the photos named in the CSV, under ``--share``.
PACKAGE_DIRS = {
    "gcompris-qt-data": "gcompris-qt/rcc",
    "lomiri-wallpapers": "backgrounds",
    "mate-backgrounds": "backgrounds/mate",
    "palapeli-data": "palapeli",
}


def read_rcc(path: Path) -> dict[str, bytes]:
    """Every file in a Qt binary resource (``.rcc``), by its resource path.

    The layout is the one Qt's ``qresource.cpp`` reads: a header (``qres``, version, offsets of
    the tree, the data and the names), a tree of 14-byte nodes (22 from version 2: a modification
    time follows), names as UTF-16 with a length and a hash, and data blocks each prefixed by
    their length; a zlib-compressed block (flag 1) also carries its uncompressed length.

    Raises:
        ValueError: naming the file when it is not a Qt resource or holds zstd blocks.
    """
    blob = path.read_bytes()
    if blob[:4] != b"qres":
        raise ValueError(f"{path}: not a Qt binary resource")
    version, tree, data, names = struct.unpack(">IIII", blob[4:20])
    node_size = 22 if version >= 2 else 14

    def name(offset: int) -> str:
        length = struct.unpack(">H", blob[names + offset:names + offset + 2])[0]
        return blob[names + offset + 6:names + offset + 6 + 2 * length].decode("utf-16-be")

    files: dict[str, bytes] = {}
    pending = [(0, "")]
    while pending:
        index, prefix = pending.pop()
        node = tree + index * node_size
        name_offset, flags = struct.unpack(">IH", blob[node:node + 6])
        path_here = prefix + "/" + name(name_offset) if index else ""
        if flags & 2:  # a directory: its children are consecutive nodes
            count, first = struct.unpack(">II", blob[node + 6:node + 14])
            pending += [(child, path_here) for child in range(first, first + count)]
            continue
        start = data + struct.unpack(">I", blob[node + 10:node + 14])[0]
        size = struct.unpack(">I", blob[start:start + 4])[0]
        content = blob[start + 4:start + 4 + size]
        if flags & 4:
            raise ValueError(f"{path}: {path_here} is zstd-compressed, which this reader does not decode")
        files[path_here] = zlib.decompress(content[4:]) if flags & 1 else content
    return files


def foolbox_dir() -> Path | None:
    """foolbox's package folder (its ``data/`` holds the ImageNet samples), found without importing it."""
    spec = importlib.util.find_spec("foolbox")
    return Path(next(iter(spec.submodule_search_locations))) if spec and spec.submodule_search_locations else None


def labelled_rows() -> list[dict[str, str]]:
    """The rows of ``heldout_photos.csv`` that carry a label (the 247 photos of the set)."""
    with open(LABELS_CSV, newline="", encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle) if row["scene_centric"]]


def photo_bytes(row: dict[str, str], share: Path, foolbox: Path | None, archives: dict) -> bytes:
    """The encoded file of one row, from its package.

    Raises:
        FileNotFoundError: naming the package and the file when it is not installed.
    """
    package, path = row["package"], row["path"]
    if package == "gcompris-qt-data":
        activity = path.split("/")[4]  # /gcompris/src/activities/<activity>/...
        rcc = share / PACKAGE_DIRS[package] / f"{activity}.rcc"
        if rcc not in archives:
            archives[rcc] = read_rcc(rcc) if rcc.is_file() else {}
        if path in archives[rcc]:
            return archives[rcc][path]
        where = f"{rcc}:{path}"
    else:
        root = foolbox if package == "foolbox" else share / PACKAGE_DIRS[package]
        file = root / path if root else None
        if file and file.is_file():
            return file.read_bytes()
        where = str(file or path)
    raise FileNotFoundError(f"{where}: missing (install the package {package})")


def write_set(out: Path, share: Path = Path("/usr/share"), foolbox: Path | None = None) -> Path:
    """Write the photos and ``manifest.csv`` to ``out``; returns the manifest's path."""
    foolbox = foolbox or foolbox_dir()
    (out / "images").mkdir(parents=True, exist_ok=True)
    archives: dict = {}
    rows = []
    for row in labelled_rows():
        bgr = cv2.imdecode(np.frombuffer(photo_bytes(row, share, foolbox, archives), np.uint8), cv2.IMREAD_COLOR)
        if bgr is None:
            raise FileNotFoundError(f"{row['package']}:{row['path']}: unreadable")
        save_photo(bgr, out / "images" / row["file"])
        rows.append({key: row[key] for key in ("file", "package", "what", "scene_centric")})
    return write_manifest(out, rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--share", type=Path, default=Path("/usr/share"), help="where the Debian packages are installed")
    parser.add_argument("--foolbox", type=Path, default=None, help="foolbox's package folder (default: the installed one)")
    args = parser.parse_args(argv)
    try:
        manifest = write_set(args.out, args.share, args.foolbox)
    except (FileNotFoundError, ValueError) as error:
        print(f"heldout_photos: {error}", file=sys.stderr)
        return 2
    rows = labelled_rows()
    print(f"wrote {manifest}: {len(rows)} photos, {sum(int(r['scene_centric']) for r in rows)} scene-centric")
    return 0


if __name__ == "__main__":
    sys.exit(main())
