"""Triton kernels: one program renders a block of output pixels of one view.

Every step of :mod:`pairgen.kernels.reference` up to the output store happens in
registers: the canvas is read as is (uint8 or float, any strides), each output pixel
averages ``ceil(box_h / out_h) x ceil(box_w / out_w)`` bilinear samples (roi_align's
adaptive sampling, ``aligned=True``), then flip, ``affine1``, the HSV hue step,
``affine2``, grayscale, clamp, solarize, normalize and the conversion to the output
dtype and layout. Per-view parameters are read from device tensors, one set per
program, so nothing waits for the host.

The kernels use only builtins of ``triton.language``. Its ``@triton.jit`` helpers
(``tl.zeros``, ``tl.sum``, ``tl.cdiv``) stay compiled-only when Triton was imported
before ``TRITON_INTERPRET=1`` was set (torchvision imports it), and the interpreter
cannot run them then; ``tl.reduce`` with an own combine function would run element by
element there.
"""

from __future__ import annotations

import triton
import triton.language as tl

# ITU-R 601-2 luma weights (pairgen.kernels.arguments.LUMA).
LUMA_R = tl.constexpr(0.2989)
LUMA_G = tl.constexpr(0.587)
LUMA_B = tl.constexpr(0.114)


@triton.jit
def _bilinear(canvas, s_c, s_h, s_w, H, W, y, x, mask):
    """RGB at ``(y, x)``, torchvision roi_align's ``bilinear_interpolate`` border rule:
    zero beyond one pixel outside the canvas, clamped to the edge within it."""
    inside = mask & (y >= -1.0) & (y <= H) & (x >= -1.0) & (x <= W)
    y = tl.maximum(y, 0.0)
    x = tl.maximum(x, 0.0)
    y0 = y.to(tl.int32)
    x0 = x.to(tl.int32)
    y_edge = y0 >= H - 1
    x_edge = x0 >= W - 1
    y0 = tl.where(y_edge, H - 1, y0)
    x0 = tl.where(x_edge, W - 1, x0)
    y = tl.where(y_edge, y0.to(tl.float32), y)
    x = tl.where(x_edge, x0.to(tl.float32), x)
    y1 = tl.where(y_edge, y0, y0 + 1)
    x1 = tl.where(x_edge, x0, x0 + 1)
    ly = y - y0
    lx = x - x0
    hy = 1.0 - ly
    hx = 1.0 - lx
    w00, w01, w10, w11 = hy * hx, hy * lx, ly * hx, ly * lx
    o00, o01 = y0 * s_h + x0 * s_w, y0 * s_h + x1 * s_w
    o10, o11 = y1 * s_h + x0 * s_w, y1 * s_h + x1 * s_w
    # The three planes written out: a nested call per sample costs much in Triton's interpreter.
    g_plane, b_plane = canvas + s_c, canvas + 2 * s_c
    r = (w00 * tl.load(canvas + o00, mask=inside, other=0).to(tl.float32)
         + w01 * tl.load(canvas + o01, mask=inside, other=0).to(tl.float32)
         + w10 * tl.load(canvas + o10, mask=inside, other=0).to(tl.float32)
         + w11 * tl.load(canvas + o11, mask=inside, other=0).to(tl.float32))
    g = (w00 * tl.load(g_plane + o00, mask=inside, other=0).to(tl.float32)
         + w01 * tl.load(g_plane + o01, mask=inside, other=0).to(tl.float32)
         + w10 * tl.load(g_plane + o10, mask=inside, other=0).to(tl.float32)
         + w11 * tl.load(g_plane + o11, mask=inside, other=0).to(tl.float32))
    b = (w00 * tl.load(b_plane + o00, mask=inside, other=0).to(tl.float32)
         + w01 * tl.load(b_plane + o01, mask=inside, other=0).to(tl.float32)
         + w10 * tl.load(b_plane + o10, mask=inside, other=0).to(tl.float32)
         + w11 * tl.load(b_plane + o11, mask=inside, other=0).to(tl.float32))
    return tl.where(inside, r, 0.0), tl.where(inside, g, 0.0), tl.where(inside, b, 0.0)


@triton.jit
def _resized_crop(canvas, s_b, s_c, s_h, s_w, H, W, boxes, index, flip, v, oy, ox, mask, OH, OW,
                  HAS_INDEX: tl.constexpr, HAS_FLIP: tl.constexpr):
    """RGB in ``[0, 1]`` of output pixels ``(oy, ox)`` of view ``v``: roi_align
    (``aligned=True``, ``sampling_ratio=-1``) of its box, then the flip."""
    if HAS_INDEX:
        image = tl.load(index + v)
    else:
        image = v.to(tl.int64)
    canvas += image * s_b
    if HAS_FLIP:
        ox = tl.where(tl.load(flip + v) != 0, OW - 1 - ox, ox)
    x1 = tl.load(boxes + 4 * v)
    y1 = tl.load(boxes + 4 * v + 1)
    x2 = tl.load(boxes + 4 * v + 2)
    y2 = tl.load(boxes + 4 * v + 3)
    bin_h = (y2 - y1) / OH
    bin_w = (x2 - x1) / OW
    grid_h = tl.ceil(bin_h).to(tl.int32)
    grid_w = tl.ceil(bin_w).to(tl.int32)
    count = tl.maximum(grid_h * grid_w, 1).to(tl.float32)
    top = (y1 - 0.5) + oy.to(tl.float32) * bin_h
    left = (x1 - 0.5) + ox.to(tl.float32) * bin_w
    r = tl.full(oy.shape, 0.0, tl.float32)
    g = tl.full(oy.shape, 0.0, tl.float32)
    b = tl.full(oy.shape, 0.0, tl.float32)
    for iy in range(0, grid_h):
        y = top + (iy + 0.5) * bin_h / grid_h
        for ix in range(0, grid_w):
            x = left + (ix + 0.5) * bin_w / grid_w
            sr, sg, sb = _bilinear(canvas, s_c, s_h, s_w, H, W, y, x, mask)
            r += sr
            g += sg
            b += sb
    return r / count / 255.0, g / count / 255.0, b / count / 255.0


@triton.jit
def _affine(matrix, v, r, g, b):
    """``A [r, g, b, 1]`` with view ``v``'s row-major ``3 x 4`` matrix."""
    m = matrix + 12 * v
    r2 = tl.load(m) * r + tl.load(m + 1) * g + tl.load(m + 2) * b + tl.load(m + 3)
    g2 = tl.load(m + 4) * r + tl.load(m + 5) * g + tl.load(m + 6) * b + tl.load(m + 7)
    b2 = tl.load(m + 8) * r + tl.load(m + 9) * g + tl.load(m + 10) * b + tl.load(m + 11)
    return r2, g2, b2


@triton.jit
def _clamp01(x):
    return tl.minimum(tl.maximum(x, 0.0), 1.0)


@triton.jit
def _pick(i, c0, c1, c2, c3, c4, c5):
    return tl.where(i == 0, c0, tl.where(i == 1, c1, tl.where(i == 2, c2, tl.where(i == 3, c3,
                    tl.where(i == 4, c4, c5)))))


@triton.jit
def _hue_shift(r, g, b, shift):
    """torchvision's ``adjust_hue`` of RGB in ``[0, 1]`` by ``shift`` turns (as
    :func:`pairgen.kernels.reference.adjust_hue`)."""
    value = tl.maximum(tl.maximum(r, g), b)
    chroma = value - tl.minimum(tl.minimum(r, g), b)
    gray = chroma == 0
    saturation = chroma / tl.where(gray, 1.0, value)
    divisor = tl.where(gray, 1.0, chroma)
    sector = tl.where(value == r, (g - b) / divisor,
                      tl.where(value == g, 2.0 + (b - r) / divisor, 4.0 + (r - g) / divisor))
    h = sector / 6.0 + shift
    h = h - tl.floor(h)
    h6 = h * 6.0
    i = tl.floor(h6)
    f = h6 - i
    i = tl.where(i >= 6.0, i - 6.0, i)
    p = _clamp01(value * (1.0 - saturation))
    q = _clamp01(value * (1.0 - saturation * f))
    t = _clamp01(value * (1.0 - saturation * (1.0 - f)))
    return (_pick(i, value, q, p, p, t, value), _pick(i, t, value, value, q, p, p),
            _pick(i, p, p, t, value, value, q))


@triton.jit
def _stage1(r, g, b, affine1, hue, v, HAS_AFFINE1: tl.constexpr, HAS_HUE: tl.constexpr):
    """``affine1``, then (where the view's hue shift is not 0) clamp and the hue step."""
    if HAS_AFFINE1:
        r, g, b = _affine(affine1, v, r, g, b)
    if HAS_HUE:
        shift = tl.load(hue + v)
        if shift != 0.0:
            r, g, b = _hue_shift(_clamp01(r), _clamp01(g), _clamp01(b), shift)
    return r, g, b


@triton.jit
def _stage2(r, g, b, affine2, grayscale, v, HAS_AFFINE2: tl.constexpr, HAS_GRAYSCALE: tl.constexpr):
    """``affine2``, grayscale, clamp to ``[0, 1]``."""
    if HAS_AFFINE2:
        r, g, b = _affine(affine2, v, r, g, b)
    if HAS_GRAYSCALE:
        if tl.load(grayscale + v) != 0:
            luma = LUMA_R * r + LUMA_G * g + LUMA_B * b
            r, g, b = luma, luma, luma
    return _clamp01(r), _clamp01(g), _clamp01(b)


@triton.jit
def _store_channel(ptr, offsets, x, mask, mean, std, NORMALIZE: tl.constexpr, TO_UINT8: tl.constexpr):
    if TO_UINT8:
        x = tl.minimum(tl.maximum(tl.floor(x * 255.0 + 0.5), 0.0), 255.0)
    elif NORMALIZE:
        x = (x - mean) / std
    tl.store(ptr + offsets, x.to(ptr.dtype.element_ty), mask=mask)


@triton.jit
def finish_view(out, o_n, o_c, o_h, o_w, v, oy, ox, mask, r, g, b, solarize,
                mean0, mean1, mean2, std0, std1, std2,
                HAS_SOLARIZE: tl.constexpr, NORMALIZE: tl.constexpr, TO_UINT8: tl.constexpr):
    """Solarize, normalize and store pixels ``(oy, ox)`` of view ``v`` in ``out``'s dtype and strides."""
    if HAS_SOLARIZE:
        threshold = tl.load(solarize + v)
        r = tl.where(r >= threshold, 1.0 - r, r)
        g = tl.where(g >= threshold, 1.0 - g, g)
        b = tl.where(b >= threshold, 1.0 - b, b)
    out += v.to(tl.int64) * o_n
    offsets = oy * o_h + ox * o_w
    _store_channel(out, offsets, r, mask, mean0, std0, NORMALIZE, TO_UINT8)
    _store_channel(out + o_c, offsets, g, mask, mean1, std1, NORMALIZE, TO_UINT8)
    _store_channel(out + 2 * o_c, offsets, b, mask, mean2, std2, NORMALIZE, TO_UINT8)


@triton.jit
def render_kernel(
    canvas, s_b, s_c, s_h, s_w, H, W,
    boxes, index, flip, affine1, hue, affine2, grayscale, solarize,
    out, o_n, o_c, o_h, o_w, OH, OW,
    mean0, mean1, mean2, std0, std1, std2,
    HAS_INDEX: tl.constexpr, HAS_FLIP: tl.constexpr, HAS_AFFINE1: tl.constexpr, HAS_HUE: tl.constexpr,
    HAS_AFFINE2: tl.constexpr, HAS_GRAYSCALE: tl.constexpr, HAS_SOLARIZE: tl.constexpr,
    NORMALIZE: tl.constexpr, TO_UINT8: tl.constexpr, BLOCK: tl.constexpr,
):
    """Grid ``(views, cdiv(OH * OW, BLOCK))``: the whole render of ``BLOCK`` pixels of one view.
    Without solarize, normalisation and a float32 ``out`` it stores the clamped colour
    (the input of the blur kernels)."""
    v = tl.program_id(0)
    offsets = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    mask = offsets < OH * OW
    oy = offsets // OW
    ox = offsets % OW
    r, g, b = _resized_crop(canvas, s_b, s_c, s_h, s_w, H, W, boxes, index, flip, v, oy, ox, mask, OH, OW,
                            HAS_INDEX, HAS_FLIP)
    r, g, b = _stage1(r, g, b, affine1, hue, v, HAS_AFFINE1, HAS_HUE)
    r, g, b = _stage2(r, g, b, affine2, grayscale, v, HAS_AFFINE2, HAS_GRAYSCALE)
    finish_view(out, o_n, o_c, o_h, o_w, v, oy, ox, mask, r, g, b, solarize, mean0, mean1, mean2, std0, std1,
                std2, HAS_SOLARIZE, NORMALIZE, TO_UINT8)


@triton.jit
def means_kernel(
    canvas, s_b, s_c, s_h, s_w, H, W,
    boxes, index, affine1, hue, sums, OH, OW,
    HAS_INDEX: tl.constexpr, HAS_AFFINE1: tl.constexpr, HAS_HUE: tl.constexpr, BLOCK: tl.constexpr,
):
    """Grid ``(views, chunks)``: one view's colour after ``affine1`` and the hue step, every
    ``chunks``-th block of ``BLOCK`` pixels summed lane by lane into
    ``sums[v, c, chunk * BLOCK:(chunk + 1) * BLOCK]`` (the caller adds the lanes up: a
    reduction inside the kernel would need ``tl.sum``, see the module's note)."""
    v = tl.program_id(0)
    chunk = tl.program_id(1)
    chunks = tl.num_programs(1)
    sum_r = tl.full([BLOCK], 0.0, tl.float32)
    sum_g = tl.full([BLOCK], 0.0, tl.float32)
    sum_b = tl.full([BLOCK], 0.0, tl.float32)
    for start in range(chunk * BLOCK, OH * OW, chunks * BLOCK):
        offsets = start + tl.arange(0, BLOCK)
        mask = offsets < OH * OW
        r, g, b = _resized_crop(canvas, s_b, s_c, s_h, s_w, H, W, boxes, index, boxes, v, offsets // OW,
                                offsets % OW, mask, OH, OW, HAS_INDEX, False)
        r, g, b = _stage1(r, g, b, affine1, hue, v, HAS_AFFINE1, HAS_HUE)
        sum_r += tl.where(mask, r, 0.0)
        sum_g += tl.where(mask, g, 0.0)
        sum_b += tl.where(mask, b, 0.0)
    lanes = sums + v.to(tl.int64) * 3 * chunks * BLOCK + chunk * BLOCK + tl.arange(0, BLOCK)
    tl.store(lanes, sum_r)
    tl.store(lanes + chunks * BLOCK, sum_g)
    tl.store(lanes + 2 * chunks * BLOCK, sum_b)
