"""Fused render kernels: every view of a batch from its uint8 canvas in one pass.

Two implementations with one signature (checked by :mod:`pairgen.kernels.arguments`):

* :mod:`pairgen.kernels.reference`: batched torch ops (``roi_align``, batched matrix
  products, a grouped convolution), any device; the reference and a device path;
* :mod:`pairgen.kernels.fused`: Triton kernels (imports only where Triton does), for
  ``backend="triton"``.

``render_views(canvas, boxes, size, *, index, flip, affine1, hue, affine2, grayscale,
solarize, blur_sigma, blur_kernel_size, mean, std, dtype, channels_last)`` renders
crop-and-resize, flip, colour, grayscale, blur, solarize and normalize;
``view_means(canvas, boxes, size, *, index, affine1, hue)`` gives the mean colour that
contrast needs.
"""

from __future__ import annotations

import importlib.util


def triton_available() -> bool:
    """Whether Triton is installed (the fused kernels also need a GPU, or ``TRITON_INTERPRET=1``)."""
    return importlib.util.find_spec("triton") is not None
