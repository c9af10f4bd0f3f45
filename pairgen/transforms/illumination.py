"""Illumination change: brightness, gamma, colour temperature and a smooth shading gradient.

Purushwalkam & Gupta (NeurIPS 2020) measure illumination invariance on ALOI, where
objects are lit from other directions and with lamps of other colour temperatures.
This op imitates those changes on any photo, per sample::

    out = clamp(brightness * shading(x, y) * gains[c] * in ** gamma, 0, 1)

* ``gamma``: log-uniform in ``gamma`` (exposure curve);
* ``gains``: the white balance of a light of colour temperature ``T`` kelvin against
  daylight (6500 K), from Planck's law at three wavelengths standing for the red,
  green and blue channels (610, 550, 465 nm), scaled to keep the luma of white; ``T``
  is uniform in mired (``1e6 / T``), the perceptually even scale of lamp colours;
  below 6500 K is orange, above is blue;
* ``shading``: a linear ramp ``1 + s * t(x, y)`` with ``t`` running from -1 to 1
  across the view along a random direction, ``s`` uniform in ``[0, shading]``
  (light from one side).

Example:
    >>> from pairgen import PairSampler
    >>> recipe = {"name": "light", "normalize": None,
    ...           "views": [{"size": 16, "ops": [{"type": "illumination", "temperature": [3000, 3000]}]}]}
    >>> pairs = PairSampler(recipe, seed=0)([torch.full((3, 16, 16), 0.5)])
    >>> gains = pairs.params1.ops[0]["gains"][0]
    >>> bool(gains[0] > gains[1] > gains[2])  # warm light: red up, blue down
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from pairgen.crops.base import check_range
from pairgen.ops.color_affine import LUMA
from pairgen.ops.view_op import ViewOp
from pairgen.random import uniform

_APPLY, _BRIGHTNESS, _GAMMA, _TEMPERATURE, _SHADING, _DIRECTION = range(6)
#: Wavelengths (metres) standing for the red, green and blue channels.
WAVELENGTHS = (610e-9, 550e-9, 465e-9)
#: Daylight, the neutral colour temperature (kelvin).
NEUTRAL_KELVIN = 6500.0
# Second radiation constant h c / k_B, metre kelvin.
_C2 = 1.438776877e-2


def planck_gains(kelvin: torch.Tensor) -> torch.Tensor:
    """``(B, 3)`` RGB gains of lights at ``kelvin`` relative to 6500 K, luma-preserving.

    Planck's spectral radiance ``lambda^-5 / (exp(c2 / (lambda T)) - 1)`` at
    :data:`WAVELENGTHS`, divided by its value at 6500 K, then scaled so that
    the luma of white (weights :data:`~pairgen.ops.color.LUMA`, summing to 1) stays 1.
    """
    wavelengths = torch.tensor(WAVELENGTHS, dtype=torch.float64, device=kelvin.device)

    def radiance(t):
        return wavelengths**-5 / torch.expm1(_C2 / (wavelengths * t[:, None]))

    gains = radiance(kelvin.double()) / radiance(torch.full_like(kelvin.double(), NEUTRAL_KELVIN))
    luma = torch.tensor(LUMA, dtype=torch.float64, device=kelvin.device)
    luma = luma / luma.sum()  # the weights of a gray level (they sum to 0.9999)
    return (gains / (gains @ luma)[:, None]).float()


@dataclass(frozen=True)
class Illumination(ViewOp):
    """Random lighting change of each view (see the module docstring).

    Args:
        p: probability that a view is relit.
        brightness: range of the overall gain.
        gamma: range of the exponent (log-uniform).
        temperature: range of the light's colour temperature in kelvin (uniform in mired).
        shading: largest strength of the shading ramp, in ``[0, 1)``.

    Params (``(B, ...)`` tensors): ``applied``; ``brightness``, ``gamma``, ``kelvin``,
    ``shading``, ``direction`` (radians); ``gains`` ``(B, 3)``. Views not relit get
    the identity values.
    """

    name = "illumination"
    p: float = 1.0
    brightness: tuple[float, float] = (0.6, 1.4)
    gamma: tuple[float, float] = (0.67, 1.5)
    temperature: tuple[float, float] = (3500.0, 10000.0)
    shading: float = 0.5

    def __post_init__(self):
        if not 0.0 <= self.p <= 1.0:
            raise ValueError(f"illumination.p must be a probability in [0, 1], got {self.p}")
        check_range("illumination.brightness", tuple(self.brightness), 0.0, 100.0)
        check_range("illumination.gamma", tuple(self.gamma), 1e-2, 1e2)
        check_range("illumination.temperature", tuple(self.temperature), 1000.0, 40000.0)
        if not 0.0 <= self.shading < 1.0:
            raise ValueError(f"illumination.shading must be in [0, 1), got {self.shading}")

    def sample(self, batch, seeds, params):
        def draw(stream, low, high):
            return low + uniform(seeds, stream)[:, 0] * (high - low)

        applied = uniform(seeds, _APPLY)[:, 0] < self.p
        brightness = draw(_BRIGHTNESS, *self.brightness)
        gamma = torch.exp(draw(_GAMMA, math.log(self.gamma[0]), math.log(self.gamma[1])))
        kelvin = 1e6 / draw(_TEMPERATURE, 1e6 / self.temperature[1], 1e6 / self.temperature[0])
        shading = draw(_SHADING, 0.0, self.shading)
        direction = draw(_DIRECTION, 0.0, 2 * math.pi)

        def unless_applied(value, identity):
            return torch.where(applied, value, torch.full_like(value, identity))

        kelvin = unless_applied(kelvin, NEUTRAL_KELVIN)
        gains = torch.where(applied[:, None], planck_gains(kelvin), torch.ones(len(seeds), 3, device=seeds.device))
        return {"applied": applied, "brightness": unless_applied(brightness, 1.0), "gamma": unless_applied(gamma, 1.0),
                "kelvin": kelvin, "gains": gains, "shading": unless_applied(shading, 0.0), "direction": direction}

    def apply(self, views, params, backend="batched"):
        n, _, height, width = views.shape
        dtype, device = views.dtype, views.device
        ys = (torch.arange(height, device=device, dtype=dtype) + 0.5) / height * 2 - 1
        xs = (torch.arange(width, device=device, dtype=dtype) + 0.5) / width * 2 - 1
        cos, sin = torch.cos(params["direction"]).to(dtype), torch.sin(params["direction"]).to(dtype)
        ramp = (cos[:, None, None] * xs[None, None, :] + sin[:, None, None] * ys[None, :, None])
        ramp = ramp / (cos.abs() + sin.abs())[:, None, None]  # -1 .. 1 across the view
        shade = 1 + params["shading"].to(dtype)[:, None, None] * ramp
        gain = params["brightness"].to(dtype)[:, None, None, None] * params["gains"].to(dtype)[:, :, None, None]
        out = views.clamp(0, 1) ** params["gamma"].to(dtype)[:, None, None, None]
        return (out * gain * shade[:, None]).clamp_(0, 1)
