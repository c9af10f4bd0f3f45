"""Model heatmaps from any torch backbone: Grad-CAM and summed last-stage activations.

* :func:`grad_cam`: Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks
  via Gradient-based Localization", ICCV 2017. The target is a class per sample, or, for
  self-supervised models, the dot product of each embedding with a key embedding, as
  CAST does for the query view (Selvaraju et al., "CASTing Your Model", CVPR 2021).
* :func:`activation_heatmap`: the channel-summed activations of a layer, normalised per
  image, which ContrastiveCrop uses to find the object (Peng et al., "Crafting Better
  Contrastive Views for Siamese Representation Learning", CVPR 2022).

Example:
    >>> from pairgen.models import efficientnet_lite0, preprocess
    >>> model = efficientnet_lite0(pretrained=False).eval()
    >>> x = preprocess(torch.randint(0, 256, (2, 3, 224, 224), dtype=torch.uint8))
    >>> grad_cam(model, x, "head_activation", target=torch.tensor([281, 967])).shape
    torch.Size([2, 1, 224, 224])
    >>> activation_heatmap(model, x, "head_activation").shape
    torch.Size([2, 1, 224, 224])
"""

from __future__ import annotations

from typing import Callable, Union

import torch
import torch.nn.functional as F
from torch import nn

from pairgen.saliency._maps import normalise_per_image

Target = Union[None, int, torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]

#: Added to the max-min range when normalising a Grad-CAM (as in CAST's code), so that
#: all-zero maps stay zero and the map stays differentiable.
_CAM_EPS = 1e-7


def grad_cam(
    model: nn.Module,
    images: torch.Tensor,
    layer: str | nn.Module,
    target: Target = None,
    *,
    create_graph: bool = False,
    resize: bool = True,
) -> torch.Tensor:
    """Grad-CAM maps of ``layer`` for a batch, one target score per sample.

    The map of sample b is ``relu(sum_k alpha_k A_k)`` with ``A`` the layer's output and
    ``alpha_k`` the spatial mean of ``d score_b / d A_k``; it is resized (bilinear) to
    the input when ``resize`` and min-max normalised per sample (maps with no positive
    evidence stay all zero). Samples interact only through the model itself (e.g.
    batch norm in training mode), so in eval mode a batch equals its samples one by one.

    Args:
        model: any module; ``model(images)`` gives logits ``(B, K)``, embeddings
            ``(B, D)``, or anything a callable ``target`` understands.
        images: the model's input ``(B, C, H, W)`` (already normalised).
        layer: a submodule or its name in ``model.named_modules()``, whose output is a
            ``(B, C', h, w)`` tensor computed once per forward pass.
        target: what to explain, per sample:
            ``None``: the top class; an ``int`` or integer tensor ``(B,)``: classes;
            a float tensor ``(B, D)`` or ``(D,)``: key embeddings, the score being the
            dot product of the output embedding with the key (CAST: the query against
            its background-masked key; a model that L2-normalises its output gives
            MoCo's positive logit up to the temperature); a callable
            ``output -> (B,)`` scores.
        create_graph: keep the graph so that a loss on the maps trains the model (CAST's
            localisation loss); otherwise the maps are detached.
        resize: bilinear resize to the input's ``H x W``; ``False`` keeps the layer's
            ``h x w`` (CAST supervises at that resolution).

    Returns:
        ``(B, 1, H, W)`` (or ``(B, 1, h, w)``) maps in [0, 1].

    Raises:
        ValueError: ``layer`` is not found, does not run once, does not give a 4-D
            output, or the score does not depend on it; ``target`` is malformed.
    """
    module, name = _resolve_layer(model, layer)
    inputs = images if images.requires_grad else images.detach().requires_grad_(True)
    with torch.enable_grad():
        output, activation = _forward_capturing(model, inputs, module, name)
        score = _target_score(output, target, batch=images.shape[0])
        (gradient,) = torch.autograd.grad(score.sum(), activation, create_graph=create_graph, allow_unused=True)
    if gradient is None:
        raise ValueError(f"layer {name!r}: the target score does not depend on this layer's output")
    weights = gradient.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * activation).sum(dim=1, keepdim=True))
    if resize:
        cam = F.interpolate(cam, size=images.shape[-2:], mode="bilinear", align_corners=False)
    low = cam.flatten(1).amin(dim=1).view(-1, 1, 1, 1)
    high = cam.flatten(1).amax(dim=1).view(-1, 1, 1, 1)
    cam = (cam - low) / (high - low + _CAM_EPS)
    return cam if create_graph else cam.detach()


@torch.no_grad()
def activation_heatmap(model: nn.Module, images: torch.Tensor, layer: str | nn.Module) -> torch.Tensor:
    """ContrastiveCrop's heatmap: ``layer``'s activations summed over channels.

    Each map is min-max normalised per sample at the layer's resolution, then resized
    (bilinear) to the input, as in ContrastiveCrop's box update. A flat map (no
    activation anywhere) becomes all ones, i.e. the whole image.

    Args:
        model: any module; only its forward pass is run (no gradients).
        images: the model's input ``(B, C, H, W)``.
        layer: a submodule or its name, with a ``(B, C', h, w)`` output (the last stage).

    Returns:
        ``(B, 1, H, W)`` maps in [0, 1].
    """
    module, name = _resolve_layer(model, layer)
    _, activation = _forward_capturing(model, images, module, name)
    summed = normalise_per_image(activation.sum(dim=1, keepdim=True))
    return F.interpolate(summed, size=images.shape[-2:], mode="bilinear", align_corners=False).clamp_(0.0, 1.0)


def _resolve_layer(model: nn.Module, layer: str | nn.Module) -> tuple[nn.Module, str]:
    modules = dict(model.named_modules())
    if isinstance(layer, nn.Module):
        for name, module in modules.items():
            if module is layer:
                return module, name or "<model>"
        raise ValueError("layer: the given module is not a submodule of the model")
    if not isinstance(layer, str) or layer not in modules or layer == "":
        names = [n for n in modules if n]
        hint = ", ".join(names[-5:])
        raise ValueError(f"layer {layer!r} is not a submodule name of the model (last names: {hint})")
    return modules[layer], layer


def _forward_capturing(
    model: nn.Module, images: torch.Tensor, module: nn.Module, name: str
) -> tuple[object, torch.Tensor]:
    captured: list[object] = []
    handle = module.register_forward_hook(lambda _module, _inputs, output: captured.append(output))
    try:
        output = model(images)
    finally:
        handle.remove()
    if len(captured) != 1:
        raise ValueError(f"layer {name!r} ran {len(captured)} times in one forward pass; pick a layer that runs once")
    activation = captured[0]
    if not isinstance(activation, torch.Tensor) or activation.ndim != 4 or activation.shape[0] != images.shape[0]:
        shape = tuple(activation.shape) if isinstance(activation, torch.Tensor) else type(activation).__name__
        raise ValueError(f"layer {name!r} must output a (B, C, h, w) tensor, got {shape}")
    return output, activation


def _target_score(output: object, target: Target, batch: int) -> torch.Tensor:
    if callable(target) and not isinstance(target, torch.Tensor):
        score = target(output)
    else:
        if not isinstance(output, torch.Tensor) or output.ndim != 2 or output.shape[0] != batch:
            raise ValueError("target: the model output must be a (B, K) tensor unless target is a callable")
        if target is None:
            target = output.argmax(dim=1)
        if isinstance(target, int):
            target = torch.full((batch,), target, dtype=torch.long, device=output.device)
        if not isinstance(target, torch.Tensor):
            raise ValueError(f"target must be None, an int, a tensor or a callable, got {type(target).__name__}")
        if target.is_floating_point():
            keys = target.to(output.dtype).expand_as(output) if target.ndim == 1 else target
            if keys.shape != output.shape:
                raise ValueError(f"target: key embeddings must have shape {tuple(output.shape)}, got {tuple(target.shape)}")
            score = (output * keys.to(output.device)).sum(dim=1)
        else:
            classes = target.to(device=output.device, dtype=torch.long).reshape(-1)
            if classes.numel() != batch or bool(((classes < 0) | (classes >= output.shape[1])).any()):
                raise ValueError(f"target: expected {batch} class indices in [0, {output.shape[1]}), got {target.tolist()}")
            score = output.gather(1, classes.view(-1, 1)).squeeze(1)
    if not isinstance(score, torch.Tensor) or score.shape != (batch,):
        raise ValueError(f"target: the score must be a ({batch},) tensor, got {getattr(score, 'shape', score)}")
    return score
