"""ContrastiveCrop with its heatmap refresh during training.

Peng et al., "Crafting Better Contrastive Views for Siamese Representation
Learning", CVPR 2022: after ``warmup`` epochs of plain random crops, every
``every`` epochs the model being trained looks at every image; its summed
last-stage activations give a heatmap, and the box where the heatmap exceeds 0.1
of its maximum is where the next epochs' crops are centred (with Beta(0.6, 0.6)
centre suppression so that views still vary).

:class:`~pairgen.crops.box_refresh.HeatmapRefresh` keeps those heatmaps per
dataset index and adds them to the items; the ``ccrop`` recipe turns them into
boxes. Trained on real photos (scikit-image's and Debian's opencv-doc); after each
refresh it prints how much of the image the heatmap boxes cover. With the paper's
threshold of 0.1 a heatmap must be sharply peaked for its box to be smaller than the
image; try ``--threshold 0.5`` to see tighter boxes.

    python examples/contrastive_crop.py          # 40 epochs, refresh every 10 after 10
    python examples/contrastive_crop.py --smoke  # 3 epochs, refresh after 1 and 2
"""

from __future__ import annotations

import argparse
import sys

import torch
from torch.utils.data import DataLoader

from common import SmallResNet, Timer, progress, projection_head, real_photos, set_threads

from pairgen import PairSampler, load_recipe, losses
from pairgen.collate import collate_items
from pairgen.crops.box_refresh import HeatmapRefresh

SIZE = 64


def box_areas(sampler: PairSampler, items: list) -> torch.Tensor:
    """The share of its image that each item's ContrastiveCrop box covers (1 without a heatmap)."""
    batch = collate_items(items, sampler.max_side)
    boxes = sampler.views[0].crop.region_boxes(batch)
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) / batch.sizes.prod(1)


def describe(areas: torch.Tensor) -> str:
    return f"mean box area {float(areas.mean()):.2f} of the image, {int((areas < 0.9).sum())}/{len(areas)} boxes below 0.9"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=10, help="epochs of plain random crops")
    parser.add_argument("--every", type=int, default=10, help="refresh interval in epochs (loc_interval)")
    parser.add_argument("--threshold", type=float, default=0.1, help="heatmap threshold of the box (0.1 in the paper)")
    parser.add_argument("--smoke", action="store_true", help="3 epochs, refreshes after epochs 1 and 2")
    args = parser.parse_args(argv)
    if args.smoke:
        args.epochs, args.warmup, args.every = 3, 1, 1

    timer = Timer()
    set_threads(num_workers=1)
    torch.manual_seed(0)
    photos = list(real_photos().values())
    model = SmallResNet(width=16, stem_stride=2)
    head = projection_head(model.dim)
    # The refresh runs the backbone on whole images resized to SIZE, normalised as the views are.
    recipe = load_recipe("ccrop").to_dict()
    recipe["views"][0]["crop"]["threshold"] = args.threshold
    sampler = PairSampler(recipe, size=SIZE, seed=0)
    mean, std = torch.tensor(sampler.recipe.mean).view(1, 3, 1, 1), torch.tensor(sampler.recipe.std).view(1, 3, 1, 1)
    refresh = HeatmapRefresh(photos, layer="layer3", every=args.every, warmup=args.warmup, size=SIZE,
                             batch_size=32, preprocess=lambda x: (x - mean) / std)
    loader = DataLoader(refresh.dataset, batch_size=8, shuffle=True, drop_last=True, num_workers=1,
                        collate_fn=sampler.collate)      # not persistent: each epoch sees the latest heatmaps
    optimizer = torch.optim.AdamW([*model.parameters(), *head.parameters()], lr=1e-3)

    print(f"{len(photos)} photos; before any refresh: {describe(box_areas(sampler, list(refresh.dataset)))}")
    bar = progress(args.epochs * len(loader), "contrastive_crop")
    for epoch in range(1, args.epochs + 1):
        epoch_loss = 0.0
        for batch in loader:
            pairs = sampler(batch)
            loss = losses.info_nce(head(model(pairs.view1)), head(model(pairs.view2)), temperature=0.5)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            epoch_loss += loss.item() / len(loader)
            bar.update()
        if refresh.on_epoch_end(epoch, model, last_epoch=args.epochs):
            bar.write(f"epoch {epoch}: loss {epoch_loss:.4f}; heatmaps refreshed, "
                      f"{describe(box_areas(sampler, list(refresh.dataset)))}", file=sys.stdout)
        elif epoch % 10 == 0 or epoch == args.epochs:
            bar.write(f"epoch {epoch}: loss {epoch_loss:.4f}", file=sys.stdout)
    bar.close()
    print(f"done: {args.epochs} epochs ({args.epochs * len(loader)} steps) in {timer.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
