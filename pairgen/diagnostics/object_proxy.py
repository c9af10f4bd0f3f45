"""The object proxy: a saliency map per image, and the object mask it implies.

Without object annotations, the diagnostics take the salient region as "the object"
(DESIGN.md, "Measuring pairs on real photos"). Any saliency function can be used: a
callable ``f(rgb uint8 (H, W, 3)) -> (h, w) float map`` (any size, any positive
range). The default is OpenCV's spectral residual (Hou & Zhang, "Saliency Detection:
A Spectral Residual Approach", CVPR 2007), computed at 64x64 as in the paper. A
sidecar mask or saliency file, when given, replaces the computed map.

Maps are normalised to a ``SIDE`` x ``SIDE`` float32 grid in [0, 1] (non-square images
are squeezed: area fractions, component counts and normalised centroids do not
change under that scaling). The object mask is Otsu's threshold of the map.

Example:
    >>> rgb = np.zeros((100, 150, 3), np.uint8); rgb[30:70, 60:100] = 255
    >>> mask = object_mask(saliency_map(rgb))
    >>> mask.shape, bool(mask[32, 32])
    ((64, 64), True)
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

#: Side of the normalised saliency grid.
SIDE = 64

SaliencyFn = Callable[[np.ndarray], np.ndarray]

_spectral_residual = None  # one OpenCV object per process, made on first use


def opencv_spectral_residual(rgb: np.ndarray) -> np.ndarray:
    """Spectral-residual saliency of a uint8 RGB image, ``SIDE`` x ``SIDE``, in [0, 1]."""
    global _spectral_residual
    if _spectral_residual is None:
        _spectral_residual = cv2.saliency.StaticSaliencySpectralResidual_create()
    small = cv2.resize(rgb, (SIDE, SIDE), interpolation=cv2.INTER_AREA)
    ok, saliency = _spectral_residual.computeSaliency(small)
    if not ok:
        return np.zeros((SIDE, SIDE), np.float32)
    return saliency.astype(np.float32)


def saliency_map(rgb: np.ndarray, saliency: SaliencyFn = opencv_spectral_residual) -> np.ndarray:
    """``saliency(rgb)`` resized to ``SIDE`` x ``SIDE`` and scaled to [0, 1]; NaN becomes 0."""
    raw = np.nan_to_num(np.asarray(saliency(rgb), dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    return normalise_map(raw)


def normalise_map(raw: np.ndarray) -> np.ndarray:
    """Any 2-D map (uint8 0-255 or float) -> ``SIDE`` x ``SIDE`` float32 in [0, 1]."""
    raw = np.asarray(raw, dtype=np.float32)
    if raw.ndim == 3:
        raw = raw.mean(axis=2)
    if raw.shape != (SIDE, SIDE):
        raw = cv2.resize(raw, (SIDE, SIDE), interpolation=cv2.INTER_AREA)
    raw = raw - raw.min()
    top = float(raw.max())
    return raw / top if top > 1e-6 else np.zeros((SIDE, SIDE), np.float32)


def object_mask(saliency: np.ndarray) -> np.ndarray:
    """Boolean object mask: Otsu's threshold of a [0, 1] map; empty for a flat map."""
    if float(saliency.max()) - float(saliency.min()) < 1e-3:
        return np.zeros(saliency.shape, bool)
    levels = np.rint(saliency * 255).astype(np.uint8)
    threshold, _ = cv2.threshold(levels, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return levels > threshold
