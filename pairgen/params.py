"""Explicit, batched, replayable parameters of one view."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

_NOT_BATCHED = ("size", "extras")


@dataclass(frozen=True)
class ViewParams:
    """Everything random about one view of every sample of a batch.

    Sampled separately from being applied (kornia's ``generate_parameters`` /
    torchvision v2's ``make_params``), so the same params replay on images, masks,
    saliency maps and boxes, and give the geometric correspondence between views.
    A view replays from ``seeds`` alone (see :mod:`pairgen.random`).

    Attributes:
        boxes: ``(B, 4)`` float crop boxes, ``x1, y1, x2, y2`` in the source image's pixels.
        flip: ``(B,)`` bool, horizontal flip after the crop.
        jitter: ``(B, 4)`` colour factors: brightness, contrast, saturation (1 = identity)
            and hue shift in turns (0 = identity), as torchvision's ``ColorJitter``.
        jitter_order: ``(B, 4)`` int64 permutation of the four colour steps.
        grayscale: ``(B,)`` bool.
        blur_sigma: ``(B,)`` float Gaussian blur sigma in output pixels (0 = no blur).
        solarize: ``(B,)`` bool.
        seeds: ``(B,)`` int64 per-sample seeds the params were drawn from.
        fallback_used: ``(B,)`` bool, the crop sampler fell back to its deterministic crop.
        size: output ``(height, width)``.
        extras: params of the view's extra ops (:mod:`pairgen.ops.view_op`), one dict
            of ``(B, ...)`` tensors per op, in the order of ``ViewSpec.ops``.
    """

    boxes: torch.Tensor
    flip: torch.Tensor
    jitter: torch.Tensor
    jitter_order: torch.Tensor
    grayscale: torch.Tensor
    blur_sigma: torch.Tensor
    solarize: torch.Tensor
    seeds: torch.Tensor
    fallback_used: torch.Tensor
    size: tuple[int, int]
    extras: tuple[dict[str, torch.Tensor], ...] = ()

    def __len__(self) -> int:
        return self.boxes.shape[0]

    def __repr__(self) -> str:
        """A few lines: the batch size, output size, device and how often each step fired."""
        n = len(self)
        counts = ", ".join(f"{name} {int(flags.sum())}/{n}" for name, flags in (
            ("flip", self.flip), ("grayscale", self.grayscale), ("blur", self.blur_sigma > 0),
            ("solarize", self.solarize), ("fallback", self.fallback_used)))
        extras = f"; extras: {', '.join(sorted(k for extra in self.extras for k in extra))}" if self.extras else ""
        return (f"ViewParams({n} samples, size {self.size[0]}x{self.size[1]}, {self.boxes.device}; "
                f"{counts}{extras})")

    def to(self, device: torch.device | str) -> "ViewParams":
        """The same params on ``device``."""
        return self._map(lambda t: t.to(device))

    def __getitem__(self, index) -> "ViewParams":
        """Params of a subset of samples (an int, slice, index or bool tensor)."""
        if isinstance(index, int):
            index = slice(index, index + 1)
        return self._map(lambda t: t[index])

    def _map(self, fn) -> "ViewParams":
        changes = {f.name: fn(getattr(self, f.name)) for f in dataclasses.fields(self) if f.name not in _NOT_BATCHED}
        extras = tuple({k: fn(v) for k, v in extra.items()} for extra in self.extras)
        return dataclasses.replace(self, **changes, extras=extras)

    @staticmethod
    def cat(params: list["ViewParams"]) -> "ViewParams":
        """Concatenate the params of several batches of one view."""
        first = params[0]
        changes = {
            f.name: torch.cat([getattr(p, f.name) for p in params])
            for f in dataclasses.fields(first)
            if f.name not in _NOT_BATCHED
        }
        extras = tuple({k: torch.cat([p.extras[i][k] for p in params]) for k in extra} for i, extra in enumerate(first.extras))
        return dataclasses.replace(first, **changes, extras=extras)
