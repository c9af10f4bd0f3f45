"""Horizontal flip (SimCLR, BYOL, ...), per sample."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pairgen.ops.view_op import ViewOp, check_probability, coin


def folded_flips(ops) -> int:
    """How many leading ``ops`` are flips, which the engine folds into the crop (``ViewParams.flip``)."""
    count = 0
    while count < len(ops) and isinstance(ops[count], Flip):
        count += 1
    return count


@dataclass(frozen=True)
class Flip(ViewOp):
    """Mirror a view left-right with probability ``p``.

    A flip right after the crop is folded into the crop kernel (``ViewParams.flip``);
    elsewhere in the op list it flips the rendered view. Params: ``flip`` ``(B,)`` bool and ``width``
    ``(B,)``, the view's width (for :meth:`apply_to_points`).

    Example:
        >>> Flip(p=1.0).apply(torch.arange(3.0).view(1, 1, 1, 3), {"flip": torch.tensor([True])}).flatten().tolist()
        [2.0, 1.0, 0.0]
    """

    name = "flip"
    geometric = True
    p: float = 0.5

    def __post_init__(self):
        check_probability("flip.p", self.p)

    def sample(self, batch, seeds, params):
        flip = coin(seeds, self.p)
        return {"flip": flip, "width": torch.full(flip.shape, float(params.size[1]), device=flip.device)}

    def apply(self, views, params, backend="batched"):
        return torch.where(params["flip"].view(-1, 1, 1, 1), views.flip(-1), views)

    def apply_to_maps(self, maps, params):
        return self.apply(maps, params)

    def points_to_input(self, points, params):
        return self.apply_to_points(points, params)  # a mirror is its own inverse

    def apply_to_points(self, points, params):
        width = params["width"].to(points.dtype)[:, None]
        x = torch.where(params["flip"][:, None], width - points[..., 0], points[..., 0])
        return torch.stack([x, points[..., 1]], -1)

