"""The built-in, weight-free saliency: one entry point over the classical methods.

Example:
    >>> images = torch.randint(0, 256, (2, 3, 64, 96), dtype=torch.uint8)
    >>> builtin_saliency(images).shape
    torch.Size([2, 1, 64, 96])
    >>> builtin_saliency(images, method="spectral_residual", sigma=4.0).shape
    torch.Size([2, 1, 64, 96])
"""

from __future__ import annotations

from typing import Callable

import torch

from pairgen.saliency.boundary_contrast import boundary_contrast
from pairgen.saliency.spectral_residual import spectral_residual

#: Built-in methods by name; the first is the default (best on photos-dev, see
#: benchmarks/RESULTS.md).
BUILTIN_METHODS: dict[str, Callable[..., torch.Tensor]] = {
    "boundary_contrast": boundary_contrast,
    "spectral_residual": spectral_residual,
}

DEFAULT_METHOD = "boundary_contrast"


def builtin_saliency(images: torch.Tensor, method: str = DEFAULT_METHOD, **options) -> torch.Tensor:
    """Weight-free saliency maps for a batch, computed on the images' device.

    Args:
        images: ``(B, C, H, W)`` uint8 or float (0..1) images, C in {1, 3}.
        method: a key of :data:`BUILTIN_METHODS`.
        **options: keyword arguments of that method (e.g. ``size``, ``sigma``).

    Returns:
        ``(B, 1, H, W)`` maps in [0, 1] (float32 for uint8 input).
    """
    if method not in BUILTIN_METHODS:
        raise ValueError(f"method must be one of {sorted(BUILTIN_METHODS)}, got {method!r}")
    return BUILTIN_METHODS[method](images, **options)
