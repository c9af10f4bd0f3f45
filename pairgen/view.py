"""One view's augmentation: a crop and a list of view ops; sample their params, render them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import torch

from pairgen.batch import ImageBatch
from pairgen.crops import CropSampler, RandomResizedCrop, crop_from_dict
from pairgen.ops.flip import folded_flips
from pairgen.ops.fusion import fold_normalize, run_steps
from pairgen.ops.normalize import Normalize
from pairgen.ops.resized_crop import resized_crop
from pairgen.ops.view_op import ViewOp, op_from_dict
from pairgen.params import ViewParams
from pairgen.random import derive_seeds

_CROP = 1  # stream of the crop's seeds; op k of the view draws from stream 100 + k
_OPS = 100
#: Shorthand keys of a view (the recipe format before ops lists) and the op each becomes,
#: in SimCLR's and BYOL's order: flip, the listed ops, colour jitter, grayscale, blur, solarize.
_SHORTHAND = ("flip", "color_jitter", "grayscale", "blur", "solarize")


@dataclass(frozen=True)
class ViewSpec:
    """How to draw ``count`` views of each image: a crop, then ``ops`` in order.

    The engine folds flips that follow the crop directly into the crop kernel and
    fuses consecutive affine colour ops, and the recipe's normalisation, into one
    per-sample map (:mod:`pairgen.ops.fusion`); every other op runs as it is listed.

    Example:
        >>> from pairgen.ops import ColorJitter, Flip
        >>> spec = ViewSpec(size=96, count=6, crop=RandomResizedCrop(scale=(0.05, 0.4)), ops=(Flip(), ColorJitter()))
        >>> ViewSpec.from_dict(spec.to_dict()) == spec
        True
    """

    size: int | tuple[int, int] = 224
    count: int = 1
    crop: CropSampler = field(default_factory=RandomResizedCrop)
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
        object.__setattr__(self, "ops", tuple(self.ops))
        if not all(isinstance(op, ViewOp) for op in self.ops):
            raise TypeError("ops must be ViewOp instances")
        if any(isinstance(op, Normalize) for op in self.ops):
            raise ValueError("normalize is set once per recipe (its 'normalize' key), not as a view op")

    @property
    def output_size(self) -> tuple[int, int]:
        return (self.size, self.size) if isinstance(self.size, int) else self.size

    @property
    def folded_flips(self) -> int:
        """How many leading ops are flips folded into the crop kernel."""
        return folded_flips(self.ops)

    def sample(self, batch: ImageBatch, seeds: torch.Tensor, previous: list[ViewParams] = ()) -> ViewParams:
        """Draw this view's params for every sample, from the ``(B,)`` int64 ``seeds``."""
        seeds = seeds.to(batch.images.device)
        boxes, fallback = self.crop.sample(batch, derive_seeds(seeds, _CROP), list(previous))
        params = ViewParams(boxes=boxes.float(), flip=torch.zeros(len(seeds), dtype=torch.bool, device=seeds.device),
                            seeds=seeds, fallback_used=fallback, size=self.output_size)
        for k, op in enumerate(self.ops):
            drawn = op.sample(batch, derive_seeds(seeds, _OPS + k), params)
            flip = params.flip ^ drawn["flip"] if k < self.folded_flips else params.flip
            params = dataclasses.replace(params, flip=flip, ops=(*params.ops, drawn))
        return params

    def apply(
        self,
        batch: ImageBatch,
        params: ViewParams,
        mean: tuple[float, float, float] | None = None,
        std: tuple[float, float, float] | None = None,
        dtype: torch.dtype = torch.float32,
        images: torch.Tensor | None = None,
        out: torch.Tensor | None = None,
        backend: str = "cpu",
    ) -> torch.Tensor:
        """Render the views described by ``params``, normalised by ``mean`` and ``std``.

        Args:
            mean: the normalisation's means (``None``: views in ``[0, 1]``); skipped for
                uint8 views, which hold ``round(255 x)`` of the view before it.
            std: the normalisation's standard deviations.
            dtype: float32, bfloat16, float16 or uint8.
            images: the canvas to crop from, default ``batch.images`` (uint8).
            out: optional contiguous ``(B, 3, h, w)`` tensor of ``dtype`` on the
                canvas's device to render into and return (``PairSampler`` passes
                shared memory inside DataLoader workers, so views reach the main
                process without a copy, as ``default_collate`` does for its batches).
            backend: ``"cpu"`` (per-image CPU kernels) or ``"batched"`` (batched
                torch ops, no host sync); the same views up to float rounding and the
                uint8 rounding of the CPU crop (``tests/test_backends.py``).
        """
        images = batch.images if images is None else images
        shape = (len(params), 3, *params.size)
        if out is not None and (out.shape != shape or out.dtype != dtype):
            raise ValueError(f"out must be a {dtype} tensor of shape {shape}, got {out.dtype} {tuple(out.shape)}")
        crops = resized_crop(images, batch.source_to_canvas(params.boxes), params.size, flip=params.flip,
                             backend=backend, out_dtype=torch.uint8 if backend == "cpu" else torch.float32)
        lead = self.folded_flips
        steps = [step for op, p in zip(self.ops[lead:], params.ops[lead:]) for step in op.steps(p)]
        if dtype == torch.uint8:  # 0-255 values: the scaling folds into the colour map like a normalisation
            steps += Normalize((0.0, 0.0, 0.0), (1 / 255,) * 3).steps({})
        elif mean is not None:
            steps += Normalize(tuple(mean), tuple(std)).steps({})
        writable = (torch.float32, torch.uint8) if backend == "cpu" else (torch.float32,)  # run_steps writes these
        target = out if out is not None and out.dtype in writable else None
        views = run_steps(crops, fold_normalize(steps), scale=255.0, backend=backend, out=target)
        if dtype == torch.uint8 and views.dtype != torch.uint8:
            views = views.round_() if backend == "cpu" else views.round()
        if out is None:
            return views.to(dtype)
        if views is not out:
            out.copy_(views)
        return out

    def render_fused(self, batch: ImageBatch, params: ViewParams, kernels, mean=None, std=None,
                     dtype: torch.dtype = torch.float32, channels_last: bool = False) -> torch.Tensor:
        """Render with the fused kernels (``kernels``: :mod:`pairgen.kernels.fused`, or the
        torch :mod:`pairgen.kernels.reference` with the same signature), for views whose
        ops are flips, colour ops (at most one hue step), then blur and solarize.

        The colour steps before the hue step become the kernel's ``affine1``, those after
        it ``affine2``, each composed for the mean colour the kernel reports
        (``view_means``); the crop is the kernels' own (``roi_align``, see their docs).
        """
        from pairgen.ops.blur import Blur
        from pairgen.ops.fusion import AffineStep, compose
        from pairgen.ops.solarize import Solarize

        lead, n = self.folded_flips, len(params)
        colour, blur, solarize = [], None, None
        for op, p in zip(self.ops[lead:], params.ops[lead:]):
            if isinstance(op, Blur) and solarize is None and blur is None:
                blur = (op, p)
            elif isinstance(op, Solarize) and solarize is None:
                solarize = (op, p)
            elif blur is None and solarize is None and not op.geometric:
                colour += op.steps(p)
            else:
                raise ValueError(f"backend 'triton' renders flips, colour ops, then blur and solarize; this view "
                                 f"has {[o.name for o in self.ops]}: use backend='batched'")
        hues = [k for k, step in enumerate(colour) if not isinstance(step, AffineStep)]
        if len(hues) > 1 or any(colour[k].hue is None for k in hues):
            raise ValueError("backend 'triton' renders one hue step between affine colour ops; use backend='batched'")
        canvas, boxes = batch.images, batch.source_to_canvas(params.boxes).float()
        size = params.size

        def as_3x4(steps, mean_rgb):
            matrix, offset = compose(steps, mean_rgb)
            return torch.cat([matrix, offset[:, :, None]], 2)

        before = colour[: hues[0]] if hues else colour
        affine1 = as_3x4(before, kernels.view_means(canvas, boxes, size))
        hue = affine2 = None
        if hues:
            hue = colour[hues[0]].hue.float()
            after = colour[hues[0] + 1 :]
            affine2 = as_3x4(after, kernels.view_means(canvas, boxes, size, affine1=affine1, hue=hue))
        options = {}
        if blur is not None:
            options.update(blur_sigma=blur[1]["sigma"].float(), blur_kernel_size=blur[0].taps)
        if solarize is not None:
            flags = solarize[1]["solarize"]
            options["solarize"] = torch.where(flags, torch.full((n,), solarize[0].threshold, device=flags.device),
                                              torch.full((n,), 2.0, device=flags.device))
        normalise = mean is not None and dtype != torch.uint8
        return kernels.render_views(canvas, boxes, size, flip=params.flip, affine1=affine1, hue=hue, affine2=affine2,
                                    mean=mean if normalise else None, std=std if normalise else None,
                                    dtype=dtype, channels_last=channels_last, **options)

    def replay_on_maps(self, maps: torch.Tensor, batch: ImageBatch, params: ViewParams,
                       mode: str | None = None) -> torch.Tensor:
        """Move per-pixel maps on the batch's canvas exactly as the images were (crop,
        flip, geometric ops); ``(B, C, H, W)`` in, ``(B, C, h, w)`` out.

        ``mode``: ``"nearest"`` keeps label values (the default for integer and bool
        maps: masks), ``"bilinear"`` filters as the images (the default for float
        maps: saliency)."""
        mode = mode or ("bilinear" if maps.is_floating_point() else "nearest")
        out = resized_crop(maps if mode == "nearest" else maps.float(), batch.source_to_canvas(params.boxes),
                           params.size, flip=params.flip, mode=mode)
        lead = self.folded_flips
        for op, p in zip(self.ops[lead:], params.ops[lead:]):
            if op.geometric:
                out = op.apply_to_maps(out, p)
        return out

    def to_dict(self) -> dict:
        """Plain data (round-trips through :meth:`from_dict`)."""
        out = {"size": list(self.size) if isinstance(self.size, tuple) else self.size, "count": self.count,
               "crop": self.crop.to_dict()}
        if self.ops:
            out["ops"] = [op.to_dict() for op in self.ops]
        return out

    @classmethod
    def from_dict(cls, spec: dict) -> "ViewSpec":
        """Build from plain data; unknown keys raise a ``ValueError`` naming them.

        The shorthand keys ``flip``, ``color_jitter``, ``grayscale``, ``blur`` and
        ``solarize`` (probabilities, or the op's settings) become ops in SimCLR's
        order around the listed ``ops``: flip, ops, jitter, grayscale, blur, solarize.
        """
        spec = dict(spec)
        known = {f.name for f in dataclasses.fields(cls)} | set(_SHORTHAND)
        unknown = set(spec) - known
        if unknown:
            raise ValueError(f"view has no setting(s) {sorted(unknown)}; known: {sorted(known)}")
        if "crop" in spec:
            spec["crop"] = crop_from_dict(spec["crop"])
        listed = [op_from_dict(op) for op in spec.pop("ops", None) or ()]
        short = {key: _shorthand(key, spec.pop(key)) for key in _SHORTHAND if key in spec}
        ops = [short.get("flip"), *listed, *(short.get(key) for key in _SHORTHAND[1:])]
        spec["ops"] = tuple(op for op in ops if op is not None)
        if isinstance(spec.get("size"), list):
            spec["size"] = tuple(spec["size"])
        return cls(**spec)


def _shorthand(key: str, value) -> ViewOp | None:
    if value is None or value == 0:
        return None
    settings = dict(value) if isinstance(value, dict) else {"p": value}
    return op_from_dict({"type": key, **settings})
