"""Extra per-view ops that recipes can name: the extension point for new transforms.

A view op works on rendered views (after crop and flip, before colour jitter),
batched, with its own replayable params: ``sample`` draws them from per-sample
seeds, ``apply`` renders them, and geometric ops also move per-pixel maps
(``apply_to_maps``) and points (``apply_to_points``, and back with
``points_to_input``) so masks, boxes and the correspondence between views follow.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

import torch

from pairgen.registry import from_settings, to_settings

if TYPE_CHECKING:
    from pairgen.batch import ImageBatch
    from pairgen.params import ViewParams

VIEW_OPS: dict[str, type["ViewOp"]] = {}


def register_op(cls: type["ViewOp"]) -> type["ViewOp"]:
    """Class decorator: make a view op available to recipes under ``cls.name``."""
    VIEW_OPS[cls.name] = cls
    return cls


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

    @abstractmethod
    def apply(self, views: torch.Tensor, params: dict[str, torch.Tensor]) -> torch.Tensor:
        """Render: ``(B, 3, h, w)`` float views in ``[0, 1]`` -> new tensor, same shape."""

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
    return from_settings(VIEW_OPS, spec, "op")
