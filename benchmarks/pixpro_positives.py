"""How many of PixPro's positive cell pairs ``PairBatch.correspondence`` gets wrong.

Usage: python benchmarks/pixpro_positives.py [--pairs 256]

For 256 ``simclr`` pairs of a 300 x 400 and a 200 x 500 photo (scikit-image's chelsea and
coffee), compares the positive mask (grid 7, ratio 0.7) with PixPro's rule (zdaxie/PixPro,
``regression_loss`` on ``RandomResizedCropCoord`` coordinates: per-axis normalised pixel
indices, a flip swapping x1 and x2) and with the pixel-space rule pairgen used before.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pairgen import PairSampler  # noqa: E402

GRID, RATIO = 7, 0.7


def pixpro_mask(params1, params2, width, height):
    """PixPro's positives ``(B, 49, 49)`` from the crop boxes and flips."""
    out = []
    for params in (params1, params2):
        x1, y1, x2, y2 = params.boxes.double().unbind(1)
        coord = torch.stack([x1 / (width - 1), y1 / (height - 1), (x2 - 1) / (width - 1), (y2 - 1) / (height - 1)], 1)
        coord[params.flip] = coord[params.flip][:, [2, 1, 0, 3]]
        bins = (coord[:, 2:] - coord[:, :2]) / GRID
        steps = torch.arange(GRID, dtype=torch.float64) + 0.5
        xs = coord[:, None, 0] + steps * bins[:, None, 0]
        ys = coord[:, None, 1] + steps * bins[:, None, 1]
        centres = torch.stack([xs[:, None, :].expand(-1, GRID, -1), ys[:, :, None].expand(-1, -1, GRID)], -1)
        out.append((centres.reshape(len(coord), -1, 2), bins.norm(dim=1)))
    (c1, d1), (c2, d2) = out
    return torch.cdist(c1, c2) / torch.maximum(d1, d2)[:, None, None] < RATIO


def pixel_space_mask(match, params1, params2):
    """The rule before: source-pixel distances over the larger pixel cell diagonal."""
    diagonal = [((p.boxes[:, 2:] - p.boxes[:, :2]) / GRID).norm(dim=1) for p in (params1, params2)]
    return torch.cdist(match.points1.double(), match.points2.double()) / torch.maximum(*diagonal)[:, None, None] < RATIO


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=256)
    args = parser.parse_args()
    torch.set_num_threads(1)
    from skimage import data

    photos = {"300 x 400 (chelsea)": data.chelsea()[:, :400], "200 x 500 (coffee)": data.coffee()[100:300, 50:550]}
    print("| photo (height x width) | PixPro positives | pixel-space rule wrong | correspondence wrong |")
    print("|---|---|---|---|")
    for name, photo in photos.items():
        photo = np.ascontiguousarray(photo)
        sampler = PairSampler("simclr", size=224, seed=0, mode="device")
        pairs = sampler(sampler.collate([photo] * args.pairs))
        match = pairs.correspondence(grid=GRID, pos_ratio=RATIO)
        reference = pixpro_mask(pairs.params1, pairs.params2, photo.shape[1], photo.shape[0])
        old = pixel_space_mask(match, pairs.params1, pairs.params2)
        total = int(reference.sum())
        print(f"| {name} | {total} | {100 * int((old != reference).sum()) / total:.1f}% | "
              f"{100 * int((match.positive != reference).sum()) / total:.2f}% |")


if __name__ == "__main__":
    main()
