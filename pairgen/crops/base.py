"""The crop-sampler interface (registered by name in :data:`pairgen.registry.CROPS`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

import torch

from pairgen.registry import CROPS, to_settings

if TYPE_CHECKING:
    from pairgen.batch import ImageBatch
    from pairgen.params import ViewParams


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
        return to_settings(self)


def crop_from_dict(spec: dict) -> CropSampler:
    """Build a registered crop sampler from ``{"type": name, **settings}``."""
    return CROPS.build(spec)


def check_range(name: str, value: tuple[float, float], low: float, high: float) -> None:
    """Raise a ``ValueError`` naming ``name`` unless ``low <= value[0] <= value[1] <= high``."""
    if len(value) != 2 or not low <= value[0] <= value[1] <= high:
        raise ValueError(f"{name} must be (min, max) with {low} <= min <= max <= {high}, got {value}")
