"""CAST's localisation loss (Selvaraju et al., "CASTing Your Model: Learning to Localize
Improves Self-Supervised Representations", CVPR 2021, Eq. 2).

The Grad-CAM of the query view (explaining its similarity with the key) should match
the saliency map cropped by the same view's parameters: loss = 1 - cosine similarity of
the two flattened maps. Add it, weighted, to any contrastive loss; with maps from
``grad_cam(..., create_graph=True)`` it trains the backbone.

Example:
    >>> cams = torch.rand(4, 1, 7, 7, requires_grad=True)
    >>> crops = torch.rand(4, 1, 224, 224)
    >>> loss = cast_localization_loss(cams, crops)
    >>> loss.backward()
"""

from __future__ import annotations

import torch

from pairgen.saliency._maps import resize_maps

_REDUCTIONS = ("mean", "none", "batch")
#: Lower bound on the product of the norms: all-zero maps give similarity 0 (loss 1).
_EPS = 1e-8


def cast_localization_loss(
    gradcam_maps: torch.Tensor, saliency_crops: torch.Tensor, reduction: str = "mean"
) -> torch.Tensor:
    """``1 - cos(Grad-CAM, saliency crop)`` per sample.

    Args:
        gradcam_maps: ``(B, 1, h, w)`` Grad-CAM maps of the query views (differentiable).
        saliency_crops: ``(B, 1, h', w')`` saliency maps cropped (and flipped) like the
            query views; resized to ``h x w`` (area-averaged when shrinking, bilinear
            otherwise) when the sizes differ. Treated as constants.
        reduction: ``"mean"`` over the batch; ``"none"`` for the ``(B,)`` losses;
            ``"batch"`` for one cosine over the whole flattened batch, as CAST's
            released training code computes it.

    Returns:
        The loss, in [0, 1] for non-negative maps; 1 where either map is all zero.
    """
    for name, maps in (("gradcam_maps", gradcam_maps), ("saliency_crops", saliency_crops)):
        if not isinstance(maps, torch.Tensor) or maps.ndim != 4 or maps.shape[1] != 1:
            raise ValueError(f"{name} must be a (B, 1, h, w) tensor, got {getattr(maps, 'shape', type(maps).__name__)}")
    if gradcam_maps.shape[0] != saliency_crops.shape[0]:
        raise ValueError(
            f"gradcam_maps and saliency_crops must have the same batch size, "
            f"got {gradcam_maps.shape[0]} and {saliency_crops.shape[0]}"
        )
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    target = resize_maps(saliency_crops.detach().to(gradcam_maps.dtype), tuple(gradcam_maps.shape[-2:]))
    if not bool(torch.isfinite(target).all()):
        raise ValueError("saliency_crops contains NaN or infinite values")
    cams = gradcam_maps.flatten(1)
    target = target.flatten(1)
    if reduction == "batch":
        cams, target = cams.reshape(1, -1), target.reshape(1, -1)
    dot = (cams * target).sum(dim=1)
    norms = ((cams * cams).sum(dim=1) * (target * target).sum(dim=1)).clamp_min(_EPS**2).sqrt()
    losses = 1.0 - dot / norms
    return losses if reduction == "none" else losses.mean()
