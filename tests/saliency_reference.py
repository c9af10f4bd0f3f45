"""Plain numpy/scipy reference implementations for the saliency tests (loops, no torch)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import scipy.ndimage
import skimage.color


def photos_dev_names(root: Path) -> list[str]:
    with (root / "manifest.csv").open() as f:
        return [Path(row["file"]).stem for row in csv.DictReader(f)]


def area_resize(image: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Mean over the bins [floor(i*H/h), ceil((i+1)*H/h)) (torch's adaptive average pooling)."""
    height, width = image.shape[:2]
    out = np.zeros((out_h, out_w) + image.shape[2:])
    for i in range(out_h):
        y0, y1 = (i * height) // out_h, math.ceil((i + 1) * height / out_h)
        for j in range(out_w):
            x0, x1 = (j * width) // out_w, math.ceil((j + 1) * width / out_w)
            out[i, j] = image[y0:y1, x0:x1].mean(axis=(0, 1))
    return out


def bilinear_resize(image: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Bilinear resize with half-pixel centres and edge clamping."""

    def taps(n_out: int, n_in: int):
        src = np.maximum((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0.0)
        i0 = np.minimum(np.floor(src).astype(int), n_in - 1)
        i1 = np.minimum(i0 + 1, n_in - 1)
        return i0, i1, src - i0

    y0, y1, wy = taps(out_h, image.shape[0])
    x0, x1, wx = taps(out_w, image.shape[1])
    rows = image[y0] * (1 - wy)[:, None] + image[y1] * wy[:, None]
    return rows[:, x0] * (1 - wx)[None, :] + rows[:, x1] * wx[None, :]


def minmax(a: np.ndarray) -> np.ndarray:
    return (a - a.min()) / (a.max() - a.min())


def spectral_residual_reference(rgb: np.ndarray, size: int = 64, sigma: float = 2.5) -> np.ndarray:
    """Hou & Zhang 2007 on one ``(H, W, 3)`` image, step by step with numpy and scipy."""
    gray = rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    small = area_resize(gray, size, size)
    spectrum = np.fft.fft2(small)
    log_amplitude = np.log(np.abs(spectrum))
    residual = log_amplitude - scipy.ndimage.uniform_filter(log_amplitude, size=3, mode="nearest")
    saliency = np.abs(np.fft.ifft2(np.exp(residual + 1j * np.angle(spectrum)))) ** 2
    saliency = scipy.ndimage.gaussian_filter(saliency, sigma, mode="mirror", truncate=3.0)
    return minmax(bilinear_resize(saliency, *rgb.shape[:2]))


def boundary_contrast_reference(
    rgb: np.ndarray, size: int = 64, border: float = 0.05, centre_sigma: float = 0.3, ridge: float = 0.1
) -> np.ndarray:
    """Boundary contrast x centre prior on one ``(H, W, 3)`` uint8 image, with numpy and skimage."""
    height, width = rgb.shape[:2]
    scale = size / max(height, width)
    h, w = max(8, round(height * scale)), max(8, round(width * scale))
    lab = skimage.color.rgb2lab(area_resize(rgb.astype(np.float64) / 255.0, h, w))
    k = max(1, round(border * min(h, w)))
    distances = []
    for strip in (lab[:k], lab[-k:], lab[:, :k], lab[:, -k:]):
        samples = strip.reshape(-1, 3)
        mean = samples.mean(axis=0)
        covariance = np.cov(samples.T, bias=True) + ridge * np.eye(3)
        inverse = np.linalg.inv(covariance)
        d = np.zeros((h, w))
        for y in range(h):
            for x in range(w):
                diff = lab[y, x] - mean
                d[y, x] = math.sqrt(max(diff @ inverse @ diff, 0.0))
        distances.append(d / d.max())
    distances = np.stack(distances)
    saliency = distances.sum(axis=0) - distances.max(axis=0)
    ys = (np.arange(h) + 0.5) / h - 0.5
    xs = (np.arange(w) + 0.5) / w - 0.5
    saliency = saliency * np.exp(-(ys[:, None] ** 2 + xs[None, :] ** 2) / (2 * centre_sigma**2))
    return minmax(bilinear_resize(saliency, height, width))


def binarise_2xmean(saliency: np.ndarray) -> np.ndarray:
    """Achanta et al. 2009's adaptive threshold, capped at the maximum (never empty)."""
    return saliency >= min(2.0 * saliency.mean(), saliency.max())


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.logical_and(a, b).sum() / max(np.logical_or(a, b).sum(), 1))
