"""Losses by name, for configuration files and command lines.

Example:
    >>> criterion = get("debiased_info_nce", tau_plus=0.1, temperature=0.5)
    >>> criterion
    DebiasedInfoNCELoss(tau_plus=0.1, temperature=0.5)
"""

from __future__ import annotations

from typing import Any

from torch import nn

from pairgen.losses.debiased_info_nce import DebiasedInfoNCELoss
from pairgen.losses.false_negative_cancellation import FalseNegativeCancellationLoss
from pairgen.losses.hard_negative_info_nce import HardNegativeInfoNCELoss
from pairgen.losses.info_nce import InfoNCELoss
from pairgen.losses.mochi import MoCHiLoss
from pairgen.losses.supervised_contrastive import SupConLoss

#: Canonical name -> module class.
LOSSES: dict[str, type[nn.Module]] = {
    "info_nce": InfoNCELoss,
    "debiased_info_nce": DebiasedInfoNCELoss,
    "hard_negative_info_nce": HardNegativeInfoNCELoss,
    "false_negative_cancellation": FalseNegativeCancellationLoss,
    "mochi": MoCHiLoss,
    "supervised_contrastive": SupConLoss,
}

#: Other names the papers and libraries use.
ALIASES = {"nt_xent": "info_nce", "dcl": "debiased_info_nce", "hcl": "hard_negative_info_nce",
           "fnc": "false_negative_cancellation", "supcon": "supervised_contrastive"}


def names() -> tuple[str, ...]:
    """The canonical loss names."""
    return tuple(LOSSES)


def get(name: str, **options: Any) -> nn.Module:
    """A loss module by name (or alias), built with ``options``.

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    key = ALIASES.get(name, name)
    if key not in LOSSES:
        known = ", ".join([*LOSSES, *ALIASES])
        raise ValueError(f"unknown loss {name!r}; known: {known}")
    return LOSSES[key](**options)
