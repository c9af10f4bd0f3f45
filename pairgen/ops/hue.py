"""Hue shift in HSV space, as torchvision's ``adjust_hue``, batched with a shift per sample.

torchvision converts RGB to HSV, adds the shift (in turns) to the hue channel modulo
one and converts back. A hue shift keeps each pixel's maximum (value) and its
chroma (maximum - minimum), so :func:`adjust_hue` computes only the hue sector
``h6`` in ``[0, 6)`` and rebuilds each channel with the closed form of HSV to RGB,
``max - chroma * clamp(min(k, 4 - k), 0, 1)``, ``k = (n + h6) mod 6`` with
``n = 5, 3, 1`` for red, green and blue: the same values as torchvision's
``_rgb2hsv``/``_hsv2rgb`` up to float32 rounding (``tests/test_ops.py`` checks it
on real photos), in a dozen elementwise ops with no gather, on any device.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from pairgen.ops.fusion import PixelStep
from pairgen.ops.view_op import ViewOp, check_probability, coin
from pairgen.random import uniform


def _shifted(images: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    red, green, blue = images.unbind(1)
    high = images.amax(1)
    chroma = high - images.amin(1)
    safe = torch.where(chroma > 0, chroma, torch.ones_like(chroma))
    rc, gc, bc = (high - red) / safe, (high - green) / safe, (high - blue) / safe
    # torchvision's sector choice: red first, then green, else blue.
    h6 = torch.where(high == red, bc - gc, torch.where(high == green, 2.0 + rc - bc, 4.0 + gc - rc))
    h6 = torch.remainder(h6 + 6.0 * shift.to(images.dtype)[:, None, None], 6.0)
    channels = [high - chroma * torch.clamp(torch.minimum(k, 4.0 - k), 0.0, 1.0)
                for k in (torch.remainder(n + h6, 6.0) for n in (5.0, 3.0, 1.0))]
    return torch.stack(channels, 1)


def adjust_hue(images: torch.Tensor, shift: torch.Tensor, backend: str = "batched", inplace: bool = False) -> torch.Tensor:
    """Shift the HSV hue of each float ``(B, 3, H, W)`` image in ``[0, 1]`` by ``shift`` turns.

    Images with ``shift == 0`` are returned unchanged. ``"batched"`` computes the whole
    batch and selects (no host sync); ``"cpu"`` converts only the shifted images, with
    OpenCV's float HSV conversion (the same definition, several times faster there),
    overwriting ``images`` when ``inplace``.

    Example:
        >>> red = torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1)
        >>> adjust_hue(red, torch.tensor([1 / 3])).flatten().tolist()  # red -> green
        [0.0, 1.0, 0.0]
    """
    if images.dim() != 4 or images.shape[1] != 3 or not images.is_floating_point():
        raise ValueError(f"images must be a float (B, 3, H, W) tensor, got {images.dtype} {tuple(images.shape)}")
    if shift.shape != (images.shape[0],):
        raise ValueError(f"shift must have shape ({images.shape[0]},), got {tuple(shift.shape)}")
    if backend == "cpu" and images.dtype == torch.float32:
        out = images if inplace and images.is_contiguous() else images.clone(memory_format=torch.contiguous_format)
        pixels = np.empty((*images.shape[2:], 3), dtype=np.float32)  # one image, interleaved, reused
        for i, turns in zip((shift != 0).nonzero()[:, 0].tolist(), shift[shift != 0].tolist()):
            planes = list(out[i].numpy())
            cv2.merge(planes, pixels)
            cv2.cvtColor(pixels, cv2.COLOR_RGB2HSV, dst=pixels)
            pixels[..., 0] += (360.0 * turns) % 360.0  # degrees; OpenCV wraps hues above 360 (not below 0)
            cv2.cvtColor(pixels, cv2.COLOR_HSV2RGB, dst=pixels)
            cv2.split(pixels, planes)  # back into out[i]'s planes
        return out
    return torch.where((shift != 0).view(-1, 1, 1, 1), _shifted(images, shift), images)


@dataclass(frozen=True)
class Hue(ViewOp):
    """Shift the hue by a uniform ``[-strength, strength]`` turns with probability ``p``
    (torchvision's ``ColorJitter(hue=strength)``). Params: ``shift`` ``(B,)`` turns."""

    name = "hue"
    p: float = 1.0
    strength: float = 0.1

    def __post_init__(self):
        check_probability("hue.p", self.p)
        if not 0 <= self.strength <= 0.5:
            raise ValueError(f"hue.strength must be in [0, 0.5], got {self.strength}")

    def sample(self, batch, seeds, params):
        shift = (2 * uniform(seeds, 1)[:, 0] - 1) * self.strength
        return {"shift": torch.where(coin(seeds, self.p), shift, torch.zeros_like(shift))}

    def apply(self, views, params, backend="batched"):
        return adjust_hue(views, params["shift"], backend)

    def steps(self, params):
        return [PixelStep(lambda views, backend: adjust_hue(views, params["shift"], backend, inplace=True),
                          hue=params["shift"])]
