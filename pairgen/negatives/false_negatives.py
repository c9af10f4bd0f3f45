"""Find likely false negatives without labels, from support views.

False negative cancellation (Huynh et al., "Boosting Contrastive
Self-Supervised Learning with False Negative Cancellation", WACV 2022): every
anchor item has a few *support views* (extra augmentations). A candidate is
scored by its cosine similarity to the support views, aggregated over them (max
in the paper's reference code, or mean); among the candidates scoring above a
threshold, the ``top_k`` best are the anchor's likely false negatives. The loss
:func:`pairgen.losses.false_negative_cancellation` then removes them from the
negatives (elimination) or pulls them closer as positives (attraction).

Example:
    >>> support = torch.randn(3, 4, 8)           # 3 views of 4 items
    >>> candidates = support.reshape(12, 8)      # every view of every item
    >>> own = torch.arange(12)[None, :] % 4 == torch.arange(4)[:, None]
    >>> detect_false_negatives(support, candidates, top_k=2, threshold=0.5, exclude=own).shape
    torch.Size([4, 12])
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

AGGREGATES = ("max", "mean")


@torch.no_grad()
def detect_false_negatives(
    support: torch.Tensor | Sequence[torch.Tensor],
    candidates: torch.Tensor,
    *,
    top_k: int = 10,
    threshold: float = 0.7,
    aggregate: str = "max",
    exclude: torch.Tensor | None = None,
) -> torch.Tensor:
    """``(N, M)`` boolean: candidate ``m`` is a likely false negative of anchor item ``i``.

    Args:
        support: ``(S, N, D)`` tensor or ``S`` tensors ``(N, D)``: views of each anchor item.
        candidates: ``(M, D)`` embeddings of the candidate negatives.
        top_k: at most this many false negatives per anchor (defaults from the
            reference code: top 10 above cosine 0.7).
        threshold: a false negative's aggregated cosine similarity exceeds this.
        aggregate: ``"max"`` or ``"mean"`` over the support views.
        exclude: ``(N, M)`` boolean, True where a candidate can never be a false
            negative (the anchor's own views, candidates outside its negative set).

    Returns:
        Boolean mask ``(N, M)``, with no gradient.
    """
    if not isinstance(support, torch.Tensor):
        support = torch.stack(list(support)) if len(support) else None
    if support is None or support.dim() != 3 or support.shape[0] < 1:
        raise ValueError("support must be (S, N, D) or a non-empty sequence of (N, D) tensors")
    if not isinstance(candidates, torch.Tensor) or candidates.dim() != 2 or candidates.shape[1] != support.shape[2]:
        raise ValueError(
            f"candidates must be (M, {support.shape[2]}) to match support, got {tuple(getattr(candidates, 'shape', ()))}"
        )
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise ValueError(f"top_k must be a positive integer, got {top_k!r}")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or threshold != threshold:
        raise ValueError(f"threshold must be a number, got {threshold!r}")
    if aggregate not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {AGGREGATES}, got {aggregate!r}")
    n, m = support.shape[1], candidates.shape[0]
    if exclude is not None and (exclude.shape != (n, m) or exclude.dtype != torch.bool):
        raise ValueError(f"exclude must be a boolean ({n}, {m}) tensor, got {exclude.dtype} {tuple(exclude.shape)}")
    dtype = torch.float64 if candidates.dtype == torch.float64 else torch.float32
    support = F.normalize(support.to(dtype), dim=-1)
    candidates = F.normalize(candidates.to(dtype), dim=-1)
    scores = torch.einsum("snd,md->snm", support, candidates)
    scores = scores.amax(0) if aggregate == "max" else scores.mean(0)
    if exclude is not None:
        scores = scores.masked_fill(exclude.to(scores.device), float("-inf"))
    best, where = scores.topk(min(top_k, m), dim=1)
    found = torch.zeros(n, m, dtype=torch.bool, device=scores.device)
    found.scatter_(1, where, best > threshold)
    return found
