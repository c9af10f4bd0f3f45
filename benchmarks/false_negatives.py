"""In-batch false-negative rate on Fashion-MNIST: random batches vs GroupBatchSampler.

A false negative is a pair of different items in one batch that share the true
class; the rate is their share among all (anchor, other item) pairs of the
batches of one epoch over the 60000 training images. The sampler spreads either
the labels themselves or k-means cluster ids computed with the labels hidden
(k-means on the top-50 PCA components of the pixels). A second table shows the
other remedy, masking same-cluster pairs out of the negatives
(``negative_mask(clusters=...)``): how many false negatives it removes and how
many true negatives it loses.

Reads the Debian package ``dataset-fashion-mnist`` (idx/gz files) directly.

Usage:
    python benchmarks/false_negatives.py [--data /usr/share/datasets/fashion-mnist] [--epochs 3]
"""

from __future__ import annotations

import argparse
import gzip
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pairgen import negatives  # noqa: E402


def read_idx(path: Path) -> np.ndarray:
    """An idx file (the MNIST format), gzip-compressed."""
    with gzip.open(path) as f:
        raw = f.read()
    n_dims = raw[3]
    dims = np.frombuffer(raw[4 : 4 + 4 * n_dims], dtype=">u4").astype(int)
    return np.frombuffer(raw[4 + 4 * n_dims :], dtype=np.uint8).reshape(dims)


def false_negative_rate(batches: list[torch.Tensor], labels: torch.Tensor, n_classes: int) -> float:
    same = pairs = 0
    for batch in batches:
        counts = torch.bincount(labels[batch], minlength=n_classes)
        same += int((counts * (counts - 1)).sum())
        pairs += len(batch) * (len(batch) - 1)
    return same / pairs


def even_spread_rate(batch_sizes: list[int], n_classes: int) -> float:
    """The least false-negative rate of batches of these sizes: classes as even as possible in each."""
    same = pairs = 0
    for size in batch_sizes:
        counts = torch.full((n_classes,), size // n_classes) + (torch.arange(n_classes) < size % n_classes)
        same += int((counts * (counts - 1)).sum())
        pairs += size * (size - 1)
    return same / pairs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/usr/share/datasets/fashion-mnist"))
    parser.add_argument("--epochs", type=int, default=3, help="epochs averaged per cell")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[8, 32, 128, 512])
    args = parser.parse_args(argv)
    images_path = args.data / "train-images-idx3-ubyte.gz"
    if not images_path.exists():
        print(f"{images_path} not found: apt-get install dataset-fashion-mnist", file=sys.stderr)
        return 1
    images = torch.from_numpy(read_idx(images_path).reshape(-1, 784).astype(np.float32) / 255)
    labels = torch.from_numpy(read_idx(args.data / "train-labels-idx1-ubyte.gz").astype(np.int64))
    n_classes = int(labels.max()) + 1

    start = time.perf_counter()
    torch.manual_seed(0)  # pca_lowrank's random sketch
    centred = images - images.mean(0)
    _, _, components = torch.pca_lowrank(centred, q=50, center=False)
    embeddings = centred @ components
    groupings = {"labels": labels}
    for k in (10, 100):
        result = negatives.kmeans(embeddings, k, generator=torch.Generator().manual_seed(0))
        groupings[f"k-means k={k}"] = result.labels
        purity = sum(int(torch.bincount(labels[result.labels == c]).max()) for c in result.labels.unique()) / len(labels)
        print(f"k-means k={k} on PCA-50: purity {purity:.3f}, {result.n_iter} iterations, {time.perf_counter() - start:.1f} s")

    print(f"\nIn-batch false-negative rate (% of negative pairs sharing the class), {len(labels)} images, "
          f"mean of {args.epochs} epochs")
    header = ["batch size", "random", *[f"sampler: {name}" for name in groupings], "floor"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for batch_size in args.batch_sizes:
        row = [str(batch_size)]
        rates = []
        for epoch in range(args.epochs):
            order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(epoch))
            rates.append(false_negative_rate(list(order.split(batch_size)), labels, n_classes))
        row.append(f"{100 * np.mean(rates):.2f}")
        for groups in groupings.values():
            sampler = negatives.GroupBatchSampler(groups, batch_size, seed=0)
            rates = []
            for epoch in range(args.epochs):
                sampler.set_epoch(epoch)
                rates.append(false_negative_rate([torch.tensor(b) for b in sampler], labels, n_classes))
            row.append(f"{100 * np.mean(rates):.2f}")
        sizes = [len(b) for b in negatives.GroupBatchSampler(labels, batch_size)]
        floor = even_spread_rate(sizes, n_classes)
        row.append(f"{100 * floor:.2f}")
        print("| " + " | ".join(row) + " |")

    print("\nMasking same-cluster pairs out of the negatives (random batches of 512):")
    print("| mask | false negatives removed | true negatives lost |")
    print("|---|---|---|")
    batches = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0)).split(512)
    for name, groups in groupings.items():
        removed = false_total = lost = true_total = 0
        for batch in batches:
            same_class = negatives.positive_mask(labels=labels[batch], n_views=1)
            itself = torch.eye(len(batch), dtype=torch.bool)
            kept = negatives.negative_mask(clusters=groups[batch], n_views=1)
            true_neg = ~same_class & ~itself
            removed += int((same_class & ~kept).sum())
            false_total += int(same_class.sum())
            lost += int((true_neg & ~kept).sum())
            true_total += int(true_neg.sum())
        print(f"| {name} | {100 * removed / false_total:.1f}% | {100 * lost / true_total:.1f}% |")
    print(f"\ntotal {time.perf_counter() - start:.1f} s, torch {torch.__version__}, {torch.get_num_threads()} threads")
    return 0


if __name__ == "__main__":
    sys.exit(main())
