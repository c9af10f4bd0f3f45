"""Checks and numerics shared by the contrastive losses.

Every loss validates its inputs here, computes in float32 (float64 stays
float64) with autocast disabled, so float16/bfloat16 embeddings and mixed
precision training give finite losses, and L2-normalises the embeddings
(cosine similarity, as in SimCLR and the papers' reference code).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import torch
import torch.nn.functional as F

NEG_INF = float("-inf")


def check_temperature(temperature: float) -> float:
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not 0 < temperature < math.inf:
        raise ValueError(f"temperature must be a positive finite number, got {temperature!r}")
    return float(temperature)


def check_tau_plus(tau_plus: float) -> float:
    if isinstance(tau_plus, bool) or not isinstance(tau_plus, (int, float)) or not 0 <= tau_plus < 1:
        raise ValueError(f"tau_plus (the class prior) must be in [0, 1), got {tau_plus!r}")
    return float(tau_plus)


def check_non_negative(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def check_count(value: int, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


@contextlib.contextmanager
def full_precision(tensor: torch.Tensor) -> Iterator[None]:
    """Disable autocast on ``tensor``'s device, so the matmuls run in float32."""
    device_type = tensor.device.type if isinstance(tensor, torch.Tensor) else "cpu"
    with torch.autocast(device_type=device_type, enabled=False):
        yield


def embed(z: torch.Tensor, name: str) -> torch.Tensor:
    """Validated, L2-normalised ``(N, D)`` embeddings in float32 or float64."""
    if not isinstance(z, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(z).__name__}")
    if z.dim() != 2 or z.shape[1] < 1:
        raise ValueError(f"{name} must be 2-D (N, D) embeddings, got shape {tuple(z.shape)}")
    if not z.dtype.is_floating_point:
        raise ValueError(f"{name} must be a floating point tensor, got {z.dtype}")
    if not torch.isfinite(z).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    z = z if z.dtype == torch.float64 else z.float()
    return F.normalize(z, dim=1)


def embed_views(views: dict[str, torch.Tensor], min_items: int = 2) -> list[torch.Tensor]:
    """:func:`embed` every view after checking that they share one shape and device."""
    shapes = {name: tuple(getattr(z, "shape", ())) for name, z in views.items()}
    out = [embed(z, name) for name, z in views.items()]
    if len(set(shapes.values())) > 1:
        raise ValueError(f"views must have the same shape (N, D), got {shapes}")
    if len({z.device for z in out}) > 1:
        raise ValueError(f"views must be on one device, got {[str(z.device) for z in out]}")
    n = out[0].shape[0]
    if n < min_items:
        raise ValueError(f"a batch of {n} item(s) has no negatives: contrastive losses need N >= {min_items}")
    dtype = torch.float64 if any(z.dtype == torch.float64 for z in out) else torch.float32
    return [z.to(dtype) for z in out]


def check_mask(mask: torch.Tensor, shape: tuple[int, int], device: torch.device, name: str) -> torch.Tensor:
    """A boolean mask of ``shape`` on ``device``."""
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        raise ValueError(f"{name} must be a boolean tensor, got {getattr(mask, 'dtype', type(mask).__name__)}")
    if tuple(mask.shape) != tuple(shape):
        raise ValueError(
            f"{name} must have shape {tuple(shape)} (rows = anchors in the order of torch.cat of the views), "
            f"got {tuple(mask.shape)}"
        )
    return mask.to(device)


def other_view_index(n: int, n_views: int, device: torch.device) -> torch.Tensor:
    """``(V*N,)`` column of the next view of the same item: the positive of 2-view losses."""
    return (torch.arange(n_views * n, device=device) + n) % (n_views * n)


def masked_logsumexp(logits: torch.Tensor, keep: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Row-wise log-sum-exp over the kept entries, safe for rows that keep none.

    Args:
        logits: ``(R, C)`` with ``-inf`` already outside ``keep``.
        keep: ``(R, C)`` boolean, or ``None`` when every row keeps some entry.

    Returns:
        ``(lse, empty)``: ``lse`` is 0 with zero gradient on empty rows (the caller
        decides what an empty row means); ``empty`` is ``None`` or a boolean ``(R,)``.
    """
    if keep is not None:
        empty = ~keep.any(1)
        if bool(empty.any()):
            lse = torch.logsumexp(logits.masked_fill(empty[:, None], 0.0), dim=1)
            return lse.masked_fill(empty, 0.0), empty
    return torch.logsumexp(logits, dim=1), None


def two_view_logits(
    z1: torch.Tensor, z2: torch.Tensor, temperature: float, negative_mask: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """Logits of a 2-view batch split into positives and negatives.

    Returns:
        ``(logits, positive, keep, count)``: ``logits`` ``(2N, 2N)`` with ``-inf``
        outside the negatives; ``positive`` ``(2N,)`` logits of each anchor's other
        view; ``keep`` the ``(2N, 2N)`` negatives, or ``None`` for all other items;
        ``count`` ``(2N,)`` negatives per anchor, in the logits' dtype.
    """
    z1, z2 = embed_views({"z1": z1, "z2": z2})
    n = z1.shape[0]
    z = torch.cat([z1, z2])
    logits = (z / temperature) @ z.T
    positive = (z1 * z2).sum(1) / temperature
    positive = torch.cat([positive, positive])
    if negative_mask is None:
        for offset in (0, n, -n):  # self and the other view: in place on a fresh tensor
            logits.diagonal(offset).fill_(NEG_INF)
        return logits, positive, None, torch.full((2 * n,), 2 * n - 2, dtype=z.dtype, device=z.device)
    keep = check_mask(negative_mask, (2 * n, 2 * n), z.device, "negative_mask").clone()
    keep.fill_diagonal_(False)
    keep[torch.arange(2 * n, device=z.device), other_view_index(n, 2, z.device)] = False
    return logits.masked_fill(~keep, NEG_INF), positive, keep, keep.sum(1).to(z.dtype)
