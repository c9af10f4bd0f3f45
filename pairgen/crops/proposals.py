"""The one propose / accept / fall back path of every random crop sampler.

Random resized crops (Szegedy et al. 2015, torchvision), CAST, ContrastiveCrop,
SimCCrop, the object-centric crop and ``shared_object`` all draw ``attempts``
candidates per sample at once: an area uniform in ``scale`` of the region, a log
aspect ratio uniform in ``log(ratio)``, whole-pixel sides ``round(sqrt(area *
aspect))`` x ``round(sqrt(area / aspect))`` (round half to even, as Python's
``round``), a candidate that does not fit in the region being rejected. Each sampler
only says where a candidate of a given size goes (``place``), which candidates it
accepts beyond fitting (``accept``), and what it uses when none is accepted
(``fallback``, flagged in ``fallback_used``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from pairgen.random import uniform

#: ``place(width, height, u) -> (B, K, 4)`` candidate boxes from ``(B, K)`` sides and
#: ``(B, draws, K)`` uniforms.
Place = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def propose(
    sizes: torch.Tensor,
    seeds: torch.Tensor,
    scale: tuple[float, float],
    ratio: tuple[float, float],
    attempts: int,
    place: Place,
    accept: Callable[[torch.Tensor], torch.Tensor] | None = None,
    fallback: Callable[[], torch.Tensor] | None = None,
    draws: int = 2,
    stream: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each sample's first accepted candidate, or its fallback box.

    Args:
        sizes: ``(B, 2)`` region ``(height, width)`` the candidates are sized from.
        seeds: ``(B,)`` int64 seeds; stream ``stream`` of :mod:`pairgen.random` holds
            ``(2 + draws) x attempts`` uniforms per sample (area, aspect, then the
            ``draws`` that ``place`` uses).
        place: puts candidates of the drawn sides in the image (see :data:`Place`).
        accept: ``fn((B, K, 4) candidates) -> (B, K)`` bool, on top of fitting.
        fallback: ``fn() -> (B, 4)`` boxes for samples with no accepted candidate
            (called only if there is one); default the centre crop at ``ratio``.

    Returns:
        ``(B, 4)`` float64 boxes xyxy and ``(B,)`` bool fallback flags.
    """
    u = uniform(seeds, stream, (2 + draws) * attempts).double().view(-1, 2 + draws, attempts)
    width, height, fits = candidate_sides(sizes, u[:, 0], u[:, 1], scale, ratio)
    candidates = place(width, height, u[:, 2:])
    accepted = fits if accept is None else fits & accept(candidates)
    first = accepted.double().argmax(1)  # index of the first accepted candidate
    boxes = candidates[torch.arange(len(first), device=first.device), first]
    failed = ~accepted.any(1)
    if bool(failed.any()):
        other = fallback() if fallback is not None else centre_crop(sizes, ratio)
        boxes = torch.where(failed[:, None], other.to(boxes), boxes)
    return boxes, failed


def candidate_sides(
    sizes: torch.Tensor, u_area: torch.Tensor, u_aspect: torch.Tensor, scale: tuple[float, float], ratio: tuple[float, float]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Whole-pixel ``(width, height)`` ``(B, K)`` of candidates from two ``(B, K)`` uniforms,
    and whether each fits in its region ``(height, width)`` of ``sizes``."""
    height, width = sizes[:, 0:1].double(), sizes[:, 1:2].double()
    area = height * width * (scale[0] + u_area * (scale[1] - scale[0]))
    log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
    aspect = torch.exp(log_lo + u_aspect * (log_hi - log_lo))
    w, h = torch.round(torch.sqrt(area * aspect)), torch.round(torch.sqrt(area / aspect))
    return w, h, (w > 0) & (w <= width) & (h > 0) & (h <= height)


def uniform_place(sizes: torch.Tensor) -> Place:
    """torchvision's placement: top-left corner uniform over the whole-pixel positions."""
    height, width = sizes[:, 0:1].double(), sizes[:, 1:2].double()

    def place(w, h, u):
        top = torch.floor(u[:, 0] * (height - h + 1))
        left = torch.floor(u[:, 1] * (width - w + 1))
        return torch.stack([left, top, left + w, top + h], -1)

    return place


def centre_crop(sizes: torch.Tensor, ratio: tuple[float, float]) -> torch.Tensor:
    """torchvision's fallback: the largest centred box of the region at an aspect ratio in
    ``ratio`` (the whole region when its own ratio is inside), ``(B, 4)`` xyxy."""
    height, width = sizes[:, 0].double(), sizes[:, 1].double()
    aspect = width / height
    w = torch.where(aspect > ratio[1], torch.round(height * ratio[1]), width).clamp_min(1)
    h = torch.where(aspect < ratio[0], torch.round(width / ratio[0]), height).clamp_min(1)
    top, left = torch.floor((height - h) / 2), torch.floor((width - w) / 2)
    return torch.stack([left, top, left + w, top + h], 1)
