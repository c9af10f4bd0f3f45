"""How much the diagnose analysis image's sharpness depends on the photo's stored size, by JPEG reduction.

Usage: python benchmarks/analysis_scaling.py [--sizes 320 400 480 511 512 600 700 800]

Each source photo of at least the largest size (opencv-doc's and scikit-image's, as in
``bench_diagnose.py``) is stored at every size (Lanczos, JPEG quality 90) and reduced to the
256-px analysis image three ways: decoded whole and area-resized (exact), decoded at the
1/2, 1/4 or 1/8 DCT scale ``Image.draft`` picks and then area-resized
(``pairgen.diagnostics.decode.decode_bytes`` itself), and decoded at the smallest of libjpeg-turbo's M/8
scales that keeps 256 px and then area-resized (faster for photos under 512 px). The
sharpness is the report's blur statistic (variance of the Laplacian). Printed: per
reduction, the mean over photos of the standard deviation of log sharpness across sizes
(0 would be a sharpness that does not depend on the stored size) and the median ratio
to the exact reduction at each size.
"""

from __future__ import annotations

import argparse
import io

import cv2
import numpy as np
import simplejpeg
from bench_diagnose import source_photos
from PIL import Image

from pairgen.diagnostics.decode import decode_bytes, fit
from pairgen.diagnostics.shortcuts import shortcut_features


def sharpness(rgb: np.ndarray) -> float:
    return shortcut_features(rgb, cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), False)["blur"]


def reductions(data: bytes, side: int = 256) -> dict[str, np.ndarray]:
    height, width, _, _ = simplejpeg.decode_jpeg_header(data)
    eighths = {} if max(width, height) <= side else {"min_width": side} if width >= height else {"min_height": side}
    return {"exact": fit(simplejpeg.decode_jpeg(data), side),
            "draft (pairgen)": decode_bytes(data, side=side).rgb,
            "M/8": fit(simplejpeg.decode_jpeg(data, **eighths), side)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[320, 400, 480, 511, 512, 600, 700, 800])
    args = parser.parse_args()
    photos = [p for p in source_photos() if max(p.shape[:2]) >= max(args.sizes)]
    values: dict[str, list[list[float]]] = {}
    for photo in photos:
        rows: dict[str, list[float]] = {}
        for size in args.sizes:
            h, w = photo.shape[:2]
            scale = size / max(h, w)
            image = Image.fromarray(photo).resize((round(w * scale), round(h * scale)), Image.Resampling.LANCZOS)
            buffer = io.BytesIO()
            image.save(buffer, format="JPEG", quality=90)
            for name, rgb in reductions(buffer.getvalue()).items():
                rows.setdefault(name, []).append(sharpness(rgb))
        for name, row in rows.items():
            values.setdefault(name, []).append(row)
    print(f"{len(photos)} photos of at least {max(args.sizes)} px; sizes {args.sizes}")
    exact = np.log(np.array(values["exact"]))
    for name, rows in values.items():
        logs = np.log(np.array(rows))
        ratios = np.round(np.median(np.exp(logs - exact), axis=0), 2).tolist()
        print(f"{name:16s} sd of log sharpness across sizes {logs.std(axis=1).mean():.3f}; ratio to exact by size {ratios}")


if __name__ == "__main__":
    main()
