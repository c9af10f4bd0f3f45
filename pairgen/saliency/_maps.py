"""Small batched image helpers shared by the saliency methods (private)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: ITU-R BT.601 luma weights, as used by PIL's ``convert("L")`` and OpenCV.
LUMA_WEIGHTS = (0.299, 0.587, 0.114)
#: Linear sRGB to CIE XYZ (rows X, Y, Z; D65), the matrix of skimage and kornia.
SRGB_TO_XYZ = ((0.412453, 0.357580, 0.180423), (0.212671, 0.715160, 0.072169), (0.019334, 0.119193, 0.950227))
#: The D65 reference white, 2-degree observer.
D65_WHITE = (0.95047, 1.0, 1.08883)
#: CIE L*a*b* from the cube-rooted (f(X), f(Y), f(Z)); L* also subtracts 16.
F_TO_LAB = ((0.0, 116.0, 0.0), (500.0, -500.0, 0.0), (0.0, 200.0, -200.0))


def check_images(images: torch.Tensor, name: str = "images") -> None:
    """Raise ``ValueError`` unless ``images`` is a finite ``(B, C, H, W)`` batch with C in {1, 3}."""
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(images).__name__}")
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"{name} must have shape (B, C, H, W) with C in {{1, 3}}, got {tuple(images.shape)}")
    if images.shape[0] == 0 or images.shape[2] == 0 or images.shape[3] == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(images.shape)}")
    if images.dtype == torch.bool or images.is_complex():
        raise TypeError(f"{name} must be uint8 or floating point, got {images.dtype}")
    if images.is_floating_point() and not bool(torch.isfinite(images).all()):
        raise ValueError(f"{name} contains NaN or infinite values")


def working_dtype(images: torch.Tensor) -> torch.dtype:
    """float64 for float64 input, float32 for everything else (half types lack FFT on CPU)."""
    return torch.float64 if images.dtype == torch.float64 else torch.float32


def output_dtype(images: torch.Tensor) -> torch.dtype:
    """The dtype of a saliency map for ``images``: its float dtype, float32 for integer input."""
    return images.dtype if images.is_floating_point() else torch.float32


def to_gray(images: torch.Tensor) -> torch.Tensor:
    """``(B, 1, H, W)`` luma in the working dtype, in the input's own value scale."""
    x = images.to(working_dtype(images))
    if x.shape[1] == 1:
        return x
    weights = torch.tensor(LUMA_WEIGHTS, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * weights).sum(dim=1, keepdim=True)


def gaussian_kernel1d(sigma: float, dtype: torch.dtype, device: torch.device, truncate: float = 3.0) -> torch.Tensor:
    """Normalised 1-D Gaussian of radius ``int(truncate * sigma + 0.5)`` (as scipy.ndimage)."""
    radius = int(truncate * sigma + 0.5)
    x = torch.arange(-radius, radius + 1, dtype=dtype, device=device)
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    return kernel / kernel.sum()


def gaussian_blur(maps: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of ``(B, 1, H, W)`` maps with mirror ("reflect") borders.

    The radius is clipped to ``min(H, W) - 1`` so that small maps stay valid.
    """
    if sigma <= 0:
        return maps
    kernel = gaussian_kernel1d(sigma, maps.dtype, maps.device)
    radius = min(kernel.numel() // 2, maps.shape[-2] - 1, maps.shape[-1] - 1)
    if radius < kernel.numel() // 2:
        centre = kernel.numel() // 2
        kernel = kernel[centre - radius : centre + radius + 1]
        kernel = kernel / kernel.sum()
    if radius == 0:
        return maps
    x = F.pad(maps, (radius, radius, radius, radius), mode="reflect")
    x = F.conv2d(x, kernel.view(1, 1, 1, -1))
    return F.conv2d(x, kernel.view(1, 1, -1, 1))


def normalise_per_image(maps: torch.Tensor, rel_tol: float = 1e-6) -> torch.Tensor:
    """Min-max normalise each ``(1, H, W)`` map to [0, 1]; flat maps become all ones.

    A map is flat when its range is at most ``rel_tol`` times its largest magnitude
    (or exactly zero): it carries no saliency, so every pixel is equally salient.
    """
    flat = maps.flatten(1)
    low = flat.amin(dim=1, keepdim=True)
    high = flat.amax(dim=1, keepdim=True)
    span = high - low
    scale = torch.maximum(high.abs(), low.abs())
    is_flat = span <= rel_tol * scale
    normalised = (flat - low) / torch.where(is_flat, torch.ones_like(span), span)
    normalised = torch.where(is_flat, torch.ones_like(normalised), normalised)
    return normalised.clamp_(0.0, 1.0).view_as(maps)


def centre_prior(height: int, width: int, sigma_frac: float, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``(1, 1, H, W)`` isotropic Gaussian in normalised coordinates, 1 at the image centre."""
    ys = (torch.arange(height, dtype=dtype, device=device) + 0.5) / height - 0.5
    xs = (torch.arange(width, dtype=dtype, device=device) + 0.5) / width - 0.5
    d2 = ys.view(-1, 1) ** 2 + xs.view(1, -1) ** 2
    return torch.exp(-d2 / (2.0 * sigma_frac**2)).view(1, 1, height, width)


def resize_maps(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize (half-pixel centres); area averaging when shrinking.

    Shrinking by whole factors sums strided slices, rows then columns: the means of
    ``F.adaptive_avg_pool2d`` (to float rounding) at a quarter to a half of its CPU time.
    """
    height, width = maps.shape[-2:]
    if (height, width) == tuple(size):
        return maps
    if size[0] <= height and size[1] <= width:
        if height % size[0] == 0 and width % size[1] == 0:
            return _shrink_by_whole_factors(maps, height // size[0], width // size[1])
        return F.adaptive_avg_pool2d(maps, size)
    return F.interpolate(maps, size=size, mode="bilinear", align_corners=False)


def _shrink_by_whole_factors(maps: torch.Tensor, fy: int, fx: int) -> torch.Tensor:
    """Mean over each ``fy x fx`` block, as two passes of strided sums."""
    rows = maps[..., ::fy, :].clone()
    for i in range(1, fy):
        rows += maps[..., i::fy, :]
    out = rows[..., ::fx].clone()
    for j in range(1, fx):
        out += rows[..., j::fx]
    return out.div_(fy * fx)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """CIE L*a*b* (D65 white) of ``(B, 3, H, W)`` sRGB in [0, 1], float in, same dtype out.

    The formulas of ``skimage.color.rgb2lab`` and ``kornia.color.rgb_to_lab`` (IEC
    61966-2-1 linearisation; CIE 1976 with the 0.008856 linear segment), with the 2.4 and
    1/3 powers taken as in-place ``exp(p * log(x))``, which costs about a third of
    ``torch.pow`` on the CPU: 1.8x kornia's speed on 16 images of 64 x 64
    (``benchmarks/bench_saliency_helpers.py``).
    """
    dtype, device = rgb.dtype, rgb.device
    to_xyz = torch.tensor(SRGB_TO_XYZ, dtype=torch.float64) / torch.tensor(D65_WHITE, dtype=torch.float64)[:, None]
    linear = torch.where(rgb > 0.04045, rgb.add(0.055).div_(1.055).log_().mul_(2.4).exp_(), rgb / 12.92)
    xyz = torch.einsum("oi,bihw->bohw", to_xyz.to(dtype=dtype, device=device), linear)
    cube_rooted = torch.where(xyz > 0.008856, xyz.clamp_min(0.008856).log_().div_(3.0).exp_(), xyz * 7.787 + 4.0 / 29.0)
    lab = torch.einsum("oi,bihw->bohw", torch.tensor(F_TO_LAB, dtype=dtype, device=device), cube_rooted)
    lab[:, 0] -= 16.0
    return lab
