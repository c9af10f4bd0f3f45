"""The fused render in batched torch ops: the reference the Triton kernels equal.

Same signature and semantics as :mod:`pairgen.kernels.fused`; every step is one batched
op over all views (no per-sample Python loop, no host sync), so it also runs as a
device path wherever Triton does not (it converts the canvas to float32 once, as
``roi_align`` needs; the kernels read it as it is). The steps, per view:

1. **crop and resize**: ``torchvision.ops.roi_align`` (``aligned=True``,
   ``sampling_ratio=-1``) of the box from its canvas image: bilinear, averaging
   ``ceil(box_h / out_h) x ceil(box_w / out_w)`` samples per output pixel (an area-like
   antialias when shrinking, plain bilinear when enlarging); canvas values 0-255 are
   divided by 255; pixels outside the canvas read as 0 (roi_align's rule);
2. **flip** left-right where ``flip``;
3. **colour**: ``x -> A1 [x; 1]``; where ``hue != 0``, clamp to ``[0, 1]`` and shift the
   HSV hue by ``hue`` turns (torchvision's ``adjust_hue``); ``x -> A2 [x; 1]``; where
   ``grayscale``, every channel becomes the ITU-R 601 luma; clamp to ``[0, 1]``;
4. **blur** (Gaussian, ``blur_kernel_size`` taps, shrunk below the view's shorter side,
   reflect padding; ``sigma <= 0`` keeps the view) where ``blur_sigma`` is given;
5. **solarize**: values ``>= solarize`` become ``1 - x`` (a threshold > 1 never fires);
6. **normalize** ``(x - mean) / std``; into ``dtype`` (uint8: ``floor(255 x + 0.5)``,
   no normalisation), optionally channels_last.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torchvision.ops import roi_align

from pairgen.kernels.arguments import LUMA, RenderArguments, render_arguments


def render_views(
    canvas: torch.Tensor,
    boxes: torch.Tensor,
    size: int | tuple[int, int],
    *,
    index: torch.Tensor | None = None,
    flip: torch.Tensor | None = None,
    affine1: torch.Tensor | None = None,
    hue: torch.Tensor | None = None,
    affine2: torch.Tensor | None = None,
    grayscale: torch.Tensor | None = None,
    solarize: torch.Tensor | None = None,
    blur_sigma: torch.Tensor | None = None,
    blur_kernel_size: int | None = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    dtype: torch.dtype = torch.float32,
    channels_last: bool = False,
) -> torch.Tensor:
    """Render every view of a batch from its canvas.

    Args:
        canvas: ``(B, 3, H, W)`` uint8 (or floating, holding 0-255 values), any strides.
        boxes: ``(N, 4)`` boxes ``x1, y1, x2, y2`` in canvas pixels (pixel ``i`` spans
            ``[i, i + 1)``); they may reach outside the canvas.
        size: output ``(height, width)`` or an int.
        index: ``(N,)`` int, the canvas image of each view (default ``arange(B)``, then
            ``N`` must be ``B``); values must lie in ``[0, B)`` (not checked: that would
            wait for the device).
        flip: ``(N,)`` bool.
        affine1: ``(N, 3, 4)`` colour map before the hue step, acting on ``[0, 1]`` RGB.
        hue: ``(N,)`` HSV hue shift in turns (0: no hue step, and no clamp before it).
        affine2: ``(N, 3, 4)`` colour map after the hue step.
        grayscale: ``(N,)`` bool.
        solarize: ``(N,)`` thresholds in ``[0, 1]`` units (> 1: none).
        blur_sigma: ``(N,)`` Gaussian sigma in output pixels (``<= 0``: none).
        blur_kernel_size: odd number of taps, required with ``blur_sigma``
            (``pairgen.ops.blur.kernel_size_for`` of the recipe's largest sigma).
        mean, std: 3 floats each, or ``None`` for ``[0, 1]`` views.
        dtype: ``torch.float32``, ``torch.bfloat16`` or ``torch.uint8``.
        channels_last: return a channels_last tensor.

    Returns:
        ``(N, 3, height, width)`` views of ``dtype`` on the canvas's device.
    """
    args = render_arguments(canvas, boxes, size, index=index, flip=flip, affine1=affine1, hue=hue, affine2=affine2,
                            grayscale=grayscale, solarize=solarize, blur_sigma=blur_sigma,
                            blur_kernel_size=blur_kernel_size, mean=mean, std=std, dtype=dtype,
                            channels_last=channels_last)
    views = _colour(_crop_resize(args), args)
    if args.blur_sigma is not None:
        views = _blur(views, args.blur_sigma, args.blur_half())
    if args.solarize is not None:
        views = torch.where(views >= args.solarize[:, None, None, None], 1 - views, views)
    return _finish(views, args)


def view_means(
    canvas: torch.Tensor,
    boxes: torch.Tensor,
    size: int | tuple[int, int],
    *,
    index: torch.Tensor | None = None,
    affine1: torch.Tensor | None = None,
    hue: torch.Tensor | None = None,
) -> torch.Tensor:
    """``(N, 3)`` float32 mean colour of each view after ``affine1`` and the hue step.

    What contrast needs (it blends towards the mean gray of the image it is applied
    to): pass the ``affine1`` and ``hue`` of the steps before each view's contrast
    (identity and 0 where contrast comes first). Takes the arguments of
    :func:`render_views`.
    """
    args = render_arguments(canvas, boxes, size, index=index, affine1=affine1, hue=hue)
    return _stage1(_crop_resize(args), args).mean((2, 3))


def _crop_resize(args: RenderArguments) -> torch.Tensor:
    canvas = args.canvas if args.canvas.dtype == torch.float32 else args.canvas.float()
    index = args.index if args.index is not None else torch.arange(args.views, device=canvas.device)
    rois = torch.cat([index.to(torch.float32)[:, None], args.boxes], dim=1)
    views = roi_align(canvas, rois, output_size=args.size, spatial_scale=1.0, sampling_ratio=-1, aligned=True)
    views = views / 255
    if args.flip is not None:
        views = torch.where(args.flip[:, None, None, None], views.flip(-1), views)
    return views


def _affine(matrix: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    n, c, h, w = x.shape
    return torch.baddbmm(matrix[:, :, 3:], matrix[:, :, :3], x.reshape(n, c, h * w)).view(n, c, h, w)


def _stage1(x: torch.Tensor, args: RenderArguments) -> torch.Tensor:
    if args.affine1 is not None:
        x = _affine(args.affine1, x)
    if args.hue is not None:
        shifted = adjust_hue(x.clamp(0, 1), args.hue)
        x = torch.where((args.hue != 0)[:, None, None, None], shifted, x)
    return x


def _colour(x: torch.Tensor, args: RenderArguments) -> torch.Tensor:
    x = _stage1(x, args)
    if args.affine2 is not None:
        x = _affine(args.affine2, x)
    if args.grayscale is not None:
        luma = LUMA[0] * x[:, 0:1] + LUMA[1] * x[:, 1:2] + LUMA[2] * x[:, 2:3]
        x = torch.where(args.grayscale[:, None, None, None], luma.expand_as(x), x)
    return x.clamp(0, 1)


def adjust_hue(x: torch.Tensor, hue: torch.Tensor) -> torch.Tensor:
    """Shift the HSV hue of ``(N, 3, H, W)`` RGB in ``[0, 1]`` by ``(N,)`` turns.

    torchvision's ``adjust_hue`` semantics (hexcone HSV; ties of the largest channel
    resolved red, then green, then blue; ``p, q, t`` clamped to ``[0, 1]``), with one
    shift per sample.
    """
    r, g, b = x.unbind(1)
    value = torch.maximum(torch.maximum(r, g), b)
    chroma = value - torch.minimum(torch.minimum(r, g), b)
    gray = chroma == 0
    saturation = chroma / torch.where(gray, 1.0, value)
    divisor = torch.where(gray, 1.0, chroma)
    sector = torch.where(value == r, (g - b) / divisor,
                         torch.where(value == g, 2 + (b - r) / divisor, 4 + (r - g) / divisor))
    h = torch.remainder(sector / 6 + hue[:, None, None], 1.0)
    h6 = h * 6
    i = torch.floor(h6)
    f = h6 - i
    i = torch.remainder(i, 6)
    p = (value * (1 - saturation)).clamp(0, 1)
    q = (value * (1 - saturation * f)).clamp(0, 1)
    t = (value * (1 - saturation * (1 - f))).clamp(0, 1)

    def pick(*choices):  # choices[k] where i == k
        out = choices[5]
        for k in range(4, -1, -1):
            out = torch.where(i == k, choices[k], out)
        return out

    return torch.stack([pick(value, q, p, p, t, value), pick(t, value, value, q, p, p),
                        pick(p, p, t, value, value, q)], dim=1)


def _blur(x: torch.Tensor, sigma: torch.Tensor, half: int) -> torch.Tensor:
    n, c, h, w = x.shape
    taps = torch.arange(-half, half + 1, device=x.device, dtype=torch.float32)
    # sigma <= 0 gives a one-tap kernel: the view is kept exactly.
    weights = torch.exp(-0.5 * (taps[None, :] / sigma.clamp_min(1e-6)[:, None]) ** 2)
    weights = (weights / weights.sum(1, keepdim=True)).repeat_interleave(c, 0)
    planes = F.pad(x.reshape(1, n * c, h, w), (half, half, half, half), mode="reflect")
    planes = F.conv2d(planes, weights[:, None, None, :], groups=n * c)
    planes = F.conv2d(planes, weights[:, None, :, None], groups=n * c)
    return planes.view(n, c, h, w)


@functools.lru_cache(maxsize=64)
def _channel_constant(values: tuple[float, float, float], device: torch.device) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32, device=device).view(1, 3, 1, 1)  # built once per device


def _finish(x: torch.Tensor, args: RenderArguments) -> torch.Tensor:
    if args.dtype == torch.uint8:
        x = torch.floor(x * 255 + 0.5).clamp_(0, 255).to(torch.uint8)
    else:
        if args.mean is not None:
            x = (x - _channel_constant(args.mean, x.device)) / _channel_constant(args.std, x.device)
        x = x.to(args.dtype)
    return x.contiguous(memory_format=torch.channels_last) if args.channels_last else x
