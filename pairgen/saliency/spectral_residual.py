"""Spectral residual saliency (Hou & Zhang, "Saliency Detection: A Spectral Residual
Approach", CVPR 2007), batched in torch.

Example:
    >>> images = torch.randint(0, 256, (4, 3, 120, 160), dtype=torch.uint8)
    >>> spectral_residual(images).shape
    torch.Size([4, 1, 120, 160])
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from pairgen.saliency._maps import (
    check_images,
    gaussian_blur,
    normalise_per_image,
    output_dtype,
    resize_maps,
    to_gray,
)

#: Smoothing of the 64 px map; 2.5 px is the authors' released code (the paper says 8).
DEFAULT_SIGMA = 2.5


def spectral_residual(images: torch.Tensor, size: int = 64, sigma: float = DEFAULT_SIGMA) -> torch.Tensor:
    """Spectral residual saliency maps for a batch of images.

    Steps, all batched: luma; area-resize to ``size x size``; 2-D FFT; log amplitude
    minus its 3x3 box mean (replicated borders) is the *spectral residual*; inverse FFT
    of ``exp(residual + i * phase)``, squared magnitude; Gaussian blur of ``sigma``
    working pixels (mirrored borders); bilinear resize back to ``H x W``; per-image
    min-max normalisation. The log amplitude makes the result independent of the
    input's value scale, so uint8 and float images in [0, 1] give the same maps.
    Constant images give an all-ones (uniform) map.

    Args:
        images: ``(B, C, H, W)`` uint8 or float tensor, C in {1, 3} (RGB), any device.
        size: side of the square working resolution, at least 8.
        sigma: Gaussian smoothing in working pixels; 0 disables it.

    Returns:
        ``(B, 1, H, W)`` maps in [0, 1], in the input's float dtype (float32 for
        integer input), on the input's device.

    Example:
        >>> from skimage.data import chelsea
        >>> cat = torch.from_numpy(chelsea()).permute(2, 0, 1)[None]
        >>> float(spectral_residual(cat).max())
        1.0
    """
    check_images(images)
    if not isinstance(size, int) or size < 8:
        raise ValueError(f"size must be an int >= 8, got {size!r}")
    if not sigma >= 0:
        raise ValueError(f"sigma must be >= 0, got {sigma!r}")
    height, width = images.shape[-2:]
    gray = resize_maps(to_gray(images), (size, size))
    flat = _is_flat(gray)

    spectrum = torch.fft.fft2(gray)
    amplitude = spectrum.abs()
    # Amplitudes below float round-off of the largest one are noise; clamp before the log.
    tiny = amplitude.flatten(1).amax(dim=1).view(-1, 1, 1, 1) * torch.finfo(gray.dtype).eps
    log_amplitude = torch.log(torch.maximum(amplitude, tiny.clamp_min(torch.finfo(gray.dtype).tiny)))
    box_mean = F.avg_pool2d(F.pad(log_amplitude, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    residual = log_amplitude - box_mean
    phase = torch.angle(spectrum)
    saliency = torch.fft.ifft2(torch.polar(torch.exp(residual), phase)).abs() ** 2

    saliency = gaussian_blur(saliency, sigma)
    saliency = resize_maps(saliency, (height, width))
    saliency = normalise_per_image(saliency)
    saliency = torch.where(flat, torch.ones_like(saliency), saliency)
    return saliency.to(output_dtype(images))


def _is_flat(gray: torch.Tensor, rel_tol: float = 1e-5) -> torch.Tensor:
    """``(B, 1, 1, 1)`` mask of images whose working-resolution luma is constant."""
    flat = gray.flatten(1)
    span = flat.amax(dim=1) - flat.amin(dim=1)
    return (span <= rel_tol * flat.abs().amax(dim=1)).view(-1, 1, 1, 1)
