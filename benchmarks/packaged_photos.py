"""A second labelled centricity set, built from photos that installed packages ship.

Usage: python benchmarks/packaged_photos.py OUT_DIR [--opencv-photos DIR]
       python benchmarks/diagnose_verdicts.py ../shared/data/photos-dev OUT_DIR [--backbone efficientnet_lite0]

photos-dev (31 photos) has 3 scene-centric photos, too few to calibrate or to check a verdict
on. This set adds natural photos of Debian's ``opencv-doc`` and of scikit-image, none of them
in photos-dev, labelled by the pairgen developers with photos-dev's rule (scene-centric:
several objects, no single main one); the shipped verdicts are fitted on both sets. Photos of ambiguous kind (a facade filling the frame, a painting, textures, lab and
medical images, drawings, renders, calibration boards) are left out, and of near-identical
pairs (``leuvenA``/``leuvenB``) only one is kept. ``vtest.avi`` contributes one frame.

OUT_DIR gets the layout of photos-dev: ``images/NAME.jpg`` (longer side at most 512 px,
JPEG quality 92) and ``manifest.csv`` (``file``, ``source``, ``what``, ``scene_centric``).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import cv2
import numpy as np

OPENCV_PHOTOS = Path("/usr/share/doc/opencv-doc/examples/data")

#: ``name -> (scene_centric, what the photo shows)``; ``sk_`` names are scikit-image's samples.
LABELS = {
    "aero1.jpg": (1, "aerial view of a town"),
    "board.jpg": (1, "circuit board, many components"),
    "box_in_scene.png": (1, "several boxes and objects on a table"),
    "fruits.jpg": (1, "several fruits, none main"),
    "leuvenA.jpg": (1, "street with houses"),
    "rubberwhale1.png": (1, "several toys and fabrics"),
    "smarties.png": (1, "scattered sweets"),
    "stuff.jpg": (1, "a few small objects on a desk"),
    "vtest.avi": (1, "pedestrians on a square (frame 200)"),
    "sk_hubble_deep_field": (1, "many galaxies"),
    "apple.jpg": (0, "an apple"),
    "baboon.jpg": (0, "a baboon's face"),
    "box.png": (0, "one box"),
    "chicky_512.png": (0, "a dog"),
    "ela_original.jpg": (0, "a notebook"),
    "home.jpg": (0, "a building against the sky"),
    "licenseplate_motion.jpg": (0, "the back of a car"),
    "orange.jpg": (0, "an orange"),
    "sk_camera": (0, "a cameraman"),
    "sk_chelsea": (0, "a cat"),
    "sk_clock": (0, "a clock"),
    "sk_coffee": (0, "a cup of coffee"),
    "sk_rocket": (0, "a rocket on its pad"),
}
MAX_SIDE = 512
VIDEO_FRAME = 200


def read_photo(name: str, opencv_root: Path) -> np.ndarray:
    """BGR uint8 pixels of one photo of :data:`LABELS`.

    Raises:
        FileNotFoundError: naming the file when it is missing or unreadable.
    """
    if name.startswith("sk_"):
        from skimage import data

        rgb = getattr(data, name[3:])()
        rgb = np.repeat(rgb[..., None], 3, axis=2) if rgb.ndim == 2 else rgb[..., :3]
        return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)
    path = opencv_root / name
    if name.endswith(".avi"):
        capture = cv2.VideoCapture(str(path))
        capture.set(cv2.CAP_PROP_POS_FRAMES, VIDEO_FRAME)
        ok, bgr = capture.read()
        capture.release()
        bgr = bgr if ok else None
    else:
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(f"{path}: missing or unreadable (Debian package opencv-doc)")
    return bgr


def save_photo(bgr: np.ndarray, path: Path) -> None:
    """Write BGR pixels as photos-dev stores them: longer side at most ``MAX_SIDE`` (area
    resampling), JPEG quality 92."""
    scale = MAX_SIDE / max(bgr.shape[:2])
    if scale < 1:
        bgr = cv2.resize(bgr, (round(bgr.shape[1] * scale), round(bgr.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(path), bgr, [cv2.IMWRITE_JPEG_QUALITY, 92])


def write_manifest(out: Path, rows: list[dict]) -> Path:
    """Write ``rows`` (one per photo, ``file`` first) as ``out/manifest.csv``; returns its path."""
    manifest = out / "manifest.csv"
    with open(manifest, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return manifest


def write_set(out: Path, opencv_root: Path = OPENCV_PHOTOS) -> Path:
    """Write the photos and ``manifest.csv`` to ``out``; returns the manifest's path."""
    (out / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    for name, (scene, what) in LABELS.items():
        file = Path(name).stem + ".jpg"
        save_photo(read_photo(name, opencv_root), out / "images" / file)
        rows.append({"file": file, "source": "scikit-image" if name.startswith("sk_") else "opencv-doc",
                     "what": what, "scene_centric": scene})
    return write_manifest(out, rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--opencv-photos", type=Path, default=OPENCV_PHOTOS)
    args = parser.parse_args(argv)
    try:
        manifest = write_set(args.out, args.opencv_photos)
    except FileNotFoundError as error:
        print(f"packaged_photos: {error}", file=sys.stderr)
        return 2
    scene = sum(s for s, _ in LABELS.values())
    print(f"wrote {manifest}: {len(LABELS)} photos, {scene} scene-centric")
    return 0


if __name__ == "__main__":
    sys.exit(main())
