"""Backbones that ship with offline weights, for model heatmaps (Grad-CAM, activations)."""

from pairgen.models.efficientnet_lite import EfficientNetLite0, efficientnet_lite0, preprocess

__all__ = ["EfficientNetLite0", "efficientnet_lite0", "preprocess"]
