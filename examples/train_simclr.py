"""SimCLR on Fashion-MNIST with pairgen pairs, judged by a linear probe.

Trains a small ResNet from scratch with three kinds of pairs and losses, then fits a
logistic regression on its frozen features and reports the test accuracy of each,
next to the same network left at its random initialisation:

* ``random``: no training (the floor a method must clearly beat);
* ``simclr``: SimCLR views (Chen et al., ICML 2020) and the NT-Xent loss (``losses.info_nce``);
* ``cast``: CAST's saliency-constrained crops (Selvaraju et al., CVPR 2021) with pairgen's
  built-in saliency, computed once per image and passed in the items as ``"saliency"``;
* ``simclr+dcl``: SimCLR views with the debiased loss (Chuang et al., NeurIPS 2020,
  ``losses.debiased_info_nce``, ``tau_plus`` 0.1: one class in ten).

The recipes are the built-in ones at 28 pixels without Gaussian blur, as SimCLR trains on
CIFAR-10: a 28-pixel image has no fine detail to blur away.

Usage (offline; Fashion-MNIST from the Debian package ``dataset-fashion-mnist``)::

    python examples/train_simclr.py             # full setting: 1.5 minutes on 2 idle CPU cores
    python examples/train_simclr.py --smoke     # a few steps each, under a minute
"""

from __future__ import annotations

import argparse
import resource
import sys
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from common import (SmallResNet, Timer, embed, linear_probe, progress, projection_head, recipe_without_blur, set_threads,
                    to_model_input)

from pairgen import PairSampler, load_recipe, losses
from pairgen.datasets import FASHION_MNIST, fashion_mnist
from pairgen.saliency import builtin_saliency

METHODS = ("random", "simclr", "cast", "simclr+dcl")


class FashionItems(Dataset):
    """Fashion-MNIST items as pairgen accepts them: a dict with the image, label and index,
    plus the saliency map when one is given (uint8 maps, one per image)."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, saliency: np.ndarray | None = None):
        self.images, self.labels, self.saliency = images, labels, saliency

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict:
        item = {"image": self.images[index], "label": int(self.labels[index]), "index": index}
        if self.saliency is not None:
            item["saliency"] = self.saliency[index]
        return item


def saliency_maps(images: np.ndarray, batch_size: int = 2000) -> np.ndarray:
    """pairgen's built-in saliency of every image, as uint8 maps (computed once, reused every epoch)."""
    maps = [
        builtin_saliency(torch.from_numpy(images[i : i + batch_size])[:, None])[:, 0]
        for i in range(0, len(images), batch_size)
    ]
    return (torch.cat(maps).clamp(0, 1) * 255).round().to(torch.uint8).numpy()


def train(method: str, dataset: FashionItems, args) -> tuple[SmallResNet, float]:
    """Train a fresh network with ``method``'s pairs and loss; returns it and the last epoch's mean loss."""
    torch.manual_seed(args.seed)
    model = SmallResNet(args.width, stem_stride=2)
    head = projection_head(model.dim)
    sampler = PairSampler(recipe_without_blur("cast" if method == "cast" else "simclr", 28), seed=args.seed)
    loader = DataLoader(
        dataset, batch_size=args.batch_size, shuffle=True, drop_last=True, num_workers=args.workers,
        collate_fn=sampler.collate, generator=torch.Generator().manual_seed(args.seed),
    )
    parameters = [*model.parameters(), *head.parameters()]
    optimizer = torch.optim.AdamW(parameters, lr=args.lr, weight_decay=1e-4)
    total = args.epochs * len(loader)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=total, pct_start=0.1)
    bar = progress(total, method)
    for epoch in range(args.epochs):
        epoch_loss = 0.0
        for pairs in loader:
            pairs = sampler(pairs)
            z1, z2 = head(model(pairs.view1)), head(model(pairs.view2))
            if method == "simclr+dcl":
                loss = losses.debiased_info_nce(z1, z2, tau_plus=args.tau_plus, temperature=args.temperature)
            else:
                loss = losses.info_nce(z1, z2, temperature=args.temperature)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            epoch_loss += loss.item() / len(loader)
            bar.update()
            bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
        print(f"  {method}: epoch {epoch + 1}/{args.epochs} loss {epoch_loss:.4f}", flush=True)
    bar.close()
    return model, epoch_loss


def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=FASHION_MNIST, help="folder with the Fashion-MNIST idx .gz files")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--train-images", type=int, default=20000, help="images trained on (first of the training set)")
    parser.add_argument("--probe-images", type=int, default=10000, help="training images the probe is fitted on")
    parser.add_argument("--test-images", type=int, default=10000, help="test images the probe is scored on")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--temperature", type=float, default=0.2)
    parser.add_argument("--tau-plus", type=float, default=0.1, help="class prior of the debiased loss")
    parser.add_argument("--width", type=int, default=16, help="channels of the first ResNet stage")
    parser.add_argument("--workers", type=int, default=1, help="DataLoader workers (they render the views)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="also write the result table (Markdown) here")
    parser.add_argument("--smoke", action="store_true", help="a tiny run for the tests: 1 epoch on 512 images")
    args = parser.parse_args(argv)
    if args.smoke:
        args.train_images, args.probe_images, args.test_images, args.epochs, args.batch_size = 512, 1000, 1000, 1, 128

    set_threads(args.workers)
    try:
        images, labels = fashion_mnist("train", args.data, limit=max(args.train_images, args.probe_images))
        test_images, test_labels = fashion_mnist("test", args.data, limit=args.test_images)
    except FileNotFoundError as error:
        print(error, file=sys.stderr)
        return 2
    recipe = load_recipe("simclr")
    probe_train = to_model_input(torch.from_numpy(images[: args.probe_images]), recipe.mean, recipe.std)
    probe_test = to_model_input(torch.from_numpy(test_images), recipe.mean, recipe.std)
    train_images, train_labels = images[: args.train_images], labels[: args.train_images]

    total = Timer()
    rows = []
    for method in args.methods:
        timer, cpu_start = Timer(), cpu_seconds()
        if method == "random":
            torch.manual_seed(args.seed)
            model, loss = SmallResNet(args.width, stem_stride=2), float("nan")
        else:
            saliency = saliency_maps(train_images) if method == "cast" else None
            model, loss = train(method, FashionItems(train_images, train_labels, saliency), args)
        accuracy = linear_probe(
            embed(model, probe_train), torch.from_numpy(labels[: args.probe_images]),
            embed(model, probe_test), torch.from_numpy(test_labels),
        )
        rows.append((method, accuracy, loss, timer.seconds, cpu_seconds() - cpu_start))
        print(f"{method}: linear probe accuracy {accuracy:.4f} ({timer.seconds:.0f} s)", flush=True)

    table = [
        f"Fashion-MNIST, {args.train_images} training images x {args.epochs} epochs, batch {args.batch_size}, "
        f"temperature {args.temperature}, SmallResNet width {args.width}; probe fitted on {args.probe_images} "
        f"training images, scored on {args.test_images} test images.",
        "",
        "| method | linear probe accuracy | final loss | wall (s) | CPU (s) |",
        "|---|---|---|---|---|",
        *[
            f"| {m} | {acc:.4f} | {'-' if loss != loss else f'{loss:.3f}'} | {wall:.0f} | {cpu:.0f} |"
            for m, acc, loss, wall, cpu in rows
        ],
        "",
        f"Total: {total.seconds:.0f} s wall, {cpu_seconds():.0f} s CPU (this process and its DataLoader workers), "
        f"{torch.get_num_threads()} torch threads.",
    ]
    print("\n".join(table))
    if args.out:
        args.out.write_text("\n".join(table) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
