"""The crop-sampler interface and its registry."""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

import torch

if TYPE_CHECKING:
    from pairgen.batch import ImageBatch
    from pairgen.params import ViewParams

CROP_SAMPLERS: dict[str, type["CropSampler"]] = {}


def register_crop(cls: type["CropSampler"]) -> type["CropSampler"]:
    """Class decorator: make a crop sampler available to recipes under ``cls.name``."""
    CROP_SAMPLERS[cls.name] = cls
    return cls


class CropSampler(ABC):
    """Draws one crop box per sample, vectorised over the batch.

    Subclasses are dataclasses of their settings (validated in ``__post_init__``) and
    implement :meth:`sample`. Randomness comes only from the per-sample ``seeds``
    through :mod:`pairgen.random`, so a crop replays from its seed.
    """

    name: ClassVar[str]
    #: Whether the sampler reads ``batch.saliency`` (the pipeline computes it if missing).
    needs_saliency: ClassVar[bool] = False

    @abstractmethod
    def sample(
        self, batch: "ImageBatch", seeds: torch.Tensor, previous: list["ViewParams"]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Boxes ``(B, 4)`` xyxy in source pixels and the ``(B,)`` bool fallback flags.

        Args:
            batch: the collated images and their metadata, on the sampling device.
            seeds: ``(B,)`` int64 seeds reserved for this crop.
            previous: params of the views already sampled for this batch.
        """

    def to_dict(self) -> dict:
        """The settings as plain data, ``type`` first (round-trips through :func:`crop_from_dict`)."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {"type": self.name, **{k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()}}


def crop_from_dict(spec: dict) -> CropSampler:
    """Build a registered crop sampler from ``{"type": name, **settings}``."""
    spec = dict(spec)
    name = spec.pop("type", None)
    if name not in CROP_SAMPLERS:
        raise ValueError(f"crop type must be one of {sorted(CROP_SAMPLERS)}, got {name!r}")
    cls = CROP_SAMPLERS[name]
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(spec) - known
    if unknown:
        raise ValueError(f"crop type {name!r} has no setting(s) {sorted(unknown)}; known: {sorted(known)}")
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in spec.items()})


def check_range(name: str, value: tuple[float, float], low: float, high: float) -> None:
    """Raise a ``ValueError`` naming ``name`` unless ``low <= value[0] <= value[1] <= high``."""
    if len(value) != 2 or not low <= value[0] <= value[1] <= high:
        raise ValueError(f"{name} must be (min, max) with {low} <= min <= max <= {high}, got {value}")
