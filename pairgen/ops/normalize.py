"""Per-channel normalisation, the last op of every view (the recipe's ``normalize``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from pairgen.ops.constants import constant
from pairgen.ops.fusion import AffineStep
from pairgen.ops.view_op import ViewOp

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def normalize(
    images: torch.Tensor,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> torch.Tensor:
    """``(x - mean) / std`` per channel of a float ``(B, C, H, W)`` batch.

    Example:
        >>> normalize(torch.full((1, 3, 1, 1), 0.5), (0.5,) * 3, (0.25,) * 3).flatten().tolist()
        [0.0, 0.0, 0.0]
    """
    if any(s <= 0 for s in std):
        raise ValueError(f"std must be positive, got {tuple(std)}")
    mean_t = constant(tuple(mean), images.device, images.dtype).view(1, -1, 1, 1)
    std_t = constant(tuple(std), images.device, images.dtype).view(1, -1, 1, 1)
    return torch.addcmul(-mean_t / std_t, images, 1 / std_t)  # one pass over the batch, not two


@dataclass(frozen=True)
class Normalize(ViewOp):
    """``(x - mean) / std`` per channel; the engine appends it to every view from the
    recipe's ``normalize`` and fuses it with the colour ops. Params: none."""

    name = "normalize"
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    def __post_init__(self):
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise ValueError(f"normalize needs 3 means and 3 positive stds, got {self.mean}, {self.std}")

    def sample(self, batch, seeds, params):
        return {}

    def steps(self, params):
        def affine(mean_rgb):
            n, device = len(mean_rgb), mean_rgb.device
            scale = 1 / constant(tuple(self.std), device)
            return torch.diag_embed(scale).expand(n, 3, 3), (-constant(tuple(self.mean), device) * scale).expand(n, 3)

        return [AffineStep(affine, normalize=(tuple(self.mean), tuple(self.std)))]
