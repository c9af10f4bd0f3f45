"""The object proxy: a saliency map per image, and the object mask it implies.

Without object annotations, the diagnostics take the salient region as "the object"
(DESIGN.md, "Measuring pairs on real photos"). Saliency functions follow
``pairgen.saliency``'s batched contract, ``f(images (B, 3, H, W) uint8) -> (B, 1, H, W)``
maps in [0, 1]; each image is squeezed to a ``SIDE`` x ``SIDE`` grid first (area
fractions, component counts and normalised centroids do not change under that
scaling), so a worker batch is one call.

The default is boundary contrast (``pairgen.saliency.boundary_contrast``) *without*
its centre prior: the prior assumes that the subject sits in the middle, which is
the very thing the centricity section measures (with it, scattered scenes merge
into one central blob and look object-centric). A sidecar mask or saliency file,
when given, replaces the computed map. The object mask is Otsu's threshold of the map.

Example:
    >>> rgb = np.zeros((100, 150, 3), np.uint8); rgb[30:70, 60:100] = 255
    >>> maps = saliency_maps([rgb])
    >>> mask = object_mask(maps[0])
    >>> maps.shape, bool(mask[32, 40]), bool(mask[2, 2])
    ((1, 64, 64), True, False)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np
import torch

from pairgen.registry import SALIENCY
from pairgen.saliency import boundary_contrast

#: Side of the normalised saliency grid.
SIDE = 64

SaliencyFn = Callable[[torch.Tensor], torch.Tensor]


def boundary_contrast_no_prior(images: torch.Tensor) -> torch.Tensor:
    """Boundary-contrast saliency without the centre prior (the diagnostics' default)."""
    return boundary_contrast(images, size=SIDE, centre_sigma=None)


def saliency_method(name: str) -> SaliencyFn:
    """The object proxy's saliency for a name of :data:`pairgen.registry.SALIENCY`
    (``pairgen diagnose --saliency``); boundary contrast without its centre prior."""
    if SALIENCY.canonical(name) == "boundary_contrast":
        return boundary_contrast_no_prior
    return SALIENCY.get(name)


def saliency_maps(images: Sequence[np.ndarray], saliency: SaliencyFn = boundary_contrast_no_prior) -> np.ndarray:
    """``(B, SIDE, SIDE)`` float32 maps in [0, 1] of uint8 RGB images of any sizes."""
    if not images:
        return np.zeros((0, SIDE, SIDE), np.float32)
    grid = np.stack([cv2.resize(rgb, (SIDE, SIDE), interpolation=cv2.INTER_AREA) for rgb in images])
    with torch.no_grad():
        maps = saliency(torch.from_numpy(grid).permute(0, 3, 1, 2).contiguous())
    maps = maps.detach().float().cpu().numpy().reshape(len(images), *maps.shape[-2:])
    return np.stack([normalise_map(m) for m in maps])


def normalise_map(raw: np.ndarray) -> np.ndarray:
    """Any 2-D map (uint8 0-255 or float) -> ``SIDE`` x ``SIDE`` float32 in [0, 1]; NaN -> 0."""
    raw = np.nan_to_num(np.asarray(raw, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
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
