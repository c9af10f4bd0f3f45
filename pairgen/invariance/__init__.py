"""Measuring what a backbone is invariant to: the invariance score of Purushwalkam &
Gupta (NeurIPS 2020) on sets of transformed images or of images of one group, and
pairgen's pooled variant with chance and maximum levels."""

from pairgen.invariance.features import find_layer, layer_features
from pairgen.invariance.pooled import PooledInvariance, firing_thresholds, pooled_invariance
from pairgen.invariance.score import InvarianceScore, firing_percentile, invariance_score
from pairgen.invariance.sets import group_sets, transformed_sets

__all__ = [
    "InvarianceScore",
    "PooledInvariance",
    "find_layer",
    "firing_percentile",
    "firing_thresholds",
    "group_sets",
    "invariance_score",
    "layer_features",
    "pooled_invariance",
    "transformed_sets",
]
