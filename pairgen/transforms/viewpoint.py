"""Viewpoint change: rotation, scale, shear, translation and perspective as one homography.

Purushwalkam & Gupta (NeurIPS 2020) measure that contrastive models learn little
viewpoint invariance. This op simulates a change of viewpoint of a roughly planar
scene: an affine map about the view's centre (rotation, isotropic scale, shear,
translation) followed by a perspective distortion that moves each corner of the
view inwards by up to ``perspective`` times half a side (torchvision's
``RandomPerspective``). Both compose into one ``3 x 3`` homography per sample, and
the whole batch is warped by one ``grid_sample`` call.

Coordinates are view pixels, ``(x, y)`` over ``[0, w] x [0, h]`` (pixel ``i`` spans
``[i, i + 1)``). ``params["matrix"]`` maps a point of the input view to the output
view; images and per-pixel maps are resampled through its inverse at the output
pixel centres, and points (so boxes, via their corners) move through the matrix
itself, so masks, boxes and images stay in register.

Example:
    >>> op = Viewpoint(rotation=(90.0, 90.0), scale=(1.0, 1.0), shear=(0.0, 0.0), translate=0.0, perspective=0.0)
    >>> from pairgen import PairSampler
    >>> recipe = {"name": "vp", "normalize": None, "views": [{"size": 8, "flip": 0.0, "ops": [op.to_dict()]}]}
    >>> pairs = PairSampler(recipe, seed=0)([torch.rand(3, 8, 8)])
    >>> op.apply_to_points(torch.tensor([[[6.0, 4.0]]]), pairs.params1.extras[0]).round()
    tensor([[[4., 2.]]])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from pairgen.crops.base import check_range
from pairgen.ops.view_op import ViewOp, register_op
from pairgen.random import uniform

_APPLY, _ROTATION, _SCALE, _SHEAR, _TRANSLATE, _CORNERS = range(6)
PADDINGS = ("zeros", "border", "reflection")
# A homogeneous coordinate below this marks a point mapped through the horizon: outside.
_MIN_W = 1e-6


def homography_from_corners(start: torch.Tensor, end: torch.Tensor) -> torch.Tensor:
    """``(B, 3, 3)`` homographies mapping 4 points ``start`` to ``end`` (``(B, 4, 2)`` each).

    The direct linear transform with ``H[2, 2] = 1``: one batched 8 x 8 solve (float64).
    """
    start, end = start.double(), end.double()
    x, y = start[..., 0], start[..., 1]
    u, v = end[..., 0], end[..., 1]
    zeros, ones = torch.zeros_like(x), torch.ones_like(x)
    rows_u = torch.stack([x, y, ones, zeros, zeros, zeros, -u * x, -u * y], -1)
    rows_v = torch.stack([zeros, zeros, zeros, x, y, ones, -v * x, -v * y], -1)
    system = torch.cat([rows_u, rows_v], 1)
    solution = torch.linalg.solve(system, torch.cat([u, v], 1))
    return torch.cat([solution, torch.ones_like(solution[:, :1])], 1).view(-1, 3, 3)


def warp_points(points: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """Apply ``(B, 3, 3)`` homographies to ``(B, N, 2)`` points (no NaN: points sent
    through the horizon get a tiny positive homogeneous coordinate, far away)."""
    homogeneous = torch.cat([points, torch.ones_like(points[..., :1])], -1) @ matrix.transpose(1, 2).to(points.dtype)
    w = homogeneous[..., 2:]
    w = torch.where(w.abs() < _MIN_W, torch.full_like(w, _MIN_W), w)
    return homogeneous[..., :2] / w


@register_op
@dataclass(frozen=True)
class Viewpoint(ViewOp):
    """Random homography warp of each view (see the module docstring).

    Args:
        p: probability that a view is warped.
        rotation: range of the rotation in degrees (counter-clockwise on screen).
        scale: range of the isotropic zoom (log-uniform).
        shear: range of the horizontal shear angle in degrees.
        translate: largest shift, as a fraction of the view's side, in x and y.
        perspective: largest inward move of each corner, as a fraction of half a side
            (torchvision's ``distortion_scale``), in ``[0, 1)``.
        padding: what the warp shows outside the view: ``"zeros"``, ``"border"``
            or ``"reflection"`` (``grid_sample``'s modes; maps use the same).

    Params: ``applied`` ``(B,)`` bool; ``matrix`` and ``inverse`` ``(B, 3, 3)``
    float64 homographies (input view to output view, and back).
    """

    name = "viewpoint"
    geometric = True
    p: float = 1.0
    rotation: tuple[float, float] = (-30.0, 30.0)
    scale: tuple[float, float] = (0.8, 1.25)
    shear: tuple[float, float] = (-10.0, 10.0)
    translate: float = 0.1
    perspective: float = 0.3
    padding: str = "zeros"

    def __post_init__(self):
        if not 0.0 <= self.p <= 1.0:
            raise ValueError(f"viewpoint.p must be a probability in [0, 1], got {self.p}")
        check_range("viewpoint.rotation", tuple(self.rotation), -180.0, 180.0)
        check_range("viewpoint.scale", tuple(self.scale), 1e-2, 1e2)
        check_range("viewpoint.shear", tuple(self.shear), -60.0, 60.0)
        if not 0.0 <= self.translate <= 1.0:
            raise ValueError(f"viewpoint.translate must be in [0, 1], got {self.translate}")
        if not 0.0 <= self.perspective < 1.0:
            raise ValueError(f"viewpoint.perspective must be in [0, 1), got {self.perspective}")
        if self.padding not in PADDINGS:
            raise ValueError(f"viewpoint.padding must be one of {PADDINGS}, got {self.padding!r}")

    def sample(self, batch, seeds, params):
        height, width = params.size
        n, device = len(seeds), seeds.device

        def draw(stream, low, high, count=1):
            return low + uniform(seeds, stream, count).double() * (high - low)

        angle = torch.deg2rad(draw(_ROTATION, *self.rotation)[:, 0])
        scale = torch.exp(draw(_SCALE, math.log(self.scale[0]), math.log(self.scale[1]))[:, 0])
        shear = torch.tan(torch.deg2rad(draw(_SHEAR, *self.shear)[:, 0]))
        shift = draw(_TRANSLATE, -self.translate, self.translate, 2) * torch.tensor([width, height], device=device)
        centre = torch.tensor([width / 2, height / 2], dtype=torch.float64, device=device)
        # y points down on screen, so a counter-clockwise turn is the matrix of -angle.
        cos, sin = torch.cos(angle), torch.sin(angle)
        linear = torch.stack([torch.stack([cos, sin], 1), torch.stack([-sin, cos], 1)], 1) * scale[:, None, None]
        linear = linear @ torch.stack([torch.stack([torch.ones_like(shear), shear], 1),
                                       torch.stack([torch.zeros_like(shear), torch.ones_like(shear)], 1)], 1)
        affine = torch.zeros(n, 3, 3, dtype=torch.float64, device=device)
        affine[:, :2, :2] = linear
        affine[:, :2, 2] = centre + shift - (linear @ centre[:, None])[:, :, 0]
        affine[:, 2, 2] = 1.0
        corners = torch.tensor([[0, 0], [width, 0], [width, height], [0, height]], dtype=torch.float64, device=device)
        inward = torch.tensor([[1, 1], [-1, 1], [-1, -1], [1, -1]], dtype=torch.float64, device=device)
        reach = self.perspective * torch.tensor([width / 2, height / 2], dtype=torch.float64, device=device)
        moved = corners + inward * uniform(seeds, _CORNERS, 8).double().view(n, 4, 2) * reach
        matrix = homography_from_corners(corners.expand(n, 4, 2), moved) @ affine
        applied = uniform(seeds, _APPLY)[:, 0] < self.p
        eye = torch.eye(3, dtype=torch.float64, device=device).expand(n, 3, 3)
        matrix = torch.where(applied[:, None, None], matrix, eye)
        return {"applied": applied, "matrix": matrix, "inverse": torch.linalg.inv(matrix)}

    def _warp(self, x: torch.Tensor, params: dict[str, torch.Tensor], mode: str) -> torch.Tensor:
        n, _, height, width = x.shape
        ys = torch.arange(height, device=x.device, dtype=torch.float64) + 0.5
        xs = torch.arange(width, device=x.device, dtype=torch.float64) + 0.5
        grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
        centres = torch.stack([grid_x, grid_y], -1).view(1, -1, 2).expand(n, -1, -1)
        source = warp_points(centres, params["inverse"].to(x.device))
        scale = torch.tensor([2.0 / width, 2.0 / height], dtype=torch.float64, device=x.device)
        grid = (source * scale - 1).clamp(-4, 4).view(n, height, width, 2)
        work = x if x.is_floating_point() and x.dtype != torch.float16 else x.float()
        out = F.grid_sample(work, grid.to(work.dtype), mode=mode, padding_mode=self.padding, align_corners=False)
        out = torch.where(params["applied"].to(x.device)[:, None, None, None], out, work)
        return out.to(x.dtype)

    def apply(self, views, params):
        return self._warp(views, params, "bilinear")

    def apply_to_maps(self, maps, params):
        """Float maps resample bilinearly, integer and bool maps (labels, masks) by nearest."""
        return self._warp(maps, params, "bilinear" if maps.is_floating_point() else "nearest")

    def apply_to_points(self, points, params):
        return warp_points(points.double(), params["matrix"].to(points.device)).to(points.dtype)

    def points_to_input(self, points, params):
        return warp_points(points.double(), params["inverse"].to(points.device)).to(points.dtype)
