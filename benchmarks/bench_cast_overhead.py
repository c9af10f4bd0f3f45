"""What saliency-constrained sampling adds to the SimCLR pipeline on the CPU.

Usage: python benchmarks/bench_cast_overhead.py [--batch 64] [--repeats 7]

Renders batches of 256-px photos (with saliency maps given) to 224-px views with the
``simclr`` recipe and with the same recipe whose crop is CAST's, in one process on
one thread (as a DataLoader worker), and prints the time per batch of both and the
added fraction (target: at most 15%). The built-in saliency's cost per image is
printed separately.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from PIL import Image

from pairgen import PairSampler, load_recipe
from pairgen.preview import sample_photos
from pairgen.saliency import builtin_saliency


def best_time(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(1)
    photos = [np.asarray(Image.fromarray(p).resize((256, 256))) for p in sample_photos().values()]
    images = [photos[i % len(photos)] for i in range(args.batch)]
    maps = builtin_saliency(torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2))[:, 0].numpy()
    items = [{"image": image, "saliency": m} for image, m in zip(images, maps)]
    simclr = load_recipe("simclr").to_dict()
    cast = load_recipe("simclr").to_dict()
    cast["name"] = "simclr-cast"
    cast["views"][0]["crop"] = load_recipe("cast").views[0].crop.to_dict()
    base = best_time(lambda: PairSampler(simclr, seed=0, mode="worker").collate(items), args.repeats)
    constrained = best_time(lambda: PairSampler(cast, seed=0, mode="worker").collate(items), args.repeats)
    one = torch.from_numpy(images[0]).permute(2, 0, 1)[None]
    saliency = best_time(lambda: builtin_saliency(one), args.repeats)
    print(f"batch {args.batch}, 256 px -> 224 px, one thread, best of {args.repeats}")
    print(f"simclr crops:       {1000 * base:7.1f} ms per batch")
    print(f"CAST crops:         {1000 * constrained:7.1f} ms per batch")
    print(f"added by CAST:      {100 * (constrained / base - 1):7.1f} % (target <= 15 %)")
    print(f"built-in saliency:  {1000 * saliency:7.1f} ms per 256-px image (computed once per image, or batched on the GPU)")


if __name__ == "__main__":
    main()
