"""Object-sharing rate and view diversity of every recipe on photos with object masks.

Usage: python benchmarks/pair_quality.py ../shared/data/photos-dev [--reps 200] [--size 224]
       [--recipes simclr cast shared_object]

For each recipe, ``reps`` pairs per photo are sampled (params only; nothing is rendered;
seed 0) (a) with the photo's mask given as its saliency map (and as its mask, for the
object crops) and (b) with the saliency the sampler computes itself (pairgen's built-in
saliency, ``PairSampler.saliency_maps``), and scored against the masks with the measures
of ../shared/DESIGN.md (pairgen.diagnostics.pair_quality): the object-sharing rate, its
failure rate (1 - sharing), the mean IoU of the two views' boxes, the share of crops
touching the image border and the share of pairs with a fallback crop.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from pairgen import PairSampler, available_recipes
from pairgen.collate import collate_items
from pairgen.diagnostics.pair_quality import pair_statistics

RECIPES = ("simclr", "cast", "shared_object", "ccrop", "objaware", "simccrop")


def load_photos(folder: Path) -> tuple[list[np.ndarray], list[np.ndarray], list[dict]]:
    rows = list(csv.DictReader(open(folder / "manifest.csv")))
    images = [np.asarray(Image.open(folder / "images" / r["file"]).convert("RGB")) for r in rows]
    masks = [np.asarray(Image.open(folder / "masks" / (Path(r["file"]).stem + ".png")).convert("L")) > 127 for r in rows]
    return images, masks, rows


def measure(recipe: str, items: list[dict], masks: list[np.ndarray], reps: int, size: int) -> dict:
    sampler = PairSampler(recipe, size=size, seed=0, mode="device")
    batch = collate_items(items, sampler.max_side)
    if batch.needs_saliency and sampler.recipe.needs_saliency:  # built-in maps, once (they do not depend on seeds)
        batch = batch.with_saliency(sampler.saliency_maps(batch))
    boxes, fallbacks = [], []
    start = time.perf_counter()
    for _ in range(reps):
        params = sampler.sample(batch, sampler.next_seeds(len(items)))
        boxes.append(torch.stack([params[0].boxes, params[1].boxes], 1))
        fallbacks.append((params[0].fallback_used | params[1].fallback_used).double())
    seconds = (time.perf_counter() - start) / (reps * len(items))
    pairs = torch.stack(boxes, 1).double().numpy()  # (images, reps, 2, 4)
    stats = [pair_statistics(m, m.shape[1], m.shape[0], p) for m, p in zip(masks, pairs)]
    share = float(np.mean([rate for rate, _ in stats]))
    return {"share": share, "failure": 1 - share, "iou": float(np.mean([iou for _, iou in stats])),
            "border": border_share(pairs, masks), "fallback": torch.cat(fallbacks).mean().item(),
            "ms_per_pair": 1000 * seconds}


def border_share(pairs: np.ndarray, masks: list[np.ndarray]) -> float:
    """Share of crops (both views) with a side on the image border (within half a pixel)."""
    touching = []
    for image_pairs, mask in zip(pairs, masks):
        height, width = mask.shape
        b = image_pairs.reshape(-1, 4)
        touching.append((b[:, 0] <= 0.5) | (b[:, 1] <= 0.5) | (b[:, 2] >= width - 0.5) | (b[:, 3] >= height - 0.5))
    return float(np.concatenate(touching).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=Path, help="folder with images/, masks/ and manifest.csv")
    parser.add_argument("--reps", type=int, default=200, help="pairs per photo and recipe (default 200)")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--recipes", nargs="*", default=[r for r in RECIPES if r in available_recipes()])
    args = parser.parse_args()
    torch.set_num_threads(2)
    images, masks, rows = load_photos(args.photos)
    given = [{"image": i, "saliency": m.astype(np.float32), "mask": m} for i, m in zip(images, masks)]
    own = [{"image": i} for i in images]
    print(f"{len(images)} photos from {args.photos}; {args.reps} pairs per photo and recipe (seed 0); views {args.size} px")
    header = (f"| {'recipe':<13} | {'saliency':<8} | {'sharing':>7} | {'failure':>7} | {'view IoU':>8} | "
              f"{'border':>6} | {'fallback':>8} | {'ms/pair':>7} |")
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    results = {}
    for recipe in args.recipes:
        needs = PairSampler(recipe).recipe.needs_saliency
        for mode, items in (("masks", given), ("built-in", own)) if needs else (("-", own),):
            r = measure(recipe, items, masks, args.reps, args.size)
            results[recipe, mode] = r
            print(f"| {recipe:<13} | {mode:<8} | {r['share']:7.3f} | {r['failure']:7.3f} | {r['iou']:8.3f} | "
                  f"{r['border']:6.3f} | {r['fallback']:8.3f} | {r['ms_per_pair']:7.2f} |")
    base = results.get(("simclr", "-"))
    if base is not None:
        print("\nagainst simclr (failure ratio; IoU and border-touch differences):")
        for (recipe, mode), r in results.items():
            if recipe != "simclr":
                print(f"  {recipe:<13} {mode:<8} failure x{r['failure'] / max(base['failure'], 1e-9):.2f}  "
                      f"IoU {r['iou'] - base['iou']:+.3f}  border {r['border'] - base['border']:+.3f}")


if __name__ == "__main__":
    main()
