"""One call from photos and a backbone to the invariance score of a transformation.

Example:
    >>> from pairgen.invariance.data import load_measure_data
    >>> from pairgen.invariance.backbones import load_backbone
    >>> data = load_measure_data(["skimage"], size=64)
    >>> score, pooled, info = measure_invariance(load_backbone("resnet18"), data, "illumination", size=64)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import torch

from pairgen.invariance.backbones import Backbone
from pairgen.invariance.data import MeasureData
from pairgen.invariance.features import layer_features
from pairgen.invariance.pooled import PooledInvariance, pooled_invariance
from pairgen.invariance.score import MIN_SET_SIZE, InvarianceScore, invariance_score
from pairgen.invariance.sets import group_sets, transformed_sets
from pairgen.ops.view_op import ViewOp
from pairgen.transforms import Illumination, Occlusion, Viewpoint

#: Transformations of one photo (default settings of their ops) and sets of several images.
SYNTHETIC = {"occlusion": Occlusion, "viewpoint": Viewpoint, "illumination": Illumination}
TRANSFORMS = (*SYNTHETIC, "instance", "temporal")


def measure_invariance(
    backbone: Backbone,
    data: MeasureData,
    transform: str | ViewOp,
    layer: str | None = None,
    set_size: int = 8,
    size: int = 224,
    seed: int = 0,
    percentile: float = 95.0,
    top_k: int = 25,
    batch_size: int = 32,
    pool: str = "mean",
) -> tuple[InvarianceScore, PooledInvariance, dict[str, Any]]:
    """The invariance of ``backbone`` (at ``layer``, default its own) to ``transform``.

    ``transform`` is a view op or a name of :data:`TRANSFORMS`: ``occlusion``,
    ``viewpoint``, ``illumination`` (each photo with ``set_size - 1`` transformed
    copies; occlusion finds the object with the photo's mask or pairgen's built-in
    saliency), ``instance`` (photos of one group) or ``temporal`` (runs of
    ``set_size`` frames of one video).

    Each set is its own class (the paper's score without class labels); sets of fewer
    than 3 images are left out of the paper's score (the reference would count them as
    classes that score 0) but not of the pooled variant; ``percentile``
    is the firing percentile of the pooled variant only (the paper's score derives its
    own from the number of classes); ``top_k`` applies to both.

    Returns:
        The paper's score (:func:`~pairgen.invariance.invariance_score`), pairgen's
        pooled variant (:func:`~pairgen.invariance.pooled_invariance`) and
        ``{"transform", "layer", "fallback_rate"}`` (the share of transformed images
        whose op fell back).
    """
    layer = backbone.layer if layer is None else layer
    fallback_rate = 0.0
    if isinstance(transform, ViewOp) or transform in SYNTHETIC:
        op = transform if isinstance(transform, ViewOp) else SYNTHETIC[transform]()
        if not data.photos:
            raise ValueError(f"transform {op.name!r} needs photos; the data has only video frames")
        saliency = None
        if isinstance(op, Occlusion):
            from pairgen.saliency import builtin_saliency

            saliency = builtin_saliency
        images, sets, fallback = transformed_sets(data.photos, op, set_size, size, seed, saliency)
        fallback_rate = float(fallback.float().mean()) if len(fallback) else 0.0
        name = op.name
    elif transform == "instance":
        grouped = [i for i, g in enumerate(data.photo_groups) if g is not None]
        if not grouped:
            raise ValueError("transform 'instance' needs grouped photos (sub-folders, or --groups)")
        images, sets = group_sets([data.photos[i] for i in grouped], [data.photo_groups[i] for i in grouped], set_size, size)
        name = transform
    elif transform == "temporal":
        if not data.frames:
            raise ValueError("transform 'temporal' needs video files")
        images, sets = group_sets(data.frames, data.frame_sources, set_size, size)
        name = transform
    else:
        raise ValueError(f"transform must be a ViewOp or one of {TRANSFORMS}, got {transform!r}")
    features = layer_features(backbone.model, images, layer, batch_size, pool, backbone.preprocess)
    member_of = torch.unique(sets, return_inverse=True)[1]
    scored = torch.bincount(member_of)[member_of] >= MIN_SET_SIZE
    if not bool(scored.any()):
        raise ValueError(f"no set has {MIN_SET_SIZE} or more images (the paper's score skips smaller sets)")
    score = invariance_score(features[scored], sets[scored], top_k=top_k)
    pooled = pooled_invariance(features, sets, percentile=percentile, top_k=top_k)
    return score, pooled, {"transform": name, "layer": layer, "fallback_rate": fallback_rate}
