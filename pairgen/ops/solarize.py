"""Per-sample solarization (BYOL)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pairgen.ops.fusion import PixelStep
from pairgen.ops.view_op import ViewOp, check_probability, coin


def solarize(
    images: torch.Tensor,
    flags: torch.Tensor,
    threshold: float | torch.Tensor = 0.5,
    bound: float | torch.Tensor = 1.0,
) -> torch.Tensor:
    """Invert the pixels at or above ``threshold`` (``bound - x``) of the flagged images.

    As torchvision's ``solarize``; BYOL uses ``threshold = 0.5`` on ``[0, 1]`` images.
    ``threshold`` and ``bound`` may be per-channel ``(C,)`` tensors, which lets the op
    run after normalisation (threshold ``(0.5 - mean) / std``, bound ``(1 - 2 mean) / std``).

    Example:
        >>> solarize(torch.tensor([[[[0.2, 0.7]]]]), torch.tensor([True]))
        tensor([[[[0.2000, 0.3000]]]])
    """
    if flags.shape != (images.shape[0],):
        raise ValueError(f"flags must have shape ({images.shape[0]},), got {tuple(flags.shape)}")
    channels = (1, -1, 1, 1)
    threshold = threshold.to(images).view(channels) if isinstance(threshold, torch.Tensor) else threshold
    bound = bound.to(images).view(channels) if isinstance(bound, torch.Tensor) else bound
    invert = flags.view(-1, 1, 1, 1) & (images >= threshold)
    return torch.where(invert, bound - images, images)


@dataclass(frozen=True)
class Solarize(ViewOp):
    """Solarize with probability ``p`` at ``threshold`` (BYOL: 0.5). Params: ``solarize`` ``(B,)`` bool."""

    name = "solarize"
    p: float = 0.2
    threshold: float = 0.5

    def __post_init__(self):
        check_probability("solarize.p", self.p)
        check_probability("solarize.threshold", self.threshold)

    def sample(self, batch, seeds, params):
        return {"solarize": coin(seeds, self.p)}

    def apply(self, views, params, backend="batched"):
        return solarize(views, params["solarize"], self.threshold)

    def steps(self, params):
        def normalized(views, backend, mean, std):
            return solarize(views, params["solarize"], (self.threshold - mean) / std, (1 - 2 * mean) / std)

        return [PixelStep(lambda views, backend: self.apply(views, params, backend), normalized=normalized)]
