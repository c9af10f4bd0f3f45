"""Triton kernels: the separable Gaussian blur of the rendered views, then their finish.

Two passes over a float32 ``(N, 3, h, w)`` buffer of clamped colour (what
:func:`pairgen.kernels.render.render_kernel` stores when a recipe blurs): the rows in
place (each program owns whole rows, so it reads them all before it writes), then
the columns straight into the output with solarize, normalize and the dtype and
layout of :func:`pairgen.kernels.render.finish_view`. Each view has its own sigma
(``<= 0``: the pass copies it); the taps are ``-half .. half`` (the kernel size of
the recipe's sigma range), the weights ``exp(-d^2 / 2 sigma^2)`` normalised, the
padding reflect (``d`` past an edge reads ``-d`` inside it), as
:func:`pairgen.ops.blur.gaussian_blur`.
"""

from __future__ import annotations

import triton
import triton.language as tl

from pairgen.kernels.render import finish_view


@triton.jit
def blur_rows_kernel(buffer, sigma, H, W, half, ROWS: tl.constexpr, BLOCK_W: tl.constexpr):
    """Grid ``(views, cdiv(H, ROWS))``: blur ``ROWS`` whole rows of the three planes of one view in place."""
    v = tl.program_id(0)
    s = tl.load(sigma + v)
    if s > 0.0:
        rows = tl.program_id(1) * ROWS + tl.arange(0, ROWS)[:, None]
        cols = tl.arange(0, BLOCK_W)[None, :]
        mask = (rows < H) & (cols < W)
        base = buffer + v.to(tl.int64) * 3 * H * W + rows * W
        total = s * 0.0
        r = tl.full([ROWS, BLOCK_W], 0.0, tl.float32)
        g = tl.full([ROWS, BLOCK_W], 0.0, tl.float32)
        b = tl.full([ROWS, BLOCK_W], 0.0, tl.float32)
        for d in range(-half, half + 1):  # helpers written out: nested calls are slow in the interpreter
            z = d / s
            w = tl.exp(-0.5 * z * z)
            total += w
            source = base + (W - 1) - tl.abs((W - 1) - tl.abs(cols + d))  # reflect
            r += w * tl.load(source, mask=mask, other=0.0)
            g += w * tl.load(source + H * W, mask=mask, other=0.0)
            b += w * tl.load(source + 2 * H * W, mask=mask, other=0.0)
        tl.debug_barrier()  # every thread has read its rows before any writes them
        tl.store(base + cols, r / total, mask=mask)
        tl.store(base + H * W + cols, g / total, mask=mask)
        tl.store(base + 2 * H * W + cols, b / total, mask=mask)


@triton.jit
def blur_columns_kernel(
    buffer, sigma, solarize, out, o_n, o_c, o_h, o_w, H, W, half,
    mean0, mean1, mean2, std0, std1, std2,
    HAS_SOLARIZE: tl.constexpr, NORMALIZE: tl.constexpr, TO_UINT8: tl.constexpr, BLOCK: tl.constexpr,
):
    """Grid ``(views, cdiv(H * W, BLOCK))``: blur columns of ``BLOCK`` pixels of one view
    (all three planes) and finish them into ``out``."""
    v = tl.program_id(0)
    offsets = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    mask = offsets < H * W
    y = offsets // W
    x = offsets % W
    s = tl.load(sigma + v)
    reach = tl.where(s > 0.0, half, 0)
    s = tl.where(s > 0.0, s, 1.0)
    base = buffer + v.to(tl.int64) * 3 * H * W + x
    total = s * 0.0
    r = tl.full([BLOCK], 0.0, tl.float32)
    g = tl.full([BLOCK], 0.0, tl.float32)
    b = tl.full([BLOCK], 0.0, tl.float32)
    for d in range(-reach, reach + 1):
        z = d / s
        w = tl.exp(-0.5 * z * z)
        total += w
        row = base + ((H - 1) - tl.abs((H - 1) - tl.abs(y + d))) * W  # reflect
        r += w * tl.load(row, mask=mask, other=0.0)
        g += w * tl.load(row + H * W, mask=mask, other=0.0)
        b += w * tl.load(row + 2 * H * W, mask=mask, other=0.0)
    finish_view(out, o_n, o_c, o_h, o_w, v, y, x, mask, r / total, g / total, b / total, solarize,
                mean0, mean1, mean2, std0, std1, std2, HAS_SOLARIZE, NORMALIZE, TO_UINT8)
