"""Distributed SimCLR with global negatives: torchrun, gloo, CPU processes.

Each rank renders the pairs of its own share of the batch; ``negatives.gather``
concatenates every rank's embeddings (keeping gradients), so every anchor meets the
negatives of the whole global batch, as SimCLR trains on many devices. Each rank
computes the same global loss, and ``DistributedDataParallel`` averages the
gradients, which gives exactly the gradient of one process holding the whole batch.

Two details that matter in real runs:

* give every rank its own sampler seed (``seed + rank``): with one shared seed, all
  ranks would draw the same sequence of augmentation parameters;
* ``DistributedSampler`` pads the dataset by repeating items, so the same image can
  sit on two ranks at once. Gathering the dataset indices and passing
  ``negative_mask(indices=...)`` keeps an image from being its own negative.

    torchrun --standalone --nproc_per_node 2 examples/ddp_torchrun.py           # 2 epochs on 9999 images
    torchrun --standalone --nproc_per_node 2 examples/ddp_torchrun.py --smoke   # 3 steps
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from common import SmallResNet, embed, linear_probe, projection_head, recipe_without_blur, to_model_input

from pairgen import PairSampler, losses, negatives
from pairgen.datasets import FASHION_MNIST, fashion_mnist


class IndexedImages(Dataset):
    """Items that carry their dataset index, so that duplicates across ranks are recognised."""

    def __init__(self, images: np.ndarray):
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict:
        return {"image": self.images[index], "index": index}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=FASHION_MNIST)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--train-images", type=int, default=9999, help="odd on purpose: DistributedSampler pads")
    parser.add_argument("--batch-size", type=int, default=128, help="per rank")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="3 steps and a small probe, for the tests")
    args = parser.parse_args(argv)
    if "RANK" not in os.environ:
        print("run me with: torchrun --standalone --nproc_per_node 2 examples/ddp_torchrun.py", file=sys.stderr)
        return 2
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.set_num_threads(1)                                   # one core per process on a small machine
    torch.manual_seed(args.seed)                               # the same initial weights on every rank

    images, labels = fashion_mnist("train", args.data, limit=args.train_images)
    dataset = IndexedImages(images)
    sampler = PairSampler(recipe_without_blur("simclr", 28), seed=args.seed + rank)
    shards = DistributedSampler(dataset, shuffle=True, seed=args.seed)
    loader = DataLoader(dataset, batch_size=args.batch_size, sampler=shards, drop_last=True, collate_fn=sampler.collate)
    backbone = SmallResNet(width=16, stem_stride=2)
    model = DistributedDataParallel(torch.nn.Sequential(backbone, projection_head(backbone.dim)))
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)

    step, max_steps = 0, 3 if args.smoke else None
    for epoch in range(args.epochs):
        shards.set_epoch(epoch)
        for batch in loader:
            pairs = sampler(batch)
            z1 = negatives.gather(model(pairs.view1))          # (world * batch, D), gradients kept
            z2 = negatives.gather(model(pairs.view2))
            mask = negatives.negative_mask(indices=negatives.gather(pairs.index))
            loss = losses.info_nce(z1, z2, temperature=0.2, negative_mask=mask)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            spread = torch.tensor([loss.item(), -loss.item()])
            dist.all_reduce(spread, op=dist.ReduceOp.MAX)     # max and -min of the ranks' losses
            if rank == 0 and (step % 20 == 1 or step == max_steps):
                print(f"step {step}: global batch {len(z1)}, loss {loss.item():.4f} "
                      f"(ranks differ by {float(spread.sum()):.1e})", flush=True)
            if step == max_steps:
                break
        if step == max_steps:
            break

    if rank == 0:
        probe = 1000 if args.smoke else 5000
        test_images, test_labels = fashion_mnist("test", args.data, limit=probe)
        mean, std = sampler.recipe.mean, sampler.recipe.std
        accuracy = linear_probe(
            embed(backbone, to_model_input(torch.from_numpy(images[:probe]), mean, std)), torch.from_numpy(labels[:probe]),
            embed(backbone, to_model_input(torch.from_numpy(test_images), mean, std)), torch.from_numpy(test_labels),
        )
        print(f"{world} ranks, {step} steps; linear probe accuracy {accuracy:.4f} ({probe} train / {probe} test images)")
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
