"""One view's augmentation: sample its params, apply them to a batch."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import torch

from pairgen.batch import ImageBatch
from pairgen.crops import CropSampler, RandomResizedCrop, crop_from_dict
from pairgen.crops.base import check_range
from pairgen.ops.blur import blur_
from pairgen.ops.color import apply_affine, channel_means, color_affine
from pairgen.ops.resized_crop import resized_crop
from pairgen.ops.solarize import solarize
from pairgen.ops.view_op import ViewOp, op_from_dict
from pairgen.params import ViewParams
from pairgen.random import derive_seeds, uniform_streams

# Streams of pairgen.random: one per random parameter of a view.
_CROP, _FLIP, _JITTER_P, _JITTER, _ORDER, _GRAY, _BLUR_P, _BLUR, _SOLARIZE = range(1, 10)


def _check_probability(name: str, p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {p}")


@dataclass(frozen=True)
class ColorJitter:
    """torchvision's ``ColorJitter`` ranges, applied with probability ``p``.

    Factors are uniform in ``[max(0, 1 - x), 1 + x]`` for brightness, contrast and
    saturation, the hue shift uniform in ``[-hue, hue]`` turns, the four steps in a
    random order per sample.
    """

    p: float = 0.8
    brightness: float = 0.4
    contrast: float = 0.4
    saturation: float = 0.2
    hue: float = 0.1

    def __post_init__(self):
        _check_probability("color_jitter.p", self.p)
        for name in ("brightness", "contrast", "saturation"):
            if getattr(self, name) < 0:
                raise ValueError(f"color_jitter.{name} must be >= 0, got {getattr(self, name)}")
        if not 0 <= self.hue <= 0.5:
            raise ValueError(f"color_jitter.hue must be in [0, 0.5], got {self.hue}")


@dataclass(frozen=True)
class Blur:
    """Gaussian blur with probability ``p``, sigma uniform in ``sigma`` (output pixels)."""

    p: float = 0.5
    sigma: tuple[float, float] = (0.1, 2.0)
    kernel_size: int | None = None

    def __post_init__(self):
        _check_probability("blur.p", self.p)
        check_range("blur.sigma", self.sigma, 1e-3, 1e3)
        if self.kernel_size is not None and (self.kernel_size < 1 or self.kernel_size % 2 == 0):
            raise ValueError(f"blur.kernel_size must be a positive odd integer, got {self.kernel_size}")


@dataclass(frozen=True)
class ViewSpec:
    """How to draw ``count`` views of each image: crop, flip, colour, blur, solarize.

    The order of the ops is SimCLR's and BYOL's: crop and resize, flip, the extra
    ``ops`` (:mod:`pairgen.ops.view_op`, e.g. occlusion or viewpoint), colour
    jitter, grayscale, blur, solarize, normalise.

    Example:
        >>> spec = ViewSpec(size=96, count=6, crop=RandomResizedCrop(scale=(0.05, 0.4)))
        >>> ViewSpec.from_dict(spec.to_dict()) == spec
        True
    """

    size: int | tuple[int, int] = 224
    count: int = 1
    crop: CropSampler = field(default_factory=RandomResizedCrop)
    flip: float = 0.5
    color_jitter: ColorJitter | None = None
    grayscale: float = 0.0
    blur: Blur | None = None
    solarize: float = 0.0
    ops: tuple[ViewOp, ...] = ()

    def __post_init__(self):
        size = (self.size, self.size) if isinstance(self.size, int) else tuple(self.size)
        if len(size) != 2 or min(size) < 1:
            raise ValueError(f"size must be a positive int or (height, width), got {self.size}")
        object.__setattr__(self, "size", size if size[0] != size[1] else size[0])
        if self.count < 1:
            raise ValueError(f"count must be >= 1, got {self.count}")
        if not isinstance(self.crop, CropSampler):
            raise TypeError(f"crop must be a CropSampler, got {type(self.crop).__name__}")
        _check_probability("flip", self.flip)
        _check_probability("grayscale", self.grayscale)
        _check_probability("solarize", self.solarize)
        object.__setattr__(self, "ops", tuple(self.ops))
        if not all(isinstance(op, ViewOp) for op in self.ops):
            raise TypeError("ops must be ViewOp instances")

    @property
    def output_size(self) -> tuple[int, int]:
        return (self.size, self.size) if isinstance(self.size, int) else self.size

    def sample(self, batch: ImageBatch, seeds: torch.Tensor, previous: list[ViewParams] = ()) -> ViewParams:
        """Draw this view's params for every sample, from the ``(B,)`` int64 ``seeds``."""
        seeds = seeds.to(batch.images.device)
        n, device = len(seeds), seeds.device
        boxes, fallback = self.crop.sample(batch, derive_seeds(seeds, _CROP), list(previous))
        u = uniform_streams(seeds, {_FLIP: 1, _JITTER_P: 1, _JITTER: 4, _ORDER: 4, _GRAY: 1, _BLUR_P: 1, _BLUR: 1,
                                    _SOLARIZE: 1})
        flip = u[_FLIP][:, 0] < self.flip
        jitter = torch.tensor([[1.0, 1.0, 1.0, 0.0]], device=device).repeat(n, 1)
        order = torch.arange(4, device=device).repeat(n, 1)
        if self.color_jitter is not None:
            cj = self.color_jitter
            applied = u[_JITTER_P][:, 0] < cj.p
            low = torch.tensor([max(0.0, 1 - cj.brightness), max(0.0, 1 - cj.contrast), max(0.0, 1 - cj.saturation), -cj.hue], device=device)
            high = torch.tensor([1 + cj.brightness, 1 + cj.contrast, 1 + cj.saturation, cj.hue], device=device)
            jitter = torch.where(applied[:, None], low + u[_JITTER] * (high - low), jitter)
            order = u[_ORDER].argsort(1)
        grayscale = u[_GRAY][:, 0] < self.grayscale
        sigma = torch.zeros(n, device=device)
        if self.blur is not None:
            lo, hi = self.blur.sigma
            sigma = torch.where(u[_BLUR_P][:, 0] < self.blur.p, lo + u[_BLUR][:, 0] * (hi - lo), sigma)
        params = ViewParams(
            boxes=boxes.float(),
            flip=flip,
            jitter=jitter,
            jitter_order=order,
            grayscale=grayscale,
            blur_sigma=sigma,
            solarize=u[_SOLARIZE][:, 0] < self.solarize,
            seeds=seeds,
            fallback_used=fallback,
            size=self.output_size,
        )
        if not self.ops:
            return params
        extras = tuple(op.sample(batch, derive_seeds(seeds, 100 + k), params) for k, op in enumerate(self.ops))
        return dataclasses.replace(params, extras=extras)

    def apply(
        self,
        batch: ImageBatch,
        params: ViewParams,
        mean: tuple[float, float, float] = (0.0, 0.0, 0.0),
        std: tuple[float, float, float] = (1.0, 1.0, 1.0),
        dtype: torch.dtype = torch.float32,
        images: torch.Tensor | None = None,
        out: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Render the views described by ``params``, normalised by ``mean`` and ``std``.

        Colour jitter, grayscale, the ``1/255`` scaling and the normalisation are one
        affine map per sample (:mod:`pairgen.ops.color`); blur commutes with the
        per-channel normalisation and solarize runs on normalised values with a
        per-channel threshold, so the result equals normalising last.

        Args:
            images: the canvas to crop from, default ``batch.images``; pass the
                canvas already converted to float to share that work between views.
            out: optional contiguous ``(B, 3, h, w)`` tensor of ``dtype`` on the
                canvas's device to render into and return (``PairSampler`` passes
                shared memory inside DataLoader workers, so views reach the main
                process without a copy, as ``default_collate`` does for its batches).
        """
        images = batch.images if images is None else images
        if out is not None and (out.shape != (len(params), 3, *params.size) or out.dtype != dtype):
            raise ValueError(f"out must be a {dtype} tensor of shape {(len(params), 3, *params.size)}, "
                             f"got {out.dtype} {tuple(out.shape)}")
        crops = resized_crop(images, batch.source_to_canvas(params.boxes), params.size, flip=params.flip)
        scale = 255.0  # crops hold 0-255 values, uint8 or float
        if self.ops:
            crops, scale = crops.float() / 255, 1.0
            for op, extra in zip(self.ops, params.extras):
                crops = op.apply(crops, extra)
        mean_t = torch.tensor(mean, device=crops.device)
        std_t = torch.tensor(std, device=crops.device)
        matrix, offset = color_affine(params.jitter, params.jitter_order, params.grayscale, channel_means(crops) / scale)
        matrix = matrix / (scale * std_t[None, :, None])
        offset = (offset - mean_t) / std_t
        work_dtype = crops.dtype if crops.is_floating_point() else torch.float32
        target = out if out is not None and out.dtype == work_dtype else None
        views = apply_affine(crops, matrix, offset, low=-mean_t / std_t, high=(1 - mean_t) / std_t, out=target)
        del crops  # free them before the blur's buffers: a lower peak on GPUs
        if bool((params.blur_sigma > 0).any()):
            kernel = self.blur.kernel_size if self.blur is not None else None
            views = blur_(views, params.blur_sigma, kernel_size=kernel)
        if bool(params.solarize.any()):
            views = solarize(views, params.solarize, threshold=(0.5 - mean_t) / std_t, bound=(1 - 2 * mean_t) / std_t)
        if out is None:
            return views.to(dtype)
        if views is not out:
            out.copy_(views)
        return out

    def replay_on_maps(self, maps: torch.Tensor, batch: ImageBatch, params: ViewParams) -> torch.Tensor:
        """Move per-pixel maps on the batch's canvas (masks, saliency) exactly as the
        images were (crop, flip, geometric ops); ``(B, C, H, W)`` in, ``(B, C, h, w)`` out."""
        out = resized_crop(maps, batch.source_to_canvas(params.boxes), params.size, flip=params.flip)
        for op, extra in zip(self.ops, params.extras):
            if op.geometric:
                out = op.apply_to_maps(out, extra)
        return out

    def to_dict(self) -> dict:
        """Plain data (round-trips through :meth:`from_dict`)."""
        out = {"size": list(self.size) if isinstance(self.size, tuple) else self.size, "count": self.count,
               "crop": self.crop.to_dict(), "flip": self.flip}
        if self.color_jitter is not None:
            out["color_jitter"] = dataclasses.asdict(self.color_jitter)
        out["grayscale"] = self.grayscale
        if self.blur is not None:
            blur = dataclasses.asdict(self.blur)
            blur["sigma"] = list(blur["sigma"])
            out["blur"] = blur
        out["solarize"] = self.solarize
        if self.ops:
            out["ops"] = [op.to_dict() for op in self.ops]
        return out

    @classmethod
    def from_dict(cls, spec: dict) -> "ViewSpec":
        """Build from plain data; unknown keys raise a ``ValueError`` naming them."""
        spec = dict(spec)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(spec) - known
        if unknown:
            raise ValueError(f"view has no setting(s) {sorted(unknown)}; known: {sorted(known)}")
        if "crop" in spec:
            spec["crop"] = crop_from_dict(spec["crop"])
        if spec.get("color_jitter") is not None:
            spec["color_jitter"] = _build(ColorJitter, spec["color_jitter"], "color_jitter")
        if spec.get("blur") is not None:
            blur = dict(spec["blur"])
            if "sigma" in blur:
                blur["sigma"] = tuple(blur["sigma"])
            spec["blur"] = _build(Blur, blur, "blur")
        if "ops" in spec:
            spec["ops"] = tuple(op_from_dict(op) for op in spec["ops"] or ())
        if isinstance(spec.get("size"), list):
            spec["size"] = tuple(spec["size"])
        return cls(**spec)


def _build(cls, values: dict, name: str):
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"{name} has no setting(s) {sorted(unknown)}; known: {sorted(known)}")
    return cls(**values)
