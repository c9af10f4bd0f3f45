"""Measuring what a backbone is invariant to: the invariance score of Purushwalkam &
Gupta (NeurIPS 2020) on sets of transformed images or of images of one group."""

from pairgen.invariance.features import find_layer, layer_features
from pairgen.invariance.score import InvarianceResult, firing_thresholds, invariance_score
from pairgen.invariance.sets import group_sets, transformed_sets

__all__ = [
    "InvarianceResult",
    "find_layer",
    "firing_thresholds",
    "group_sets",
    "invariance_score",
    "layer_features",
    "transformed_sets",
]
