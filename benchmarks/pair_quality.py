"""Object-sharing rate and view diversity of every recipe on photos with object masks.

Usage: python benchmarks/pair_quality.py ../shared/data/photos-dev [--reps 50] [--size 224]

For each recipe, ``reps`` pairs per photo are sampled (params only; nothing is rendered)
(a) with the photo's mask given as its saliency map (and as its mask, for the object
crops) and (b) with pairgen's built-in saliency, and scored against the masks with the
measures of ../shared/DESIGN.md (pairgen.diagnostics.pair_quality): the object-sharing rate, its
failure rate (1 - sharing) and the mean IoU of the two views' boxes.
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

RECIPES = ("simclr", "cast", "ccrop", "objaware", "simccrop")


def load_photos(folder: Path) -> tuple[list[np.ndarray], list[np.ndarray], list[dict]]:
    rows = list(csv.DictReader(open(folder / "manifest.csv")))
    images = [np.asarray(Image.open(folder / "images" / r["file"]).convert("RGB")) for r in rows]
    masks = [np.asarray(Image.open(folder / "masks" / (Path(r["file"]).stem + ".png")).convert("L")) > 127 for r in rows]
    return images, masks, rows


def measure(recipe: str, items: list[dict], masks: list[np.ndarray], reps: int, size: int) -> dict:
    sampler = PairSampler(recipe, size=size, seed=0, mode="device")
    batch = collate_items(items, sampler.max_side)
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
            "fallback": torch.cat(fallbacks).mean().item(), "ms_per_pair": 1000 * seconds}


def builtin_maps(images: list[np.ndarray]) -> tuple[list[np.ndarray], float]:
    from pairgen.saliency import builtin_saliency

    maps, start = [], time.perf_counter()
    for image in images:
        tensor = torch.from_numpy(image.copy()).permute(2, 0, 1)[None]
        maps.append(builtin_saliency(tensor)[0, 0].numpy())
    return maps, (time.perf_counter() - start) / len(images)


def saliency_iou(maps: list[np.ndarray], masks: list[np.ndarray], threshold: float = 0.5) -> float:
    scores = []
    for heat, mask in zip(maps, masks):
        region = heat >= threshold * heat.max() if heat.max() > 0 else np.zeros_like(mask)
        scores.append((region & mask).sum() / max(1, (region | mask).sum()))
    return float(np.mean(scores))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=Path, help="folder with images/, masks/ and manifest.csv")
    parser.add_argument("--reps", type=int, default=50, help="pairs per photo and recipe (default 50)")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--recipes", nargs="*", default=[r for r in RECIPES if r in available_recipes()])
    args = parser.parse_args()
    torch.set_num_threads(2)
    images, masks, rows = load_photos(args.photos)
    given = [{"image": i, "saliency": m.astype(np.float32), "mask": m} for i, m in zip(images, masks)]
    maps, seconds = builtin_maps(images)
    builtin = [{"image": i, "saliency": s} for i, s in zip(images, maps)]
    print(f"{len(images)} photos from {args.photos}; {args.reps} pairs per photo and recipe; views {args.size} px")
    print(f"built-in saliency: {1000 * seconds:.1f} ms per image on CPU, IoU with the masks "
          f"(map >= 0.5 x max) {saliency_iou(maps, masks):.3f}\n")
    header = f"| {'recipe':<10} | {'saliency':<8} | {'sharing':>7} | {'failure':>7} | {'view IoU':>8} | {'fallback':>8} | {'ms/pair':>7} |"
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    results = {}
    for recipe in args.recipes:
        for mode, items in (("masks", given), ("built-in", builtin)):
            r = measure(recipe, items, masks, args.reps, args.size)
            results[recipe, mode] = r
            print(f"| {recipe:<10} | {mode:<8} | {r['share']:7.3f} | {r['failure']:7.3f} | {r['iou']:8.3f} | "
                  f"{r['fallback']:8.3f} | {r['ms_per_pair']:7.2f} |")
    if ("cast", "masks") in results and ("simclr", "masks") in results:
        base = results["simclr", "masks"]
        print("\ntargets (cast vs simclr):")
        for mode, limit in (("built-in", 0.5), ("masks", 0.25)):
            ratio = results["cast", mode]["failure"] / max(base["failure"], 1e-9)
            print(f"  failure ratio with {mode} saliency: {ratio:.2f} (target <= {limit})")
        for mode in ("masks", "built-in"):
            print(f"  view IoU with {mode}: cast {results['cast', mode]['iou']:.3f} <= simclr + 0.15 = {base['iou'] + 0.15:.3f}")


if __name__ == "__main__":
    main()
