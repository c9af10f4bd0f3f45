"""pairgen.lightning: the DataModule and the pair statistics callback under a CPU Trainer."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest
import torch
from torch import nn

L = pytest.importorskip("lightning")

from pairgen import PairBatch  # noqa: E402
from pairgen.lightning import PairDataModule, PairStatistics  # noqa: E402


def items(n=12, side=32):
    """Squares with a bright object and its mask; the object sits in a corner of half the images."""
    out = []
    for i in range(n):
        image = np.full((side, side, 3), 40, np.uint8)
        mask = np.zeros((side, side), np.uint8)
        y, x = (2, 2) if i % 2 else (10, 10)
        image[y : y + 10, x : x + 10] = 230
        mask[y : y + 10, x : x + 10] = 1
        out.append({"image": image, "mask": mask, "index": i})
    return out


class Recorder(L.LightningModule):
    """A linear model on the views' means that records what each step saw."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 2)
        self.seen: list[PairBatch] = []

    def training_step(self, pairs, batch_index):
        assert isinstance(pairs, PairBatch)
        self.seen.append(pairs)
        z1, z2 = self.linear(pairs.view1.mean((2, 3))), self.linear(pairs.view2.mean((2, 3)))
        return (z1 - z2).square().mean()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


class Dump(L.Callback):
    """Saves the indices each rank trained on."""

    def __init__(self, folder):
        self.folder = folder

    def on_train_epoch_end(self, trainer, module):
        torch.save(torch.cat([b.index for b in module.seen]), self.folder / f"rank{trainer.global_rank}.pt")


def fit(data, epochs=2, callbacks=()):
    model = Recorder()
    trainer = L.Trainer(max_epochs=epochs, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, callbacks=list(callbacks))
    trainer.fit(model, datamodule=data)
    return model, trainer


def test_trainer_gets_pairs_and_the_callback_logs_each_epoch():
    stats = PairStatistics()
    data = PairDataModule(items(), "simclr", size=16, batch_size=4, num_workers=0)
    L.seed_everything(0)
    model, trainer = fit(data, epochs=2, callbacks=[stats])
    assert len(model.seen) == 6 and len(stats.history) == 2
    # an independent recount of what the module saw, epoch by epoch (3 steps each)
    for epoch, logged in enumerate(stats.history):
        batches = model.seen[3 * epoch : 3 * epoch + 3]
        shared = torch.cat([b.object_shared for b in batches])
        assert logged["pairs/object_sharing_rate"] == pytest.approx(float(shared.float().mean()))
        fallback = torch.cat([p.fallback_used for b in batches for p in b.params])
        assert logged["pairs/fallback_rate"] == pytest.approx(float(fallback.float().mean()))
    assert trainer.callback_metrics["pairs/object_sharing_rate"] == pytest.approx(stats.history[-1]["pairs/object_sharing_rate"])
    # the masks came through, per view
    assert model.seen[0].masks[0].shape == (4, 1, 16, 16)


def test_seed_everything_replays_and_rank_changes_the_seed():
    def first_seeds(seed):
        L.seed_everything(seed)
        data = PairDataModule(items(8), "simclr", size=16, batch_size=4, num_workers=1)
        model, _ = fit(data, epochs=1)
        return torch.cat([b.seeds for b in model.seen]), torch.cat([b.index for b in model.seen])

    (s1, i1), (s2, i2), (s3, _) = first_seeds(0), first_seeds(0), first_seeds(1)
    assert torch.equal(s1, s2) and torch.equal(i1, i2) and not torch.equal(s1, s3)

    class Rank:
        def __init__(self, rank):
            self.global_rank, self.strategy = rank, type("S", (), {"root_device": torch.device("cpu")})()

    seeds = []
    for rank in (0, 1):
        data = PairDataModule(items(4), "simclr", size=16, seed=5, num_workers=0)
        data.trainer = Rank(rank)
        data.setup("fit")
        seeds.append(data.sampler.seed)
    assert seeds[0] == 5 and seeds[1] != 5


def test_device_mode_renders_after_the_transfer():
    data = PairDataModule(items(8), "simclr", size=16, batch_size=4, num_workers=0, mode="device")
    data.setup("fit")
    batch = next(iter(data.train_dataloader()))
    assert not isinstance(batch, PairBatch)             # a uint8 canvas until the device stage
    pairs = data.on_after_batch_transfer(batch, 0)
    assert isinstance(pairs, PairBatch) and pairs.view1.shape == (4, 3, 16, 16)
    assert data.val_dataloader() == []


@pytest.mark.slow
def test_ddp_ranks_see_disjoint_items(tmp_path):
    # Two CPU processes: Lightning's own DistributedSampler splits the items between the ranks.
    L.seed_everything(0)
    data = PairDataModule(items(16), "simclr", size=16, batch_size=4, num_workers=0)
    trainer = L.Trainer(max_epochs=1, accelerator="cpu", devices=2, strategy="ddp_spawn", logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        callbacks=[Dump(tmp_path), PairStatistics()])
    trainer.fit(Recorder(), datamodule=data)
    first, second = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    assert len(first) == len(second) == 8
    assert sorted(torch.cat([first, second]).tolist()) == list(range(16))


def test_docstring_examples_run():
    result = doctest.testmod(importlib.import_module("pairgen.lightning"), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
