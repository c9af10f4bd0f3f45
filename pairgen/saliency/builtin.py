"""The built-in, weight-free saliency: one entry point over the classical methods.

Example:
    >>> images = torch.randint(0, 256, (2, 3, 64, 96), dtype=torch.uint8)
    >>> builtin_saliency(images).shape
    torch.Size([2, 1, 64, 96])
    >>> builtin_saliency(images, method="spectral_residual", sigma=4.0).shape
    torch.Size([2, 1, 64, 96])
"""

from __future__ import annotations

import torch

from pairgen.registry import SALIENCY

#: The default method (best on photos-dev, see benchmarks/RESULTS.md); all are in
#: :data:`pairgen.registry.SALIENCY`.
DEFAULT_METHOD = "boundary_contrast"


def builtin_saliency(images: torch.Tensor, method: str = DEFAULT_METHOD, **options) -> torch.Tensor:
    """Weight-free saliency maps for a batch, computed on the images' device.

    Args:
        images: ``(B, C, H, W)`` uint8 or float (0..1) images, C in {1, 3}.
        method: a name of :data:`pairgen.registry.SALIENCY`.
        **options: keyword arguments of that method (e.g. ``size``, ``sigma``).

    Returns:
        ``(B, 1, H, W)`` maps in [0, 1] (float32 for uint8 input).
    """
    return SALIENCY.get(method)(images, **options)
