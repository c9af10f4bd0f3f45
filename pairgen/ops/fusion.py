"""Colour fusion: consecutive affine colour steps become one per-sample affine map.

A view op renders through *steps* (:meth:`pairgen.ops.view_op.ViewOp.steps`): an
:class:`AffineStep` is ``x -> A x + b`` per sample, with ``A`` and ``b`` allowed to
depend on the mean colour of the image it is applied to (contrast blends towards
the mean gray); a :class:`PixelStep` is any other batched function. :func:`run_steps`
composes each run of affine steps into one ``3 x 3`` matrix and offset, tracks the
mean colour through the run analytically, folds in the ``1/255`` scaling of uint8
crops and applies the map in one pass, clamped once at the end of the run
(torchvision clamps after every step: identical whenever no intermediate value
leaves ``[0, 1]``). A pixel step (hue, blur, occlusion...) ends a run; the next run
starts from the mean of the actual image at that point.

The final normalisation is an affine step too; blur and solarize commute with it
(:attr:`PixelStep.normalized`), so :func:`fold_normalize` moves it into the last run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from pairgen.ops.color_affine import apply_affine, channel_means


@dataclass(frozen=True)
class AffineStep:
    """``x -> A x + b`` per sample: ``map(mean)`` gives ``A`` ``(B, 3, 3)`` and ``b``
    ``(B, 3)`` from the ``(B, 3)`` mean colour of the image it is applied to.
    ``normalize`` holds ``(mean, std)`` when the step is the final normalisation
    (its output is not clamped to ``[0, 1]``)."""

    map: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
    normalize: tuple[tuple[float, ...], tuple[float, ...]] | None = None


@dataclass(frozen=True)
class PixelStep:
    """``apply(views, backend)`` on float ``(B, 3, h, w)`` views that the engine owns
    (a step may overwrite them); ``normalized(views, backend, mean, std)``, when given,
    is the same step on views normalised by ``mean`` and ``std`` (per-channel tensors)."""

    apply: Callable[[torch.Tensor, str], torch.Tensor]
    normalized: Callable[[torch.Tensor, str, torch.Tensor, torch.Tensor], torch.Tensor] | None = None
    #: ``(B,)`` turns when the step is an HSV hue shift (the fused kernels render it themselves).
    hue: torch.Tensor | None = None


Step = AffineStep | PixelStep


def fold_normalize(steps: Sequence[Step]) -> list[Step]:
    """Move a final normalisation before the blur/solarize steps that follow the last
    affine run, so that it fuses into that run (the result is the same)."""
    steps = list(steps)
    if not steps or not isinstance(steps[-1], AffineStep) or steps[-1].normalize is None:
        return steps
    last = len(steps) - 1
    first = last
    while first > 0 and isinstance(steps[first - 1], PixelStep) and steps[first - 1].normalized is not None:
        first -= 1
    if first == last or first == 0 or not isinstance(steps[first - 1], AffineStep):
        return steps
    mean, std = steps[-1].normalize
    moved = [PixelStep(_bind_normalized(step, mean, std)) for step in steps[first:last]]
    return [*steps[:first], steps[-1], *moved]


def _bind_normalized(step: PixelStep, mean, std):
    def apply(views, backend):
        m = torch.tensor(mean, dtype=torch.float32).to(views.device, non_blocking=True)
        s = torch.tensor(std, dtype=torch.float32).to(views.device, non_blocking=True)
        return step.normalized(views, backend, m, s)

    return apply


def run_steps(
    x: torch.Tensor,
    steps: Sequence[Step],
    scale: float = 1.0,
    backend: str = "batched",
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """Render ``steps`` on ``(B, 3, h, w)`` images holding values in ``[0, scale]``
    (uint8 crops: ``scale = 255``); returns float32, or ``out`` when the last step is an
    affine run and ``out`` is float32 (on ``"cpu"`` also uint8: rounded). On ``"cpu"`` a
    float32 ``out`` is also the working buffer of the steps before."""
    i, n = 0, len(steps)
    owned = False  # whether x is the engine's own tensor (pixel steps may overwrite it)
    while i < n:
        if isinstance(steps[i], PixelStep):
            converted = _to_unit(x, scale)
            x = converted if owned or converted is not x else x.clone()
            scale, owned = 1.0, True
            x = steps[i].apply(x, backend)
            i += 1
            continue
        run = i
        while i < n and isinstance(steps[i], AffineStep):
            i += 1
        matrix, offset = compose(steps[run:i], channel_means(x, backend) / scale)
        normalize = steps[i - 1].normalize
        if normalize is None:
            low, high = 0.0, 1.0
        else:
            m = torch.tensor(normalize[0], dtype=torch.float32).to(x.device, non_blocking=True)
            s = torch.tensor(normalize[1], dtype=torch.float32).to(x.device, non_blocking=True)
            low, high = -m / s, (1 - m) / s
        if backend == "cpu":  # one working buffer: out, else the engine's own x (fresh tensors fault their pages in)
            usable = out is not None and (i == n or out.dtype == torch.float32)
            target = out if usable else (x if owned and x.dtype == torch.float32 else None)
        else:
            target = out if i == n and out is not None and out.dtype == torch.float32 else None
        x = apply_affine(x, matrix / scale, offset, low, high, out=target, backend=backend)
        scale, owned = 1.0, True
    return _to_unit(x, scale)


def compose(steps: Sequence[AffineStep], mean: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``(B, 3, 3)`` matrix and ``(B, 3)`` offset of a run of affine steps applied to
    images of ``(B, 3)`` mean colour ``mean``, tracking the mean through the run."""
    matrix = torch.eye(3, device=mean.device).expand(len(mean), 3, 3)
    offset = torch.zeros_like(mean)
    for step in steps:
        a, b = step.map(mean)
        matrix = a @ matrix
        offset = (a @ offset[:, :, None])[:, :, 0] + b
        mean = (a @ mean[:, :, None])[:, :, 0] + b
    return matrix, offset


def _to_unit(x: torch.Tensor, scale: float) -> torch.Tensor:
    if x.dtype == torch.float32 and scale == 1.0:
        return x
    x = x.to(torch.float32)
    return x / scale if scale != 1.0 else x
