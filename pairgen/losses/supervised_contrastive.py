"""Supervised contrastive loss (SupCon).

Khosla et al., "Supervised Contrastive Learning", NeurIPS 2020, the
``L_out`` form (mean over positives outside the log), which the paper found
best. With ``P(a)`` the positives of anchor ``a`` (its other view and every view
of every item with its label) and ``A(a)`` every other view in the batch:

    loss = mean_a  -1/|P(a)| sum_{p in P(a)} log( e^{s_a,p / t} / sum_{k in A(a)} e^{s_a,k / t} )

over the ``2N`` anchors. Without labels (or with all-distinct labels) it is
:func:`info_nce`. The reference code's extra factor ``t / base_temperature``
is left out (it is 1 at its defaults).

Example:
    >>> z1, z2, y = torch.randn(8, 16), torch.randn(8, 16), torch.arange(8) % 3
    >>> loss = supervised_contrastive(z1, z2, labels=y, temperature=0.1)
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from pairgen.losses._common import (
    NEG_INF,
    check_mask,
    check_temperature,
    embed_views,
    full_precision,
)
from pairgen.negatives.masks import positive_mask as build_positive_mask


def supervised_contrastive(
    z1: torch.Tensor,
    z2: torch.Tensor,
    labels: Any = None,
    temperature: float = 0.1,
    positive_mask: torch.Tensor | None = None,
    negative_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Supervised contrastive loss of two views, averaged over the ``2N`` anchors.

    Args:
        z1: ``(N, D)`` embeddings of the first views (normalised inside).
        z2: ``(N, D)`` embeddings of the second views.
        labels: ``(N,)`` class ids (negative: unknown, no positive but the other view).
        temperature: ``t`` (0.1 in the paper).
        positive_mask: ``(2N, 2N)`` boolean of positives instead of ``labels``
            (see :func:`pairgen.negatives.positive_mask`); the other view of the
            anchor's item is always a positive.
        negative_mask: ``(2N, 2N)`` boolean; when given, ``A(a)`` is the positives
            plus the allowed negatives.

    Returns:
        Scalar loss, float32 (float64 for float64 inputs).

    Raises:
        ValueError: on mismatched shapes, ``N < 2``, NaN embeddings, both
            ``labels`` and ``positive_mask``, or bad masks.
    """
    temperature = check_temperature(temperature)
    if labels is not None and positive_mask is not None:
        raise ValueError("give labels or positive_mask, not both")
    with full_precision(z1):
        z1, z2 = embed_views({"z1": z1, "z2": z2})
        n = z1.shape[0]
        z = torch.cat([z1, z2])
        shape = (2 * n, 2 * n)
        if positive_mask is not None:
            positives = check_mask(positive_mask, shape, z.device, "positive_mask")
            positives = positives | build_positive_mask(batch_size=n, device=z.device)
        elif labels is not None:
            positives = build_positive_mask(labels=labels, device=z.device)
            if positives.shape != shape:
                raise ValueError(f"labels must have one id per item ({n}), got {positives.shape[0] // 2}")
        else:
            positives = build_positive_mask(batch_size=n, device=z.device)
        positives = positives.clone()
        positives.fill_diagonal_(False)
        logits = (z / temperature) @ z.T
        mean_positive = torch.where(positives, logits, 0.0).sum(1) / positives.sum(1)
        contrast = ~torch.eye(2 * n, dtype=torch.bool, device=z.device)
        if negative_mask is not None:
            contrast &= check_mask(negative_mask, shape, z.device, "negative_mask") | positives
        log_denominator = torch.logsumexp(logits.masked_fill(~contrast, NEG_INF), dim=1)
        return (log_denominator - mean_positive).mean()


class SupConLoss(nn.Module):
    """Module form of :func:`supervised_contrastive`.

    Example:
        >>> criterion = SupConLoss(temperature=0.1)
        >>> loss = criterion(torch.randn(8, 16), torch.randn(8, 16), labels=torch.arange(8) % 2)
    """

    def __init__(self, temperature: float = 0.1) -> None:
        super().__init__()
        self.temperature = check_temperature(temperature)

    def forward(
        self,
        z1: torch.Tensor,
        z2: torch.Tensor,
        labels: Any = None,
        positive_mask: torch.Tensor | None = None,
        negative_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return supervised_contrastive(z1, z2, labels, self.temperature, positive_mask, negative_mask)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"
