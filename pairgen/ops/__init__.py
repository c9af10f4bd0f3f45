"""Batched ops: pure functions of a batch and its per-sample params, on any device."""

from pairgen.ops.blur import gaussian_blur
from pairgen.ops.color import apply_affine, color_affine, color_jitter
from pairgen.ops.normalize import IMAGENET_MEAN, IMAGENET_STD, normalize
from pairgen.ops.resized_crop import resized_crop
from pairgen.ops.solarize import solarize
from pairgen.ops.view_op import ViewOp, op_from_dict

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "ViewOp",
    "apply_affine",
    "color_affine",
    "color_jitter",
    "gaussian_blur",
    "normalize",
    "op_from_dict",
    "resized_crop",
    "solarize",
]
