"""CPU time of the built-in saliency's hot helpers against the libraries they replace.

* ``rgb_to_lab`` (pairgen.saliency._maps) against ``kornia.color.rgb_to_lab`` and
  ``skimage.color.rgb2lab`` (per image, HWC);
* ``resize_maps``' whole-factor shrink against ``F.adaptive_avg_pool2d``;
* ``boundary_contrast`` at the two batches ``pairgen diagnose`` runs: 16 uint8 images of
  128 x 128 (training's saliency, work size 64) and of 64 x 64 (the centricity grid, no
  centre prior);
* ``batch_saliency``'s way back onto a 512-px canvas of 32 photos: a fresh canvas from
  ``pairgen.batch.host_maps`` (numpy's memory, on huge pages) against ``torch.empty``'s,
  each touched after ``malloc_trim(0)``, as in a process whose heap holds no free 32 MiB
  (the scan's workers; whether glibc's heap has one depends on what ran before);
  ``maps_onto_canvas`` (OpenCV's bilinear resize written in place) against
  ``F.interpolate`` plus a copy; and the whole
  ``batch_saliency`` call.

All on the same real photos (skimage's), one thread, interleaved round by round; the
median per call is reported with its ratio and the minor page faults per call (fresh
pages the kernel had to map).

Usage:
    python benchmarks/bench_saliency_helpers.py [--repeats 7] [--calls 50]
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import resource
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

from pairgen.batch import host_maps
from pairgen.collate import collate_items
from pairgen.saliency import batch_saliency, boundary_contrast
from pairgen.saliency._maps import resize_maps, rgb_to_lab
from pairgen.saliency.batch import maps_onto_canvas


def _colour_photos() -> list[np.ndarray]:
    return [getattr(data, name)() for name in ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry")]


def _photos(side: int) -> torch.Tensor:
    """16 uint8 ``(3, side, side)`` area reductions of skimage's colour photos."""
    photos = _colour_photos()
    small = [cv2.resize(photo, (side, side), interpolation=cv2.INTER_AREA) for photo in photos]
    return torch.from_numpy(np.stack([small[i % len(small)] for i in range(16)])).permute(0, 3, 1, 2).contiguous()


def _canvas_batch():
    """32 crops of skimage's photos (longest side 400-512) collated on a 512-px canvas, and 128-px maps."""
    photos = _colour_photos()
    rng = np.random.default_rng(0)
    items = []
    for i in range(32):
        photo = photos[i % len(photos)]
        h, w = photo.shape[:2]
        crop = photo[: int(h * rng.uniform(0.6, 1.0)), : int(w * rng.uniform(0.6, 1.0))]
        scale = rng.uniform(400, 512) / max(crop.shape[:2])
        items.append(cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA))
    return collate_items(items, 512), torch.rand(32, 1, 128, 128)


def _trimmed(make):
    """``make`` run after glibc returns its free heap to the kernel (fresh pages for the canvas)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))

    def run():
        libc.malloc_trim(0)
        return make()
    return run


def _back_by_torch(batch, maps: torch.Tensor) -> torch.Tensor:
    out = torch.empty(tuple(batch.images[:, :1].shape))
    for i, (h, w) in enumerate(batch.host_extents()):
        out[i:i + 1, :, :h, :w] = F.interpolate(maps[i:i + 1], size=(h, w), mode="bilinear", align_corners=False)
        out[i, :, h:], out[i, :, :h, w:] = 0.0, 0.0
    return out


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
    batch, maps = _canvas_batch()
    shape = tuple(batch.images[:, :1].shape)
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
        "a fresh 32 x 1 x 512 x 512 float32 canvas, zeroed, after malloc_trim": {
            "pairgen host_maps (numpy's)": _trimmed(lambda: host_maps(shape).zero_()),
            "torch.empty": _trimmed(lambda: torch.empty(shape).zero_()),
        },
        "32 maps 128 px -> their extents on the canvas": {
            "pairgen maps_onto_canvas": lambda: maps_onto_canvas(maps, batch.host_extents(), shape[-2:]),
            "F.interpolate + copy": lambda: _back_by_torch(batch, maps),
        },
        "batch_saliency, 32 photos on a 512-px canvas": {
            "pairgen": lambda: batch_saliency(batch),
        },
    }
    times = {name: {label: [] for label in runs} for name, runs in cases.items()}
    faults = {name: {label: 0 for label in runs} for name, runs in cases.items()}
    for _ in range(args.repeats):
        for name, runs in cases.items():
            for label, run in runs.items():
                run()
                before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
                start = time.perf_counter()
                for _ in range(args.calls):
                    run()
                times[name][label].append((time.perf_counter() - start) / args.calls * 1e3)
                faults[name][label] += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    print(f"CPU: {cpu_model()}, 1 thread, torch {torch.__version__}, kornia {kornia.__version__}; "
          f"median of {args.repeats} x {args.calls} calls")
    for name, runs in times.items():
        first = statistics.median(next(iter(runs.values())))
        print(f"\n{name}")
        for label, samples in runs.items():
            median = statistics.median(samples)
            per_call = faults[name][label] / (args.repeats * args.calls)
            print(f"  {label:30s} {median:8.3f} ms   {median / first:5.2f}x pairgen's time   {per_call:7.0f} faults")


if __name__ == "__main__":
    main()
