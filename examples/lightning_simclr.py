"""SimCLR in PyTorch Lightning with pairgen pairs, on Fashion-MNIST.

``pairgen.lightning.PairDataModule`` builds the loaders (``sampler.collate`` as their
``collate_fn``; the views rendered after Lightning moved the batch to the device) and
draws the sampler's seed after ``seed_everything``, so the run replays;
``PairStatistics`` logs each epoch's fallback rate. After training, a linear probe on
frozen features reports the test accuracy.

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
from torch.utils.data import TensorDataset

from common import SmallResNet, Timer, embed, linear_probe, projection_head, recipe_without_blur, set_threads, to_model_input

from pairgen import losses
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

    from pairgen.lightning import PairDataModule, PairStatistics

    timer = Timer()
    set_threads(num_workers=1)
    L.seed_everything(0, workers=True)
    try:
        images, labels = fashion_mnist("train", args.data, limit=max(args.train_images, probe_images))
        test_images, test_labels = fashion_mnist("test", args.data, limit=probe_images)
    except FileNotFoundError as error:
        print(error, file=sys.stderr)
        return 2
    train_set = TensorDataset(torch.from_numpy(images[: args.train_images]), torch.from_numpy(labels[: args.train_images]))
    # The sampler's seed is drawn from torch's generator in setup, after seed_everything.
    data = PairDataModule(train_set, recipe_without_blur("simclr", 28), batch_size=256, num_workers=1)
    statistics = PairStatistics()
    model = SimCLR()
    trainer = L.Trainer(
        max_epochs=args.epochs, max_steps=4 if args.smoke else -1, accelerator="cpu", devices=1,
        logger=False, enable_checkpointing=False, enable_progress_bar=True, enable_model_summary=False,
        callbacks=[statistics],
    )
    trainer.fit(model, datamodule=data)

    mean, std = data.sampler.recipe.mean, data.sampler.recipe.std
    accuracy = linear_probe(
        embed(model.backbone, to_model_input(torch.from_numpy(images[:probe_images]), mean, std)), torch.from_numpy(labels[:probe_images]),
        embed(model.backbone, to_model_input(torch.from_numpy(test_images), mean, std)), torch.from_numpy(test_labels),
    )
    print(f"trained {trainer.global_step} steps, last loss {float(trainer.callback_metrics['loss']):.4f}; "
          f"linear probe accuracy {accuracy:.4f} ({probe_images} train / {probe_images} test images)")
    fallback = statistics.history[-1]["pairs/fallback_rate"] if statistics.history else float("nan")
    print(f"done: {trainer.global_step} steps in {timer.seconds:.1f} s; crop fallback rate {fallback:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
