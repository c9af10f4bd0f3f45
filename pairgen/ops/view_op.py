"""The view-op protocol: every augmentation of a view after its crop.

A view op is a frozen dataclass of its settings with a ``name``, registered in
:data:`pairgen.registry.OPS`, and batched with its own replayable params: ``sample``
draws them from per-sample seeds, ``apply`` renders them on float views in
``[0, 1]``. Recipes list a view's ops in the order they run
(``ops: [{type: flip}, {type: color_jitter, ...}, ...]``).

``steps`` tells the engine how the op renders (:mod:`pairgen.ops.fusion`): colour
ops that are affine maps of RGB return :class:`~pairgen.ops.fusion.AffineStep`\\ s,
which the engine fuses with their neighbours into one per-sample map; every other
op is one :class:`~pairgen.ops.fusion.PixelStep` (its ``apply``). Geometric ops also
move per-pixel maps (``apply_to_maps``) and points (``apply_to_points``, and back with
``points_to_input``), so masks, boxes and the correspondence between views follow.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

import torch

from pairgen.ops.fusion import PixelStep, Step, run_steps
from pairgen.random import uniform
from pairgen.registry import OPS, to_settings

if TYPE_CHECKING:
    from pairgen.batch import ImageBatch
    from pairgen.params import ViewParams


class ViewOp(ABC):
    """A batched transform of views with explicit params (a frozen dataclass of settings)."""

    name: ClassVar[str]
    #: Geometric ops move pixels: they must implement the map and point methods.
    geometric: ClassVar[bool] = False

    @abstractmethod
    def sample(self, batch: "ImageBatch", seeds: torch.Tensor, params: "ViewParams") -> dict[str, torch.Tensor]:
        """Per-sample params (tensors with a leading batch dimension) from ``(B,)`` seeds.

        ``params`` holds the view's crop, so an op can use the saliency or mask
        inside the crop (``ViewSpec.replay_on_maps``)."""

    def apply(self, views: torch.Tensor, params: dict[str, torch.Tensor], backend: str = "batched") -> torch.Tensor:
        """Render: ``(B, 3, h, w)`` float views in ``[0, 1]`` -> new tensor, same shape.

        ``backend`` is ``"batched"`` (batched torch ops, no host syncs) or ``"cpu"``
        (per-image CPU kernels); both give the same result. The default runs
        :meth:`steps`, so affine colour ops only define those."""
        return run_steps(views, self.steps(params), backend=backend)

    def steps(self, params: dict[str, torch.Tensor]) -> list[Step]:
        """How the engine renders the op: one pixel step (:meth:`apply`) unless overridden."""
        return [PixelStep(lambda views, backend: self.apply(views, params, backend))]

    def apply_to_maps(self, maps: torch.Tensor, params: dict[str, torch.Tensor]) -> torch.Tensor:
        """Move ``(B, C, h, w)`` per-pixel maps as the views moved (identity unless geometric)."""
        return maps

    def apply_to_points(self, points: torch.Tensor, params: dict[str, torch.Tensor]) -> torch.Tensor:
        """Move ``(B, N, 2)`` view pixel coordinates ``(x, y)`` (identity unless geometric)."""
        return points

    def points_to_input(self, points: torch.Tensor, params: dict[str, torch.Tensor]) -> torch.Tensor:
        """Move ``(B, N, 2)`` output view coordinates back to the op's input view, the
        inverse of :meth:`apply_to_points` (identity unless geometric)."""
        if self.geometric:
            raise NotImplementedError(f"geometric op {self.name!r} must implement points_to_input")
        return points

    def to_dict(self) -> dict:
        """The settings as plain data, ``type`` first (round-trips through :func:`op_from_dict`)."""
        return to_settings(self)


def op_from_dict(spec: dict) -> ViewOp:
    """Build a registered view op from ``{"type": name, **settings}``."""
    return OPS.build(spec)


def check_probability(name: str, p: float) -> None:
    """Raise a ``ValueError`` naming ``name`` unless ``0 <= p <= 1``."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {p}")


def coin(seeds: torch.Tensor, p: float, stream: int = 0) -> torch.Tensor:
    """``(B,)`` bool, True with probability ``p`` per sample."""
    return uniform(seeds, stream)[:, 0] < p
