"""Occlusion that hides a sampled fraction of the object (or salient region) in a view.

Purushwalkam & Gupta ("Demystifying Contrastive Self-Supervised Learning:
Invariances, Augmentations and Dataset Biases", NeurIPS 2020) find that contrastive
models owe their occlusion invariance to aggressive crops that show only part of
the object. This op targets that invariance directly: inside each view it covers a
fraction ``a`` (drawn from ``area``) of the object's pixels with one occluder, a
rectangle or a rotated elliptical blob, as Random Erasing (Zhong et al., AAAI 2020)
does for whole images.

The object is the view's crop of ``batch.masks`` (nonzero = object) or, without
masks, of ``batch.saliency`` thresholded at ``saliency_threshold`` times its
maximum in the view. The occluder is a ball ``d(pixel) <= radius`` of a rectangular
(L-infinity) or elliptical (L2) norm around a random object pixel; its radius is the
``ceil(a * S)``-th smallest distance among the ``S`` object pixels, so it covers
that many object pixels exactly, found for the whole batch with one sort. Views
whose object is empty (no mask, no saliency, or the crop misses the object) fall
back to an occluder covering the fraction ``a`` of the whole view, flagged in
``params["fallback"]``.

Example:
    >>> from pairgen import PairSampler
    >>> recipe = {"name": "occ", "normalize": None, "views": [{"count": 2, "size": 32,
    ...           "ops": [{"type": "occlusion", "area": [0.3, 0.3]}]}]}
    >>> pairs = PairSampler(recipe, seed=0)([{"image": torch.rand(3, 40, 40), "mask": torch.ones(40, 40)}])
    >>> round(float(pairs.params1.ops[0]["covered"][0]), 2)
    0.3
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from pairgen.crops.base import check_range
from pairgen.ops.resized_crop import resized_crop
from pairgen.ops.view_op import ViewOp
from pairgen.random import uniform

_APPLY, _AREA, _CENTRE, _OFFSET, _RATIO, _ANGLE, _FILL = range(7)
SHAPES = ("rectangle", "blob")
FILLS = ("mean", "random")


def object_in_view(batch, params, saliency_threshold: float) -> torch.Tensor:
    """``(B, h, w)`` bool object pixels of each view: the crop of the masks, else of the
    saliency above ``saliency_threshold`` times its maximum in the view, else none."""
    height, width = params.size
    boxes = batch.source_to_canvas(params.boxes)
    if batch.masks is not None:
        crop = resized_crop(batch.masks.float(), boxes, params.size, flip=params.flip, backend="batched")
        return crop[:, 0] > 0.5
    if batch.saliency is not None:
        crop = resized_crop(batch.saliency.float(), boxes, params.size, flip=params.flip, backend="batched")[:, 0]
        peak = crop.flatten(1).amax(1)[:, None, None]
        return (crop >= saliency_threshold * peak) & (peak > 0)
    return torch.zeros((len(boxes), height, width), dtype=torch.bool, device=boxes.device)


def occluder_distance(params: dict[str, torch.Tensor], size: tuple[int, int], shape: str) -> torch.Tensor:
    """``(B, h, w)`` float32 norm distance of every pixel centre to the occluder's centre.

    The occluder of each view is ``occluder_distance(...) <= params["radius"]``.
    """
    height, width = size
    centre = params["centre"].float()
    axes = params["axes"].float()
    ys = torch.arange(height, device=centre.device, dtype=torch.float32) + 0.5
    xs = torch.arange(width, device=centre.device, dtype=torch.float32) + 0.5
    dx = xs[None, None, :] - centre[:, 0, None, None]
    dy = ys[None, :, None] - centre[:, 1, None, None]
    if shape == "rectangle":
        return torch.maximum(dx.abs() / axes[:, 0, None, None], dy.abs() / axes[:, 1, None, None])
    cos, sin = torch.cos(params["angle"].float())[:, None, None], torch.sin(params["angle"].float())[:, None, None]
    along = (dx * cos + dy * sin) / axes[:, 0, None, None]
    across = (dy * cos - dx * sin) / axes[:, 1, None, None]
    return torch.sqrt(along * along + across * across)


@dataclass(frozen=True)
class Occlusion(ViewOp):
    """Hide a fraction of the object in each view (see the module docstring).

    Args:
        p: probability that a view is occluded.
        area: range of the fraction of the object's pixels to cover.
        shape: ``"rectangle"`` (axis-aligned) or ``"blob"`` (rotated ellipse).
        ratio: range of the occluder's aspect ratio (width / height), log-uniform.
        fill: ``"mean"`` (the view's mean colour), ``"random"`` (a random colour per
            view) or a gray level in ``[0, 1]``.
        saliency_threshold: object = saliency at least this fraction of the view's
            maximum (used when the batch has no masks).

    Params (``(B, ...)`` tensors): ``applied``, ``fallback`` (bool); ``fraction``
    (requested) and ``covered`` (achieved fraction of the object's pixels, or of the
    view's on fallback); ``centre`` ``(B, 2)`` and ``axes`` ``(B, 2)`` in view pixels,
    ``angle`` (radians), ``radius`` (-1 when not applied); ``fill`` ``(B, 3)``.
    """

    name = "occlusion"
    p: float = 1.0
    area: tuple[float, float] = (0.2, 0.5)
    shape: str = "rectangle"
    ratio: tuple[float, float] = (0.5, 2.0)
    fill: str | float = "mean"
    saliency_threshold: float = 0.5

    def __post_init__(self):
        if not 0.0 <= self.p <= 1.0:
            raise ValueError(f"occlusion.p must be a probability in [0, 1], got {self.p}")
        check_range("occlusion.area", tuple(self.area), 0.0, 1.0)
        check_range("occlusion.ratio", tuple(self.ratio), 1e-2, 1e2)
        if self.shape not in SHAPES:
            raise ValueError(f"occlusion.shape must be one of {SHAPES}, got {self.shape!r}")
        if isinstance(self.fill, str):
            if self.fill not in FILLS:
                raise ValueError(f"occlusion.fill must be one of {FILLS} or a gray level in [0, 1], got {self.fill!r}")
        elif not 0.0 <= float(self.fill) <= 1.0:
            raise ValueError(f"occlusion.fill must be one of {FILLS} or a gray level in [0, 1], got {self.fill!r}")
        if not 0.0 < self.saliency_threshold <= 1.0:
            raise ValueError(f"occlusion.saliency_threshold must be in (0, 1], got {self.saliency_threshold}")

    def sample(self, batch, seeds, params):
        height, width = params.size
        n, device = len(seeds), seeds.device
        found = object_in_view(batch, params, self.saliency_threshold).flatten(1)
        counts = found.sum(1)
        fallback = counts == 0
        region = torch.where(fallback[:, None], torch.ones_like(found), found)
        counts = region.sum(1)
        # Centre: a uniformly drawn region pixel, at a uniform position inside it.
        cumulative = region.long().cumsum(1)
        pick = (uniform(seeds, _CENTRE)[:, 0] * counts).long().clamp_max(counts - 1)
        index = torch.searchsorted(cumulative, (pick + 1)[:, None])[:, 0]
        offset = uniform(seeds, _OFFSET, 2)
        centre = torch.stack([index % width, torch.div(index, width, rounding_mode="floor")], 1).float() + offset
        log_lo, log_hi = math.log(self.ratio[0]), math.log(self.ratio[1])
        aspect = torch.exp(log_lo + uniform(seeds, _RATIO)[:, 0] * (log_hi - log_lo))
        axes = torch.stack([aspect.sqrt(), aspect.rsqrt()], 1)
        angle = uniform(seeds, _ANGLE)[:, 0] * math.pi
        fraction = self.area[0] + uniform(seeds, _AREA)[:, 0] * (self.area[1] - self.area[0])
        draft = {"centre": centre, "axes": axes, "angle": angle}
        distance = occluder_distance(draft, (height, width), self.shape).flatten(1)
        ranked = torch.where(region, distance, torch.full_like(distance, math.inf)).sort(1).values
        wanted = (fraction.double() * counts).ceil().long().clamp(1, None).clamp_max(counts) - 1
        radius = ranked.gather(1, wanted[:, None])[:, 0]
        applied = (uniform(seeds, _APPLY)[:, 0] < self.p) & (fraction > 0)
        radius = torch.where(applied, radius, torch.full_like(radius, -1.0))
        covered = (region & (distance <= radius[:, None])).sum(1).float() / counts.float()
        if self.fill == "random":
            fill = uniform(seeds, _FILL, 3)
        elif self.fill == "mean":
            fill = torch.full((n, 3), -1.0, device=device)  # resolved per view in apply
        else:
            fill = torch.full((n, 3), float(self.fill), device=device)
        return {"applied": applied, "fallback": fallback, "fraction": fraction, "covered": covered,
                "centre": centre, "axes": axes, "angle": angle, "radius": radius, "fill": fill}

    def region(self, params: dict[str, torch.Tensor], size: tuple[int, int]) -> torch.Tensor:
        """``(B, 1, h, w)`` bool: the pixels each view's occluder covers."""
        return (occluder_distance(params, size, self.shape) <= params["radius"].float()[:, None, None])[:, None]

    def apply(self, views, params, backend="batched"):
        hidden = self.region(params, views.shape[-2:])
        fill = params["fill"].to(views.dtype)
        if self.fill == "mean":
            fill = views.mean((2, 3))
        return torch.where(hidden, fill[:, :, None, None], views)
