"""Contrastive losses that accept negative masks.

Each loss takes the embeddings of two views ``z1``, ``z2`` of ``N`` items (or a
query, key and queue for MoCo-style losses), normalises them, computes in
float32 or float64 with log-sum-exp, and averages over the ``2N`` anchors as the
papers' reference code. Every loss has a function and a module form, and the
modules are also available by name through :func:`get`.

Example:
    >>> import torch
    >>> from pairgen import losses, negatives
    >>> z1, z2, y = torch.randn(8, 16), torch.randn(8, 16), torch.arange(8) % 4
    >>> mask = negatives.negative_mask(labels=y)
    >>> loss = losses.debiased_info_nce(z1, z2, tau_plus=0.1, temperature=0.5, negative_mask=mask)
"""

from pairgen.losses.debiased_info_nce import DebiasedInfoNCELoss, debiased_info_nce
from pairgen.losses.false_negative_cancellation import FalseNegativeCancellationLoss, false_negative_cancellation
from pairgen.losses.hard_negative_info_nce import HardNegativeInfoNCELoss, hard_negative_info_nce
from pairgen.losses.info_nce import InfoNCELoss, info_nce
from pairgen.losses.mochi import MoCHiLoss, mix_hard_negatives, mochi_info_nce
from pairgen.losses.registry import get, names
from pairgen.losses.supervised_contrastive import SupConLoss, supervised_contrastive

__all__ = [
    "DebiasedInfoNCELoss",
    "FalseNegativeCancellationLoss",
    "HardNegativeInfoNCELoss",
    "InfoNCELoss",
    "MoCHiLoss",
    "SupConLoss",
    "debiased_info_nce",
    "false_negative_cancellation",
    "get",
    "hard_negative_info_nce",
    "info_nce",
    "mix_hard_negatives",
    "mochi_info_nce",
    "names",
    "supervised_contrastive",
]
