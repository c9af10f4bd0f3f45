"""Colour ops: brightness, contrast, saturation, grayscale and torchvision's ``ColorJitter``.

Each factor is its own op with torchvision's range (``strength`` ``x``: a factor
uniform in ``[max(0, 1 - x), 1 + x]``) and the maps of torchvision's
``adjust_brightness``, ``adjust_contrast`` (towards the mean luma of the image it
is applied to) and ``adjust_saturation``; grayscale is ITU-R 601 luma. All four are
affine maps of RGB, so the engine fuses consecutive ones into one per-sample map
(:mod:`pairgen.ops.fusion`, which states the one difference from torchvision: a
single clamp at the end of a fused run). :class:`ColorJitter` draws the four steps
in a random order per sample; its hue step (:mod:`pairgen.ops.hue`, not affine)
splits the fused map in two around it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pairgen.ops.color_affine import luma, to_gray
from pairgen.ops.constants import constant
from pairgen.ops.fusion import AffineStep, PixelStep
from pairgen.ops.hue import adjust_hue
from pairgen.ops.view_op import ViewOp, check_probability, coin
from pairgen.random import uniform

BRIGHTNESS, CONTRAST, SATURATION, HUE = range(4)


def _eye(n: int, device) -> torch.Tensor:
    return constant(((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)), device).expand(n, 3, 3)


def factor_map(kind: int | torch.Tensor, factor: torch.Tensor, mean: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(A, b)`` of brightness, contrast or saturation ``factor`` ``(B,)`` per sample, for
    images of mean colour ``mean`` ``(B, 3)``; ``kind`` may be a ``(B,)`` tensor (hue: identity)."""
    n, device = len(factor), factor.device
    f = factor.float()[:, None, None]
    eye = _eye(n, device)
    gray_mean = (mean * luma(device)).sum(1, keepdim=True)
    maps = {
        BRIGHTNESS: (f * eye, torch.zeros(n, 3, device=device)),
        CONTRAST: (f * eye, (1 - f[:, :, 0]) * gray_mean.expand(n, 3)),
        SATURATION: (f * eye + (1 - f) * to_gray(device), torch.zeros(n, 3, device=device)),
    }
    if isinstance(kind, int):
        return maps[kind]
    matrix, offset = eye, torch.zeros(n, 3, device=device)
    for key, (a, b) in maps.items():
        chosen = kind == key
        matrix = torch.where(chosen[:, None, None], a, matrix)
        offset = torch.where(chosen[:, None], b, offset)
    return matrix, offset


def factor_range(name: str, strength: float) -> tuple[float, float]:
    """torchvision's ``ColorJitter`` range of a factor: ``[max(0, 1 - x), 1 + x]``."""
    if strength < 0:
        raise ValueError(f"{name} must be >= 0, got {strength}")
    return max(0.0, 1.0 - strength), 1.0 + strength


@dataclass(frozen=True)
class _Factor(ViewOp):
    p: float = 1.0
    strength: float = 0.4
    kind = BRIGHTNESS

    def __post_init__(self):
        check_probability(f"{self.name}.p", self.p)
        factor_range(f"{self.name}.strength", self.strength)

    def sample(self, batch, seeds, params):
        low, high = factor_range(self.name, self.strength)
        factor = low + uniform(seeds, 1)[:, 0] * (high - low)
        return {"factor": torch.where(coin(seeds, self.p), factor, torch.ones_like(factor))}

    def steps(self, params):
        return [AffineStep(lambda mean: factor_map(self.kind, params["factor"], mean))]


@dataclass(frozen=True)
class Brightness(_Factor):
    """Scale RGB by a factor (torchvision's ``adjust_brightness``). Params: ``factor`` ``(B,)``."""

    name = "brightness"
    kind = BRIGHTNESS


@dataclass(frozen=True)
class Contrast(_Factor):
    """Blend towards the image's mean luma (torchvision's ``adjust_contrast``). Params: ``factor``."""

    name = "contrast"
    kind = CONTRAST


@dataclass(frozen=True)
class Saturation(_Factor):
    """Blend towards the pixel's luma (torchvision's ``adjust_saturation``). Params: ``factor``."""

    name = "saturation"
    kind = SATURATION


@dataclass(frozen=True)
class Grayscale(ViewOp):
    """ITU-R 601 luma in all three channels with probability ``p`` (torchvision's
    ``RandomGrayscale``). Params: ``gray`` ``(B,)`` bool."""

    name = "grayscale"
    p: float = 0.2

    def __post_init__(self):
        check_probability("grayscale.p", self.p)

    def sample(self, batch, seeds, params):
        return {"gray": coin(seeds, self.p)}

    def steps(self, params):
        def gray(mean):
            n = len(mean)
            matrix = torch.where(params["gray"][:, None, None], to_gray(mean.device).expand(n, 3, 3), _eye(n, mean.device))
            return matrix, torch.zeros(n, 3, device=mean.device)

        return [AffineStep(gray)]


@dataclass(frozen=True)
class ColorJitter(ViewOp):
    """torchvision's ``ColorJitter`` applied with probability ``p`` (SimCLR, BYOL, MoCo v2).

    Brightness, contrast and saturation factors as their ops, the hue shift uniform
    in ``[-hue, hue]`` turns (:func:`pairgen.ops.hue.adjust_hue`), the four steps in a
    random order per sample.

    Params: ``applied`` ``(B,)`` bool; ``factors`` ``(B, 4)`` brightness, contrast,
    saturation (1 = identity) and hue shift (0 = identity); ``order`` ``(B, 4)`` int64,
    the step at each position (``BRIGHTNESS, CONTRAST, SATURATION, HUE``).
    """

    name = "color_jitter"
    p: float = 0.8
    brightness: float = 0.4
    contrast: float = 0.4
    saturation: float = 0.2
    hue: float = 0.1

    def __post_init__(self):
        check_probability("color_jitter.p", self.p)
        for name in ("brightness", "contrast", "saturation"):
            factor_range(f"color_jitter.{name}", getattr(self, name))
        if not 0 <= self.hue <= 0.5:
            raise ValueError(f"color_jitter.hue must be in [0, 0.5], got {self.hue}")

    def sample(self, batch, seeds, params):
        ranges = [factor_range(name, getattr(self, name)) for name in ("brightness", "contrast", "saturation")]
        low = constant((*[r[0] for r in ranges], -self.hue), seeds.device)
        high = constant((*[r[1] for r in ranges], self.hue), seeds.device)
        applied = coin(seeds, self.p)
        factors = low + uniform(seeds, 1, 4) * (high - low)
        identity = constant((1.0, 1.0, 1.0, 0.0), seeds.device)
        return {"applied": applied, "factors": torch.where(applied[:, None], factors, identity),
                "order": uniform(seeds, 2, 4).argsort(1)}

    def steps(self, params):
        factors, order = params["factors"], params["order"]
        if self.hue == 0:
            return [AffineStep(lambda mean: self._compose(factors, order, mean, None))]
        # Hue is not affine: fuse the steps before it and the steps after it separately.
        position = (order == HUE).int().argmax(1)
        positions = torch.arange(4, device=order.device)
        before, after = positions[None] < position[:, None], positions[None] > position[:, None]
        shift = factors[:, HUE]
        return [AffineStep(lambda mean: self._compose(factors, order, mean, before)),
                PixelStep(lambda views, backend: adjust_hue(views, shift, backend, inplace=True), hue=shift),
                AffineStep(lambda mean: self._compose(factors, order, mean, after))]

    @staticmethod
    def _compose(factors, order, mean, include):
        n, device = len(factors), factors.device
        eye = _eye(n, device)
        matrix, offset = eye, torch.zeros(n, 3, device=device)
        for position in range(4):
            kind = order[:, position]
            factor = factors.gather(1, kind[:, None].clamp_max(SATURATION))[:, 0]
            a, b = factor_map(kind, factor, mean)
            if include is not None:
                a = torch.where(include[:, position, None, None], a, eye)
                b = torch.where(include[:, position, None], b, torch.zeros_like(b))
            matrix = a @ matrix
            offset = (a @ offset[:, :, None])[:, :, 0] + b
            mean = (a @ mean[:, :, None])[:, :, 0] + b
        return matrix, offset
