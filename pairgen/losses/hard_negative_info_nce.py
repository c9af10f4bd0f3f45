"""Hard negative sampling for contrastive learning (HCL).

Robinson et al., "Contrastive Learning with Hard Negative Samples", ICLR 2021.
Negatives are reweighted by importance weights ``w_k = e^{beta s_a,k / t}``
(harder negatives, closer to the anchor, weigh more), normalised to mean one,
before the debiasing of :func:`debiased_info_nce`:

    reweighted(a) = M * sum_k w_k e^{s_a,k / t} / sum_k w_k
    Ng(a) = max( (reweighted(a) - tau_plus * M * e^{s_a,p / t}) / (1 - tau_plus),  M * e^{-1/t} )
    loss  = mean_a -log( e^{s_a,p / t} / (e^{s_a,p / t} + Ng(a)) )

as in the authors' reference code (joshr17/HCL, where ``beta`` scales the
logits ``s / t``). ``beta = 0`` gives the debiased loss; ``beta = 0`` and
``tau_plus = 0`` give InfoNCE. In log space:
``log reweighted = log M + logsumexp((1 + beta) s / t) - logsumexp(beta s / t)``.

Example:
    >>> z1, z2 = torch.randn(8, 16), torch.randn(8, 16)
    >>> loss = hard_negative_info_nce(z1, z2, beta=1.0, tau_plus=0.1, temperature=0.5)
"""

from __future__ import annotations

import torch
from torch import nn

from pairgen.losses._common import (
    check_non_negative,
    check_tau_plus,
    check_temperature,
    full_precision,
    masked_logsumexp,
    two_view_logits,
)
from pairgen.losses.debiased_info_nce import debiased_anchor_losses


def hard_negative_info_nce(
    z1: torch.Tensor,
    z2: torch.Tensor,
    beta: float = 1.0,
    tau_plus: float = 0.1,
    temperature: float = 0.5,
    negative_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Hard-negative (HCL) loss of two views, averaged over the ``2N`` anchors.

    Args:
        z1: ``(N, D)`` embeddings of the first views (normalised inside).
        z2: ``(N, D)`` embeddings of the second views.
        beta: concentration on hard negatives, ``>= 0`` (0.5 to 1 in the paper).
        tau_plus: class prior in ``[0, 1)``.
        temperature: ``t``.
        negative_mask: ``(2N, 2N)`` boolean of allowed negatives; an anchor with no
            negative gets loss 0 and counts in the mean.

    Returns:
        Scalar loss, float32 (float64 for float64 inputs).

    Raises:
        ValueError: on mismatched shapes, ``N < 2``, NaN embeddings, bad parameters.
    """
    beta = check_non_negative(beta, "beta")
    tau_plus = check_tau_plus(tau_plus)
    temperature = check_temperature(temperature)
    with full_precision(z1):
        logits, positive, keep, count = two_view_logits(z1, z2, temperature, negative_mask)
        weighted_sum, empty = masked_logsumexp(logits * (1.0 + beta), keep)
        if beta > 0:
            weight_sum = masked_logsumexp(logits * beta, keep)[0]
        else:  # every weight is 1; avoids 0 * -inf
            weight_sum = count.clamp_min(1).log()
        log_reweighted = count.clamp_min(1).log() + weighted_sum - weight_sum
        return debiased_anchor_losses(positive, log_reweighted, count, empty, tau_plus, temperature).mean()


class HardNegativeInfoNCELoss(nn.Module):
    """Module form of :func:`hard_negative_info_nce`.

    Example:
        >>> criterion = HardNegativeInfoNCELoss(beta=1.0, tau_plus=0.1)
        >>> loss = criterion(torch.randn(8, 16), torch.randn(8, 16))
    """

    def __init__(self, beta: float = 1.0, tau_plus: float = 0.1, temperature: float = 0.5) -> None:
        super().__init__()
        self.beta = check_non_negative(beta, "beta")
        self.tau_plus = check_tau_plus(tau_plus)
        self.temperature = check_temperature(temperature)

    def forward(self, z1: torch.Tensor, z2: torch.Tensor, negative_mask: torch.Tensor | None = None) -> torch.Tensor:
        return hard_negative_info_nce(z1, z2, self.beta, self.tau_plus, self.temperature, negative_mask)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, tau_plus={self.tau_plus}, temperature={self.temperature}"
