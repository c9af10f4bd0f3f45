"""Saliency sources: built-in weight-free maps, the user's own maps, model heatmaps, and
CAST's localisation loss."""

from pairgen.saliency.batch import batch_saliency
from pairgen.saliency.boundary_contrast import boundary_contrast
from pairgen.saliency.builtin import DEFAULT_METHOD, builtin_saliency
from pairgen.saliency.gradcam import activation_heatmap, grad_cam
from pairgen.saliency.localization_loss import cast_localization_loss
from pairgen.saliency.sidecar import (
    SALIENCY_KEY,
    SIDECAR_EXTENSIONS,
    SIDECAR_INFIXES,
    is_sidecar_stem,
    load_saliency,
    saliency_dir_candidates,
    sidecar_candidates,
    sidecar_names,
    to_saliency_map,
)
from pairgen.saliency.spectral_residual import spectral_residual

__all__ = [
    "DEFAULT_METHOD",
    "SALIENCY_KEY",
    "SIDECAR_EXTENSIONS",
    "SIDECAR_INFIXES",
    "activation_heatmap",
    "batch_saliency",
    "boundary_contrast",
    "builtin_saliency",
    "cast_localization_loss",
    "grad_cam",
    "is_sidecar_stem",
    "load_saliency",
    "saliency_dir_candidates",
    "sidecar_candidates",
    "sidecar_names",
    "spectral_residual",
    "to_saliency_map",
]
