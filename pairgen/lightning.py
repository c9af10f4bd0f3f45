"""PyTorch Lightning integration: a DataModule that serves pairs, a callback that watches them.

:class:`PairDataModule` turns a dataset and a recipe into loaders with
``sampler.collate`` as their ``collate_fn``, renders the views after Lightning moved the
batch to the device (``on_after_batch_transfer``: batched on the GPU, or already done in
the workers on a CPU), draws the sampler's seed from torch's generator after
``seed_everything`` (mixed with the global rank, so ranks draw different views), and
leaves distributed sampling to Lightning (its ``use_distributed_sampler`` puts a
``DistributedSampler`` under the training loader when the world size is above 1).

:class:`PairStatistics` logs each training epoch's fallback rate (crops where the crop
sampler fell back to its deterministic crop) and, when the items bring masks or
saliency, the object-sharing rate (DESIGN.md, "Measuring pairs on real photos": the
share of pairs whose two views both show the object).

Needs ``pip install lightning``.

Example:
    >>> import lightning as L, torch
    >>> data = PairDataModule([torch.rand(3, 32, 32)] * 8, "simclr", size=16, batch_size=4, num_workers=0)
    >>> data.setup("fit")
    >>> pairs = data.on_after_batch_transfer(next(iter(data.train_dataloader())), 0)
    >>> pairs.view1.shape
    torch.Size([4, 3, 16, 16])
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

from pairgen.batch import ImageBatch, PairBatch
from pairgen.pair_sampler import PairSampler
from pairgen.random import derive_seeds
from pairgen.recipe import Recipe


class PairDataModule(L.LightningDataModule):
    """Loaders of positive pairs for a Lightning ``Trainer``.

    Args:
        train: the training dataset (items as :meth:`PairSampler.collate` takes them).
        recipe: a recipe name, YAML path, dict or :class:`~pairgen.recipe.Recipe`.
        val: an optional validation dataset (its pairs are drawn the same way, unshuffled).
        batch_size: items per batch (per rank under DDP).
        num_workers: DataLoader worker processes.
        size: output side of the global views (default: the recipe's).
        seed: the sampler's base seed; default drawn from torch's generator in ``setup``,
            so ``seed_everything`` fixes it.
        shuffle: shuffle the training items (under DDP, Lightning's ``DistributedSampler`` does).
        drop_last: drop the last incomplete training batch.
        pin_memory: as for ``DataLoader``.
        persistent_workers: as for ``DataLoader`` (only with ``num_workers > 0``).
        **sampler_options: more :class:`~pairgen.pair_sampler.PairSampler` arguments
            (``mode``, ``dtype``, ``saliency``, ``tv_tensors``...); ``device`` is the
            trainer's.
    """

    def __init__(
        self,
        train: Dataset | Sequence[Any],
        recipe: str | Path | dict | Recipe = "simclr",
        val: Dataset | Sequence[Any] | None = None,
        batch_size: int = 256,
        num_workers: int = 2,
        size: int | None = None,
        seed: int | None = None,
        shuffle: bool = True,
        drop_last: bool = True,
        pin_memory: bool = False,
        persistent_workers: bool = False,
        **sampler_options,
    ):
        super().__init__()
        self.train, self.val, self.recipe = train, val, recipe
        self.batch_size, self.num_workers, self.size, self.seed = batch_size, num_workers, size, seed
        self.shuffle, self.drop_last = shuffle, drop_last
        self.pin_memory, self.persistent_workers = pin_memory, persistent_workers and num_workers > 0
        self.sampler_options = sampler_options
        self.sampler: PairSampler | None = None

    def setup(self, stage: str | None = None) -> None:
        """Build the sampler on the trainer's device (once)."""
        if self.sampler is not None:
            return
        trainer = self.trainer
        device = trainer.strategy.root_device if trainer is not None else torch.device("cpu")
        rank = trainer.global_rank if trainer is not None else 0
        seed = self.seed if self.seed is not None else int(torch.randint(0, 1 << 62, (1,)))
        if rank > 0:
            seed = int(derive_seeds(torch.tensor([seed]), rank)[0])
        self.sampler = PairSampler(self.recipe, size=self.size, seed=seed, device=device, **self.sampler_options)

    def _loader(self, dataset, shuffle: bool, drop_last: bool) -> DataLoader:
        if self.sampler is None:
            self.setup()
        return DataLoader(dataset, batch_size=self.batch_size, shuffle=shuffle, drop_last=drop_last,
                          num_workers=self.num_workers, collate_fn=self.sampler.collate, pin_memory=self.pin_memory,
                          persistent_workers=self.persistent_workers)

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train, self.shuffle, self.drop_last)

    def val_dataloader(self) -> DataLoader | list:
        return [] if self.val is None else self._loader(self.val, False, False)

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """Render the views of a batch on its device (a no-op move for pairs made in workers)."""
        if isinstance(batch, (ImageBatch, PairBatch)):
            return self.sampler(batch)
        return batch


class PairStatistics(L.Callback):
    """Logs ``{prefix}fallback_rate`` and, where items bring masks or saliency,
    ``{prefix}object_sharing_rate`` at the end of every training epoch.

    Counts are summed over all ranks. ``history`` keeps one dict per epoch.

    Args:
        prefix: prefix of the logged names.
    """

    def __init__(self, prefix: str = "pairs/"):
        self.prefix = prefix
        self.history: list[dict[str, float]] = []
        self._counts: torch.Tensor | None = None

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self._counts = None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if not isinstance(batch, PairBatch):
            return
        device = batch.params[0].fallback_used.device
        fallback = sum(p.fallback_used.sum() for p in batch.params)
        crops = len(batch) * len(batch.params)
        shared = batch.object_shared
        counts = torch.stack([torch.as_tensor(fallback, device=device).float(), torch.tensor(float(crops), device=device),
                              shared.sum().float() if shared is not None else torch.zeros((), device=device),
                              torch.tensor(float(len(batch) if shared is not None else 0), device=device)])
        self._counts = counts if self._counts is None else self._counts + counts.to(self._counts.device)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        counts = self._counts if self._counts is not None else torch.zeros(4)
        counts = trainer.strategy.reduce(counts.to(pl_module.device), reduce_op="sum")
        fallback, crops, shared, pairs = counts.tolist()
        if crops == 0:
            return
        rates = {f"{self.prefix}fallback_rate": fallback / crops}
        if pairs > 0:
            rates[f"{self.prefix}object_sharing_rate"] = shared / pairs
        for name, value in rates.items():
            pl_module.log(name, value)
        self.history.append(rates)
