"""Which box samplers a recipe name stands for in the pair-quality section.

``simclr`` is built in (``pair_quality.simclr_boxes``). Any recipe can also be given
as a ``(name, sampler)`` pair or a bare callable (named after it), with the sampler
contract of ``pair_quality``. The report always includes ``simclr`` as the baseline
next to the chosen recipe.

Example:
    >>> [name for name, _ in resolve_recipes("simclr")]
    ['simclr']
"""

from __future__ import annotations

from .pair_quality import simclr_boxes

BUILT_IN = {"simclr": simclr_boxes}


def resolve_recipes(recipe) -> tuple[tuple[str, object], ...]:
    """``((name, sampler), ...)``: the chosen recipe, then ``simclr`` if it is not the same."""
    if isinstance(recipe, str):
        if recipe not in BUILT_IN:
            raise ValueError(f"recipe {recipe!r} is not available to the diagnostics; "
                             f"available: {sorted(BUILT_IN)}, or pass a box sampler callable")
        chosen = (recipe, BUILT_IN[recipe])
    elif isinstance(recipe, tuple) and len(recipe) == 2 and isinstance(recipe[0], str) and callable(recipe[1]):
        chosen = recipe
    elif callable(recipe):
        chosen = (getattr(recipe, "__name__", type(recipe).__name__), recipe)
    else:
        raise TypeError(f"recipe must be a name, a (name, sampler) pair or a sampler callable, got {recipe!r}")
    return (chosen,) if chosen[0] == "simclr" else (chosen, ("simclr", simclr_boxes))
