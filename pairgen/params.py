"""Explicit, batched, replayable parameters of one view."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

_NOT_BATCHED = ("size", "ops")


@dataclass(frozen=True)
class ViewParams:
    """Everything random about one view of every sample of a batch.

    Sampled separately from being applied (kornia's ``generate_parameters`` /
    torchvision v2's ``make_params``), so the same params replay on images, masks,
    saliency maps and boxes, and give the geometric correspondence between views.
    A view replays from ``seeds`` alone (see :mod:`pairgen.random`).

    Attributes:
        boxes: ``(B, 4)`` float crop boxes, ``x1, y1, x2, y2`` in the source image's pixels.
        flip: ``(B,)`` bool, horizontal flip folded into the crop (the view's flip ops
            that come right after the crop; False without any).
        seeds: ``(B,)`` int64 per-sample seeds the params were drawn from.
        fallback_used: ``(B,)`` bool, the crop sampler fell back to its deterministic crop.
        size: output ``(height, width)``.
        ops: params of the view's ops (:mod:`pairgen.ops.view_op`), one dict of
            ``(B, ...)`` tensors per op, in the order of ``ViewSpec.ops``.
    """

    boxes: torch.Tensor
    flip: torch.Tensor
    seeds: torch.Tensor
    fallback_used: torch.Tensor
    size: tuple[int, int]
    ops: tuple[dict[str, torch.Tensor], ...] = ()

    def __len__(self) -> int:
        return self.boxes.shape[0]

    def __repr__(self) -> str:
        """One line: the batch size, output size, device, how often the flip and the fallback
        fired, and the params of each op."""
        n = len(self)
        counts = ", ".join(f"{name} {int(flags.sum())}/{n}" for name, flags in (
            ("flip", self.flip), ("fallback", self.fallback_used)))
        ops = f"; ops: {' | '.join(', '.join(sorted(op)) for op in self.ops)}" if self.ops else ""
        return (f"ViewParams({n} samples, size {self.size[0]}x{self.size[1]}, {self.boxes.device}; "
                f"{counts}{ops})")

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
        ops = tuple({k: fn(v) for k, v in op.items()} for op in self.ops)
        return dataclasses.replace(self, **changes, ops=ops)

    @staticmethod
    def cat(params: list["ViewParams"]) -> "ViewParams":
        """Concatenate the params of several batches of one view."""
        first = params[0]
        changes = {
            f.name: torch.cat([getattr(p, f.name) for p in params])
            for f in dataclasses.fields(first)
            if f.name not in _NOT_BATCHED
        }
        ops = tuple({k: torch.cat([p.ops[i][k] for p in params]) for k in op} for i, op in enumerate(first.ops))
        return dataclasses.replace(first, **changes, ops=ops)
