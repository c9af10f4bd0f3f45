"""Extra per-view ops that recipes can name: the extension point for new transforms.

A view op works on rendered views (after crop and flip, before colour jitter),
batched, with its own replayable params: ``sample`` draws them from per-sample
seeds, ``apply`` renders them, and geometric ops also move per-pixel maps
(``apply_to_maps``) and points (``apply_to_points``) so masks, boxes and the
correspondence between views follow.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

import torch

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

    def to_dict(self) -> dict:
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {"type": self.name, **{k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()}}


def op_from_dict(spec: dict) -> ViewOp:
    """Build a registered view op from ``{"type": name, **settings}``."""
    spec = dict(spec)
    name = spec.pop("type", None)
    if name not in VIEW_OPS:
        raise ValueError(f"op type must be one of {sorted(VIEW_OPS)}, got {name!r}")
    cls = VIEW_OPS[name]
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(spec) - known
    if unknown:
        raise ValueError(f"op type {name!r} has no setting(s) {sorted(unknown)}; known: {sorted(known)}")
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in spec.items()})
