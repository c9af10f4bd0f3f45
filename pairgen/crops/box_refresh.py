"""ContrastiveCrop's box refresh: heatmaps from the model being trained, every k epochs.

Peng et al. (CVPR 2022) train with plain random resized crops for ``warmup``
epochs, then every ``every`` epochs (``loc_interval``) run the backbone over the
whole dataset, sum its last-stage activations, and use the box where that heatmap
exceeds 0.1 of its maximum. :class:`HeatmapRefresh` keeps those heatmaps (small,
uint8) per dataset index and adds them to the items as ``"saliency"``, which the
``ccrop`` recipe's sampler turns into boxes.

Example:
    >>> refresh = HeatmapRefresh(dataset, layer="layer4", every=20, warmup=20)
    >>> loader = DataLoader(refresh.dataset, collate_fn=sampler.collate, ...)
    >>> for epoch in range(1, epochs + 1):
    ...     train_one_epoch(loader)
    ...     refresh.on_epoch_end(epoch, model.backbone)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from pairgen.collate import collate_items
from pairgen.ops.normalize import IMAGENET_MEAN, IMAGENET_STD, normalize
from pairgen.ops.resized_crop import resized_crop
from pairgen.saliency.gradcam import activation_heatmap


class _WithHeatmaps(Dataset):
    def __init__(self, refresh: "HeatmapRefresh"):
        self.refresh = refresh

    def __len__(self) -> int:
        return len(self.refresh.source)

    def __getitem__(self, index: int) -> Any:
        item = self.refresh.source[index]
        heatmap = self.refresh.heatmaps.get(index)
        if heatmap is None:
            return item
        item = dict(item) if isinstance(item, dict) else {"image": item[0], "label": item[1]} if isinstance(item, tuple) else {"image": item}
        item["saliency"] = heatmap
        return item


class HeatmapRefresh:
    """Per-item model heatmaps for ContrastiveCrop, refreshed during training.

    Args:
        dataset: the training set (items as :class:`~pairgen.PairSampler` accepts them).
        layer: name (or module) of the backbone's last stage, e.g. ``"layer4"``.
        every: refresh interval in epochs (the paper's ``loc_interval``).
        warmup: epochs of plain random crops before the first refresh.
        size: side the images are resized to for the backbone (224 in the paper).
        batch_size: images per forward pass.
        stored: side of the stored uint8 heatmaps (``stored**2`` bytes per item);
            ``collate`` resizes them to each image.
        preprocess: ``fn(float images in [0, 1]) -> model input``; default ImageNet
            normalisation.

    ``refresh.dataset`` is the dataset to train on. With DataLoader workers, keep
    ``persistent_workers=False`` (the default) so that each epoch's workers see the
    latest heatmaps.
    """

    def __init__(
        self,
        dataset: Dataset,
        layer: str | nn.Module,
        every: int = 20,
        warmup: int = 20,
        size: int = 224,
        batch_size: int = 64,
        stored: int = 32,
        preprocess: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ):
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        if warmup < 0:
            raise ValueError(f"warmup must be >= 0, got {warmup}")
        self.source, self.layer, self.every, self.warmup = dataset, layer, every, warmup
        self.size, self.batch_size, self.stored = size, batch_size, stored
        self.preprocess = preprocess or (lambda x: normalize(x, IMAGENET_MEAN, IMAGENET_STD))
        self.heatmaps: dict[int, np.ndarray] = {}
        self.dataset = _WithHeatmaps(self)

    def due(self, epoch: int) -> bool:
        """Whether the boxes refresh after (1-based) ``epoch``, as in the paper's code."""
        return epoch >= self.warmup and epoch % self.every == 0

    def on_epoch_end(self, epoch: int, model: nn.Module, last_epoch: int | None = None) -> bool:
        """Refresh the heatmaps if ``epoch`` is due (never after the last epoch); returns whether it did."""
        if not self.due(epoch) or epoch == last_epoch:
            return False
        self.refresh(model)
        return True

    @torch.no_grad()
    def refresh(self, model: nn.Module) -> None:
        """Compute every item's heatmap with ``model`` (in eval mode, then restored)."""
        device = next(model.parameters()).device
        was_training = model.training
        model.eval()
        try:
            for start in range(0, len(self.source), self.batch_size):
                indices = range(start, min(start + self.batch_size, len(self.source)))
                batch = collate_items([self.source[i] for i in indices], max_side=4 * self.size)
                valid = (batch.sizes.double() * batch.scales.double()).round()
                boxes = torch.cat([torch.zeros_like(valid), valid.flip(1)], 1).float()
                images = resized_crop(batch.images, boxes, (self.size, self.size)).float().div_(255)
                maps = activation_heatmap(model, self.preprocess(images.to(device)), self.layer)
                maps = F.interpolate(maps, size=(self.stored, self.stored), mode="area")
                maps = (maps.clamp(0, 1) * 255).round().to(torch.uint8).cpu()
                for index, heat in zip(indices, maps[:, 0].numpy()):
                    self.heatmaps[index] = heat
        finally:
            model.train(was_training)
