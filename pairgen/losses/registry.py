"""Losses by name, for configuration files and command lines (:data:`pairgen.registry.LOSSES`).

Example:
    >>> criterion = get("debiased_info_nce", tau_plus=0.1, temperature=0.5)
    >>> criterion
    DebiasedInfoNCELoss(tau_plus=0.1, temperature=0.5)
"""

from __future__ import annotations

from typing import Any

from torch import nn

from pairgen.registry import LOSSES


def names() -> tuple[str, ...]:
    """The canonical loss names."""
    return tuple(LOSSES.list())


def get(name: str, **options: Any) -> nn.Module:
    """A loss module by name (or alias, e.g. ``nt_xent``, ``dcl``, ``supcon``), built with ``options``.

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    return LOSSES.get(name)(**options)
