"""False negative cancellation (FNC): elimination and attraction.

Huynh et al., "Boosting Contrastive Self-Supervised Learning with False
Negative Cancellation", WACV 2022. Each item comes with its two views and
optional *support views*; the candidates most similar to any of the item's
views (:func:`pairgen.negatives.detect_false_negatives`, max over the views as
in the reference code) are its likely false negatives ``F(i)``. With ``V = 2 + S`` views, every view ``a`` of item ``i`` is an
anchor with positives ``P(a)``, the other ``V - 1`` views of ``i``:

    elimination:  loss_a = -1/|P(a)| sum_{p in P(a)} s_a,p / t + logsumexp_{k != a, k not in F(i)} s_a,k / t
    attraction:   loss_a = -1/(|P(a)| + |F(i)|) sum_{p in P(a) + F(i)} s_a,p / t + logsumexp_{k != a} s_a,k / t

averaged over the ``V N`` anchors (the reference code, google-research/fnc,
sums the two directions: twice this value). All views, support views included,
are anchors and candidates, as in the reference code. With nothing detected
and no support views, both modes give :func:`info_nce`.

Example:
    >>> z1, z2, extra = torch.randn(8, 16), torch.randn(8, 16), [torch.randn(8, 16)]
    >>> loss = false_negative_cancellation(z1, z2, support=extra, top_k=2, threshold=0.5)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from pairgen.losses._common import (
    NEG_INF,
    check_count,
    check_mask,
    check_temperature,
    embed_views,
    full_precision,
)
from pairgen.negatives.false_negatives import AGGREGATES, detect_false_negatives

MODES = ("attraction", "elimination")


def _check_options(mode: str, aggregate: str, threshold: float) -> None:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or threshold != threshold:
        raise ValueError(f"threshold must be a number, got {threshold!r}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if aggregate not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {AGGREGATES}, got {aggregate!r}")


def false_negative_cancellation(
    z1: torch.Tensor,
    z2: torch.Tensor,
    support: Sequence[torch.Tensor] = (),
    temperature: float = 0.1,
    top_k: int = 10,
    threshold: float = 0.7,
    mode: str = "attraction",
    aggregate: str = "max",
    negative_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """FNC loss of two views plus support views, averaged over the ``V N`` anchors.

    Args:
        z1: ``(N, D)`` embeddings of the first views (normalised inside).
        z2: ``(N, D)`` embeddings of the second views.
        support: ``S`` more ``(N, D)`` views of the same items (8 in the paper).
        temperature: ``t`` (0.1 in the reference code).
        top_k: at most this many false negatives per item (reference: 10).
        threshold: cosine similarity a false negative must exceed (reference: 0.7).
        mode: ``"attraction"`` (false negatives become positives) or
            ``"elimination"`` (they leave the denominator).
        aggregate: ``"max"`` (reference code) or ``"mean"`` over the item's views.
        negative_mask: ``(V N, V N)`` boolean of allowed negatives, rows and columns
            in the order of ``torch.cat([z1, z2, *support])``. Excluded columns leave
            the denominator and are never detected as false negatives.

    Returns:
        Scalar loss, float32 (float64 for float64 inputs).

    Raises:
        ValueError: on mismatched shapes, ``N < 2``, NaN embeddings, bad options.
    """
    temperature = check_temperature(temperature)
    check_count(top_k, "top_k")
    _check_options(mode, aggregate, threshold)
    views = {"z1": z1, "z2": z2, **{f"support[{i}]": s for i, s in enumerate(support)}}
    with full_precision(z1):
        normalised = embed_views(views)
        n_views, n = len(normalised), normalised[0].shape[0]
        z = torch.cat(normalised)
        rows = n_views * n
        item = torch.arange(rows, device=z.device) % n
        own = item[:, None] == item[None, :]
        allowed = ~own
        if negative_mask is not None:
            allowed &= check_mask(negative_mask, (rows, rows), z.device, "negative_mask")
        # An item's false negatives: candidates allowed as negatives for all its views.
        item_allowed = allowed.view(n_views, n, rows).all(0)
        found = detect_false_negatives(
            torch.stack(normalised), z, top_k=top_k, threshold=threshold, aggregate=aggregate, exclude=~item_allowed
        ).repeat(n_views, 1)
        positives = own & ~torch.eye(rows, dtype=torch.bool, device=z.device)
        logits = (z / temperature) @ z.T
        if mode == "attraction":
            positives = positives | found
            contrast = allowed | positives
        else:
            contrast = (allowed & ~found) | positives
        mean_positive = torch.where(positives, logits, 0.0).sum(1) / positives.sum(1)
        log_denominator = torch.logsumexp(logits.masked_fill(~contrast, NEG_INF), dim=1)
        return (log_denominator - mean_positive).mean()


class FalseNegativeCancellationLoss(nn.Module):
    """Module form of :func:`false_negative_cancellation`.

    Example:
        >>> criterion = FalseNegativeCancellationLoss(mode="elimination", top_k=2)
        >>> loss = criterion(torch.randn(8, 16), torch.randn(8, 16), support=[torch.randn(8, 16)])
    """

    def __init__(
        self,
        temperature: float = 0.1,
        top_k: int = 10,
        threshold: float = 0.7,
        mode: str = "attraction",
        aggregate: str = "max",
    ) -> None:
        super().__init__()
        self.temperature = check_temperature(temperature)
        self.top_k = check_count(top_k, "top_k")
        _check_options(mode, aggregate, threshold)
        self.threshold = threshold
        self.mode = mode
        self.aggregate = aggregate

    def forward(
        self,
        z1: torch.Tensor,
        z2: torch.Tensor,
        support: Sequence[torch.Tensor] = (),
        negative_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return false_negative_cancellation(
            z1, z2, support, self.temperature, self.top_k, self.threshold, self.mode, self.aggregate, negative_mask
        )

    def extra_repr(self) -> str:
        return (
            f"temperature={self.temperature}, top_k={self.top_k}, threshold={self.threshold}, "
            f"mode={self.mode!r}, aggregate={self.aggregate!r}"
        )
