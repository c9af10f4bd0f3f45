"""Features of any torch backbone at a named layer, through a forward hook.

Example:
    >>> model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Conv2d(4, 2, 3))
    >>> layer_features(model, torch.rand(5, 3, 16, 16), layer="1").shape
    torch.Size([5, 4])
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

POOLS = ("mean", "max", "flatten")


class _Captured(Exception):
    """Raised by the hook to stop the forward pass once the layer's output is captured."""


def find_layer(model: nn.Module, layer: str | None) -> nn.Module:
    """The submodule named ``layer`` (``None`` or ``""``: the model itself).

    Raises:
        ValueError: naming ``layer`` and listing the model's layer names.
    """
    if not layer:
        return model
    modules = dict(model.named_modules())
    if layer not in modules:
        names = [name for name in modules if name]
        shown = ", ".join(names if len(names) <= 16 else names[:8] + ["..."] + names[-8:])
        raise ValueError(f"layer {layer!r} is not a module of {type(model).__name__}; its layers are: {shown}")
    return modules[layer]


def _pool(output, layer: str | None, pool: str) -> torch.Tensor:
    name = repr(layer) if layer else "the model output"
    if not isinstance(output, torch.Tensor):
        raise ValueError(f"layer {name} gives a {type(output).__name__}, not a tensor: choose another layer")
    if not output.is_floating_point():
        raise ValueError(f"layer {name} gives {output.dtype} values, not features: choose another layer")
    if output.dim() < 2:
        raise ValueError(f"layer {name} gives shape {tuple(output.shape)}, not (batch, features...): choose another layer")
    if pool == "flatten" or output.dim() == 2:
        return output.flatten(1)
    if output.dim() == 4:  # (B, C, H, W)
        return output.mean((2, 3)) if pool == "mean" else output.amax((2, 3))
    if output.dim() == 3:  # (B, tokens, C), as transformers lay them out
        return output.mean(1) if pool == "mean" else output.amax(1)
    raise ValueError(f"layer {name} gives shape {tuple(output.shape)}: use pool='flatten' or another layer")


@torch.no_grad()
def layer_features(
    model: nn.Module,
    images: torch.Tensor,
    layer: str | None = None,
    batch_size: int = 32,
    pool: str = "mean",
    preprocess: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """``(N, D)`` float32 CPU features of ``images`` at ``layer``, in eval mode.

    The forward pass stops right after ``layer``. Spatial maps ``(B, C, H, W)`` and
    token sequences ``(B, T, C)`` are pooled to ``(B, C)`` by ``pool`` (``"mean"``,
    ``"max"``) or flattened (``"flatten"``).

    Args:
        model: any ``nn.Module`` taking a batch of images.
        images: ``(N, 3, H, W)`` float images (moved to the model's device per batch).
        layer: a name from ``model.named_modules()``; ``None`` for the model output.
        batch_size: images per forward pass.
        pool: how to reduce spatial or token dimensions.
        preprocess: applied to each batch before the model (e.g. normalisation).

    Raises:
        ValueError: naming ``layer`` when it does not exist, is not reached by the
            forward pass or does not give a floating tensor, and for non-finite features.
    """
    if pool not in POOLS:
        raise ValueError(f"pool must be one of {POOLS}, got {pool!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if images.dim() != 4:
        raise ValueError(f"images must be (N, C, H, W), got shape {tuple(images.shape)}")
    module = find_layer(model, layer)
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else images.device
    captured: list[torch.Tensor] = []

    def hook(_module, _inputs, output):
        captured.append(_pool(output, layer, pool).float().cpu())
        if module is not model:
            raise _Captured

    modes = {m: m.training for m in model.modules()}
    model.eval()
    handle = module.register_forward_hook(hook)
    try:
        out = []
        for start in range(0, len(images), batch_size):
            batch = images[start : start + batch_size].to(device)
            if preprocess is not None:
                batch = preprocess(batch)
            captured.clear()
            try:
                model(batch)
            except _Captured:
                pass
            if not captured:
                raise ValueError(f"layer {layer!r} is not called by {type(model).__name__}'s forward pass: choose another layer")
            out.append(captured[0])
    finally:
        handle.remove()
        for m, training in modes.items():
            m.training = training
    features = torch.cat(out) if out else torch.zeros(0, 0)
    if not torch.isfinite(features).all():
        raise ValueError(f"layer {layer!r} gives non-finite features")
    return features
