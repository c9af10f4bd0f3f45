"""Debiased contrastive loss (DCL).

Chuang et al., "Debiased Contrastive Learning", NeurIPS 2020. Some of an
anchor's ``M`` negatives share its class (with prior ``tau_plus``); DCL corrects
the sum over negatives by subtracting their expected share, estimated from the
positive, and clamps it at its theoretical minimum for unit vectors:

    Ng(a) = max( (sum_{k in neg(a)} e^{s_a,k / t} - tau_plus * M * e^{s_a,p / t}) / (1 - tau_plus),  M * e^{-1/t} )
    loss  = mean_a -log( e^{s_a,p / t} / (e^{s_a,p / t} + Ng(a)) )

over the ``2N`` anchors, as in the authors' reference code (chingyaoc/DCL).
Computed in log space. ``tau_plus = 0`` gives :func:`info_nce` (up to the clamp,
which then never binds for unit vectors).

Example:
    >>> z1, z2 = torch.randn(8, 16), torch.randn(8, 16)
    >>> loss = debiased_info_nce(z1, z2, tau_plus=0.1, temperature=0.5)
"""

from __future__ import annotations

import math

import torch
from torch import nn

from pairgen.losses._common import (
    NEG_INF,
    check_tau_plus,
    check_temperature,
    full_precision,
    masked_logsumexp,
    two_view_logits,
)


def debiased_anchor_losses(
    positive: torch.Tensor,
    log_negative_sum: torch.Tensor,
    count: torch.Tensor,
    empty: torch.Tensor | None,
    tau_plus: float,
    temperature: float,
) -> torch.Tensor:
    """Per-anchor DCL loss from the log of the (possibly reweighted) sum over negatives.

    Args:
        positive: ``(A,)`` positive logits ``s_a,p / t``.
        log_negative_sum: ``(A,)`` ``log sum_k e^{s_a,k / t}`` over the negatives.
        count: ``(A,)`` number of negatives ``M`` of each anchor.
        empty: ``(A,)`` anchors without negatives (their loss is 0), or ``None``.
        tau_plus: class prior.
        temperature: ``t``.
    """
    log_count = count.clamp_min(1).log()
    log_tau = math.log(tau_plus) if tau_plus > 0 else NEG_INF
    if empty is not None:
        log_negative_sum = log_negative_sum.masked_fill(empty, 0.0)
    # log of tau_plus * M * e^{pos} / sum_neg: the correction removes it all when >= 0.
    log_ratio = log_tau + log_count + positive - log_negative_sum
    valid = log_ratio < 0
    ratio = torch.exp(log_ratio.masked_fill(~valid, NEG_INF))
    corrected = (log_negative_sum + torch.log1p(-ratio) - math.log1p(-tau_plus)).masked_fill(~valid, NEG_INF)
    log_ng = torch.maximum(corrected, log_count - 1.0 / temperature)
    if empty is not None:
        log_ng = log_ng.masked_fill(empty, NEG_INF)
    return torch.logaddexp(positive, log_ng) - positive


def debiased_info_nce(
    z1: torch.Tensor,
    z2: torch.Tensor,
    tau_plus: float = 0.1,
    temperature: float = 0.5,
    negative_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Debiased contrastive loss of two views, averaged over the ``2N`` anchors.

    Args:
        z1: ``(N, D)`` embeddings of the first views (normalised inside).
        z2: ``(N, D)`` embeddings of the second views.
        tau_plus: class prior ``tau+`` in ``[0, 1)``: the chance that a negative
            shares the anchor's class (0.1 in the paper for CIFAR10/STL10).
        temperature: ``t``.
        negative_mask: ``(2N, 2N)`` boolean of allowed negatives (see
            :func:`pairgen.negatives.negative_mask`); ``M`` is then counted per
            anchor. An anchor with no negative gets loss 0 and counts in the mean.

    Returns:
        Scalar loss, float32 (float64 for float64 inputs).

    Raises:
        ValueError: on mismatched shapes, ``N < 2``, NaN embeddings, bad parameters.
    """
    tau_plus = check_tau_plus(tau_plus)
    temperature = check_temperature(temperature)
    with full_precision(z1):
        logits, positive, keep, count = two_view_logits(z1, z2, temperature, negative_mask)
        log_negative_sum, empty = masked_logsumexp(logits, keep)
        return debiased_anchor_losses(positive, log_negative_sum, count, empty, tau_plus, temperature).mean()


class DebiasedInfoNCELoss(nn.Module):
    """Module form of :func:`debiased_info_nce`.

    Example:
        >>> criterion = DebiasedInfoNCELoss(tau_plus=0.1, temperature=0.5)
        >>> loss = criterion(torch.randn(8, 16), torch.randn(8, 16))
    """

    def __init__(self, tau_plus: float = 0.1, temperature: float = 0.5) -> None:
        super().__init__()
        self.tau_plus = check_tau_plus(tau_plus)
        self.temperature = check_temperature(temperature)

    def forward(self, z1: torch.Tensor, z2: torch.Tensor, negative_mask: torch.Tensor | None = None) -> torch.Tensor:
        return debiased_info_nce(z1, z2, self.tau_plus, self.temperature, negative_mask)

    def extra_repr(self) -> str:
        return f"tau_plus={self.tau_plus}, temperature={self.temperature}"
