"""SimCLR in PyTorch Lightning with pairgen pairs, on Fashion-MNIST.

``sampler.collate`` is an ordinary ``collate_fn`` and the ``PairBatch`` it returns has
a ``to`` method, so Lightning moves it to the device like any batch. pairgen's seeds
follow torch's, so ``seed_everything`` makes the run replay (no ``worker_init_fn``
of pairgen's is needed). After training, a linear probe on frozen features reports
the test accuracy.

Needs ``pip install lightning`` (it skips with exit status 0 and a message when
Lightning is missing).

    python examples/lightning_simclr.py           # 2 epochs on 10000 images
    python examples/lightning_simclr.py --smoke   # 4 steps
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch.utils.data import DataLoader, TensorDataset

from common import SmallResNet, embed, linear_probe, projection_head, recipe_without_blur, to_model_input

from pairgen import PairSampler, losses
from pairgen.datasets import FASHION_MNIST, fashion_mnist


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=FASHION_MNIST)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--train-images", type=int, default=10000)
    parser.add_argument("--smoke", action="store_true", help="4 steps and a small probe, for the tests")
    args = parser.parse_args(argv)
    try:
        import lightning as L
    except ImportError:
        print("lightning is not installed (pip install lightning): skipped")
        return 0
    probe_images = 1000 if args.smoke else 5000

    class SimCLR(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.backbone = SmallResNet(width=16, stem_stride=2)
            self.head = projection_head(self.backbone.dim)

        def training_step(self, pairs, batch_index):
            z1, z2 = self.head(self.backbone(pairs.view1)), self.head(self.backbone(pairs.view2))
            loss = losses.info_nce(z1, z2, temperature=0.2)
            self.log("loss", loss, prog_bar=True)
            return loss

        def configure_optimizers(self):
            return torch.optim.AdamW(self.parameters(), lr=3e-3, weight_decay=1e-4)

    L.seed_everything(0, workers=True)
    try:
        images, labels = fashion_mnist("train", args.data, limit=max(args.train_images, probe_images))
        test_images, test_labels = fashion_mnist("test", args.data, limit=probe_images)
    except FileNotFoundError as error:
        print(error, file=sys.stderr)
        return 2
    train_set = TensorDataset(torch.from_numpy(images[: args.train_images]), torch.from_numpy(labels[: args.train_images]))
    sampler = PairSampler(recipe_without_blur("simclr", 28))      # seed drawn from torch's, set by seed_everything
    loader = DataLoader(train_set, batch_size=256, shuffle=True, drop_last=True, num_workers=1, collate_fn=sampler.collate)
    model = SimCLR()
    trainer = L.Trainer(
        max_epochs=args.epochs, max_steps=4 if args.smoke else -1, accelerator="cpu", devices=1,
        logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
    )
    trainer.fit(model, loader)

    mean, std = sampler.recipe.mean, sampler.recipe.std
    accuracy = linear_probe(
        embed(model.backbone, to_model_input(torch.from_numpy(images[:probe_images]), mean, std)), torch.from_numpy(labels[:probe_images]),
        embed(model.backbone, to_model_input(torch.from_numpy(test_images), mean, std)), torch.from_numpy(test_labels),
    )
    print(f"trained {trainer.global_step} steps, last loss {float(trainer.callback_metrics['loss']):.4f}; "
          f"linear probe accuracy {accuracy:.4f} ({probe_images} train / {probe_images} test images)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
