"""Saliency sources: built-in weight-free maps, the user's own maps, model heatmaps."""

from pairgen.saliency.boundary_contrast import boundary_contrast
from pairgen.saliency.builtin import BUILTIN_METHODS, DEFAULT_METHOD, builtin_saliency
from pairgen.saliency.spectral_residual import spectral_residual

__all__ = [
    "BUILTIN_METHODS",
    "DEFAULT_METHOD",
    "boundary_contrast",
    "builtin_saliency",
    "spectral_residual",
]
