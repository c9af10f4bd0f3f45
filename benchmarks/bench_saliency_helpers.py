"""CPU time of boundary-contrast saliency's two hot helpers against the libraries they replace.

* ``rgb_to_lab`` (pairgen.saliency._maps) against ``kornia.color.rgb_to_lab`` and
  ``skimage.color.rgb2lab`` (per image, HWC);
* ``resize_maps``' whole-factor shrink against ``F.adaptive_avg_pool2d``;
* ``boundary_contrast`` at the two batches ``pairgen diagnose`` runs: 16 uint8 images of
  128 x 128 (training's saliency, work size 64) and of 64 x 64 (the centricity grid, no
  centre prior).

All on the same real photos (skimage's), one thread, interleaved round by round; the
median per call is reported with its ratio.

Usage:
    python benchmarks/bench_saliency_helpers.py [--repeats 7] [--calls 50]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import kornia
import numpy as np
import skimage.color
import torch
import torch.nn.functional as F
from skimage import data

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from machine import cpu_model

from pairgen.saliency import boundary_contrast
from pairgen.saliency._maps import resize_maps, rgb_to_lab


def _photos(side: int) -> torch.Tensor:
    """16 uint8 ``(3, side, side)`` area reductions of skimage's colour photos."""
    photos = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket(), data.immunohistochemistry()]
    small = [cv2.resize(photo, (side, side), interpolation=cv2.INTER_AREA) for photo in photos]
    return torch.from_numpy(np.stack([small[i % len(small)] for i in range(16)])).permute(0, 3, 1, 2).contiguous()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args()
    torch.set_num_threads(1)
    grid, canvas = _photos(64), _photos(128)
    rgb = grid.float() / 255.0
    hwc = [image.permute(1, 2, 0).numpy() / 255.0 for image in grid]
    floats = canvas.float()
    cases = {
        "Lab, 16 x 3 x 64 x 64": {
            "pairgen rgb_to_lab": lambda: rgb_to_lab(rgb),
            "kornia rgb_to_lab": lambda: kornia.color.rgb_to_lab(rgb),
            "skimage rgb2lab (per image)": lambda: [skimage.color.rgb2lab(image) for image in hwc],
        },
        "area shrink 128 -> 64, 16 x 3": {
            "pairgen resize_maps": lambda: resize_maps(floats, (64, 64)),
            "torch adaptive_avg_pool2d": lambda: F.adaptive_avg_pool2d(floats, (64, 64)),
        },
        "boundary_contrast, 16 x 128 x 128 uint8 (training)": {
            "pairgen": lambda: boundary_contrast(canvas),
        },
        "boundary_contrast, 16 x 64 x 64 uint8 (centricity)": {
            "pairgen": lambda: boundary_contrast(grid, size=64, centre_sigma=None),
        },
    }
    times = {name: {label: [] for label in runs} for name, runs in cases.items()}
    for _ in range(args.repeats):
        for name, runs in cases.items():
            for label, run in runs.items():
                run()
                start = time.perf_counter()
                for _ in range(args.calls):
                    run()
                times[name][label].append((time.perf_counter() - start) / args.calls * 1e3)
    print(f"CPU: {cpu_model()}, 1 thread, torch {torch.__version__}, kornia {kornia.__version__}; "
          f"median of {args.repeats} x {args.calls} calls")
    for name, runs in times.items():
        first = statistics.median(next(iter(runs.values())))
        print(f"\n{name}")
        for label, samples in runs.items():
            median = statistics.median(samples)
            print(f"  {label:30s} {median:8.3f} ms   {median / first:5.2f}x pairgen's time")


if __name__ == "__main__":
    main()
