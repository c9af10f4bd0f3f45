"""The fused render in Triton: ``backend="triton"``.

Same signatures and results as :mod:`pairgen.kernels.reference` (within 2e-3 in
float32; tested under ``TRITON_INTERPRET=1``). :func:`render_views` is one kernel
launch without blur and three with it (render into a float32 buffer, blur its rows in
place, blur its columns into the output); :func:`view_means` is one launch and a sum
over its lanes. The launches read every per-view value from device tensors, so
nothing waits for the device. They allocate the output, and with blur a float32
buffer of the same shape: 1x the output views without blur, 2x (float32 views), 3x
(bfloat16) or 5x (uint8) with it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import triton

from pairgen.kernels.arguments import RenderArguments, render_arguments
from pairgen.kernels.blur import blur_columns_kernel, blur_rows_kernel
from pairgen.kernels.render import means_kernel, render_kernel

# Block sizes: register use from ptxas for sm_90 (tests/test_kernels_compile.py), no spills.
RENDER_BLOCK, RENDER_WARPS = 512, 8  # output pixels per program: 63 registers a thread
MEANS_BLOCK, MEANS_CHUNKS = 256, 8  # lanes of the per-view sums (added up by torch), programs per view
COLUMNS_BLOCK = 512
ROWS_TILE = 1024  # pixels (of three planes) per program of the in-place row pass: whole rows

#: Whether the kernels run in Triton's interpreter (``TRITON_INTERPRET=1`` set before import).
INTERPRETED = type(render_kernel).__name__ == "InterpretedFunction"


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
    """Render every view of a batch from its canvas with the fused kernels.

    The arguments and the result are those of
    :func:`pairgen.kernels.reference.render_views`.
    """
    args = render_arguments(canvas, boxes, size, index=index, flip=flip, affine1=affine1, hue=hue, affine2=affine2,
                            grayscale=grayscale, solarize=solarize, blur_sigma=blur_sigma,
                            blur_kernel_size=blur_kernel_size, mean=mean, std=std, dtype=dtype,
                            channels_last=channels_last)
    _check_device(args.canvas)
    n, (height, width) = args.views, args.size
    layout = torch.channels_last if args.channels_last else torch.contiguous_format
    out = torch.empty((n, 3, height, width), dtype=args.dtype, device=canvas.device, memory_format=layout)
    if n == 0:
        return out
    blur = args.blur_sigma is not None
    colour = torch.empty((n, 3, height, width), dtype=torch.float32, device=canvas.device) if blur else out
    finish = _finish_options(args)
    _launch_render(args, colour, _finish_options(None) if blur else finish)
    if blur:
        half, block_w = args.blur_half(), triton.next_power_of_2(width)
        rows = max(1, ROWS_TILE // block_w)
        blur_rows_kernel[(n, triton.cdiv(height, rows))](
            colour, args.blur_sigma, height, width, half, ROWS=rows, BLOCK_W=block_w)
        blur_columns_kernel[(n, triton.cdiv(height * width, COLUMNS_BLOCK))](
            colour, args.blur_sigma, _or(args.solarize, args.boxes), out, *out.stride(), height, width, half,
            *finish["scalars"], **finish["flags"], BLOCK=COLUMNS_BLOCK)
    return out


def view_means(
    canvas: torch.Tensor,
    boxes: torch.Tensor,
    size: int | tuple[int, int],
    *,
    index: torch.Tensor | None = None,
    affine1: torch.Tensor | None = None,
    hue: torch.Tensor | None = None,
) -> torch.Tensor:
    """``(N, 3)`` mean colour of each view after ``affine1`` and the hue step, as
    :func:`pairgen.kernels.reference.view_means`."""
    args = render_arguments(canvas, boxes, size, index=index, affine1=affine1, hue=hue)
    _check_device(args.canvas)
    pixels = args.size[0] * args.size[1]
    chunks = min(MEANS_CHUNKS, triton.cdiv(pixels, MEANS_BLOCK))
    sums = torch.empty((args.views, 3, chunks * MEANS_BLOCK), dtype=torch.float32, device=canvas.device)
    if args.views == 0:
        return sums[:, :, 0]
    dummy = args.boxes
    means_kernel[(args.views, chunks)](
        args.canvas, *args.canvas.stride(), args.canvas.shape[2], args.canvas.shape[3],
        args.boxes, _or(args.index, dummy), _or(args.affine1, dummy), _or(args.hue, dummy), sums, *args.size,
        HAS_INDEX=args.index is not None, HAS_AFFINE1=args.affine1 is not None, HAS_HUE=args.hue is not None,
        BLOCK=MEANS_BLOCK)
    return sums.sum(2) / pixels


def _check_device(canvas: torch.Tensor) -> None:
    if canvas.device.type == "cpu" and not INTERPRETED:
        raise RuntimeError("pairgen.kernels.fused needs the canvas on a GPU; on the CPU use "
                           "pairgen.kernels.reference (or set TRITON_INTERPRET=1 before import to run "
                           "the kernels in Triton's interpreter)")


def _or(value: torch.Tensor | None, dummy: torch.Tensor) -> torch.Tensor:
    """A pointer for an absent tensor (its kernel flag is off, so it is never read)."""
    return dummy if value is None else value


def _flag(value: torch.Tensor | None, dummy: torch.Tensor) -> torch.Tensor:
    return dummy if value is None else value.view(torch.uint8)


def _finish_options(args: RenderArguments | None) -> dict:
    """Scalars and flags of the store; ``None``: store the clamped colour as is (before a blur)."""
    if args is None:
        return {"scalars": (0.0, 0.0, 0.0, 1.0, 1.0, 1.0),
                "flags": {"HAS_SOLARIZE": False, "NORMALIZE": False, "TO_UINT8": False}}
    normalize = args.mean is not None
    return {"scalars": (*(args.mean or (0.0,) * 3), *(args.std or (1.0,) * 3)),
            "flags": {"HAS_SOLARIZE": args.solarize is not None, "NORMALIZE": normalize,
                      "TO_UINT8": args.dtype == torch.uint8}}


def _launch_render(args: RenderArguments, out: torch.Tensor, finish: dict) -> None:
    canvas, dummy = args.canvas, args.boxes
    height, width = args.size
    render_kernel[(args.views, triton.cdiv(height * width, RENDER_BLOCK))](
        canvas, *canvas.stride(), canvas.shape[2], canvas.shape[3],
        args.boxes, _or(args.index, dummy), _flag(args.flip, dummy), _or(args.affine1, dummy),
        _or(args.hue, dummy), _or(args.affine2, dummy), _flag(args.grayscale, dummy), _or(args.solarize, dummy),
        out, *out.stride(), height, width, *finish["scalars"],
        HAS_INDEX=args.index is not None, HAS_FLIP=args.flip is not None, HAS_AFFINE1=args.affine1 is not None,
        HAS_HUE=args.hue is not None, HAS_AFFINE2=args.affine2 is not None,
        HAS_GRAYSCALE=args.grayscale is not None, **finish["flags"], BLOCK=RENDER_BLOCK, num_warps=RENDER_WARPS)
