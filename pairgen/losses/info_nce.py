"""InfoNCE / NT-Xent, the SimCLR loss.

Chen et al., "A Simple Framework for Contrastive Learning of Visual
Representations" (SimCLR), ICML 2020; van den Oord et al., "Representation
Learning with Contrastive Predictive Coding", 2018. For the ``2N`` anchors
``a`` (both views of ``N`` items) with positive ``p(a)`` (the other view):

    loss = mean_a -log( exp(s_a,p(a) / t) / (exp(s_a,p(a) / t) + sum_{k in neg(a)} exp(s_a,k / t)) )

with cosine similarities ``s`` and ``neg(a)`` every other view of every other
item, or the columns that ``negative_mask`` allows.

Example:
    >>> z1, z2 = torch.randn(8, 16), torch.randn(8, 16)
    >>> loss = info_nce(z1, z2, temperature=0.5)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from pairgen.losses._common import (
    NEG_INF,
    check_mask,
    check_temperature,
    embed_views,
    full_precision,
    other_view_index,
)


def info_nce(
    z1: torch.Tensor,
    z2: torch.Tensor,
    temperature: float = 0.5,
    negative_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """NT-Xent loss of two views, averaged over the ``2N`` anchors.

    Args:
        z1: ``(N, D)`` embeddings of the first views (normalised inside).
        z2: ``(N, D)`` embeddings of the second views.
        temperature: softmax temperature ``t``.
        negative_mask: ``(2N, 2N)`` boolean, True where the column may be a negative
            of the row (see :func:`pairgen.negatives.negative_mask`). The anchor
            itself and its positive are never negatives, whatever the mask says.
            An anchor left with no negative has loss 0 (its positive alone fills
            the softmax) and still counts in the mean.

    Returns:
        Scalar loss, float32 (float64 for float64 inputs).

    Raises:
        ValueError: on mismatched shapes, ``N < 2``, NaN/infinite embeddings, a
            bad mask or temperature.
    """
    temperature = check_temperature(temperature)
    with full_precision(z1):
        z1, z2 = embed_views({"z1": z1, "z2": z2})
        n = z1.shape[0]
        z = torch.cat([z1, z2])
        logits = (z / temperature) @ z.T
        targets = other_view_index(n, 2, z.device)
        if negative_mask is None:
            logits.fill_diagonal_(NEG_INF)
        else:
            keep = check_mask(negative_mask, (2 * n, 2 * n), z.device, "negative_mask").clone()
            keep[torch.arange(2 * n, device=z.device), targets] = True
            keep.fill_diagonal_(False)
            logits = logits.masked_fill(~keep, NEG_INF)
        return F.cross_entropy(logits, targets)


class InfoNCELoss(nn.Module):
    """Module form of :func:`info_nce`.

    Example:
        >>> criterion = InfoNCELoss(temperature=0.2)
        >>> loss = criterion(torch.randn(8, 16), torch.randn(8, 16))
    """

    def __init__(self, temperature: float = 0.5) -> None:
        super().__init__()
        self.temperature = check_temperature(temperature)

    def forward(self, z1: torch.Tensor, z2: torch.Tensor, negative_mask: torch.Tensor | None = None) -> torch.Tensor:
        return info_nce(z1, z2, self.temperature, negative_mask)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"
