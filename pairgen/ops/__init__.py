"""View ops and their batched kernels: pure functions of a batch and its per-sample params.

Every op is registered by name in :data:`pairgen.registry.OPS`; the protocol is
:class:`~pairgen.ops.view_op.ViewOp`, the colour fusion :mod:`pairgen.ops.fusion`.
"""

from pairgen.ops.blur import Blur, gaussian_blur
from pairgen.ops.color import Brightness, ColorJitter, Contrast, Grayscale, Saturation
from pairgen.ops.color_affine import apply_affine, channel_means
from pairgen.ops.flip import Flip
from pairgen.ops.hue import Hue, adjust_hue
from pairgen.ops.normalize import IMAGENET_MEAN, IMAGENET_STD, Normalize, normalize
from pairgen.ops.resized_crop import resized_crop
from pairgen.ops.solarize import Solarize, solarize
from pairgen.ops.view_op import ViewOp, op_from_dict

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "Blur",
    "Brightness",
    "ColorJitter",
    "Contrast",
    "Flip",
    "Grayscale",
    "Hue",
    "Normalize",
    "Saturation",
    "Solarize",
    "ViewOp",
    "adjust_hue",
    "apply_affine",
    "channel_means",
    "gaussian_blur",
    "normalize",
    "op_from_dict",
    "resized_crop",
    "solarize",
]
