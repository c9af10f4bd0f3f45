"""Box samplers for the pair-quality section, from pairgen's recipes.

:class:`EngineBoxes` draws the first two views' crop boxes of a recipe with the
engine's own ``PairSampler`` (so the diagnostics measure exactly the crops training
will use), on a small canvas that carries the image's size and saliency map. A
recipe can also be given as a ``(name, sampler)`` pair or a bare sampler callable
(named after it) with the contract of ``pair_quality``. ``simclr`` is always
measured too, as the baseline.

Example:
    >>> [name for name, _ in resolve_recipes("byol")]
    ['byol', 'simclr']
"""

from __future__ import annotations

import numpy as np
import torch

#: The recipe every report measures as the baseline.
BASELINE = "simclr"


class EngineBoxes:
    """The two global views' boxes of a pairgen recipe, as a box sampler.

    Args:
        recipe: a built-in recipe name or a recipe YAML path (``pairgen recipes`` lists them).
    """

    def __init__(self, recipe: str):
        from pairgen.recipe import load_recipe

        spec = load_recipe(recipe)  # validates the name now, in the main process
        if len(spec.expanded_views) < 2:
            raise ValueError(f"recipe {recipe!r} has fewer than two views; pairs need two")
        self.recipe = recipe
        self._sampler = None  # built on first use, in the worker process

    def __repr__(self) -> str:
        return f"EngineBoxes({self.recipe!r})"

    def __getstate__(self) -> dict:
        return {"recipe": self.recipe, "_sampler": None}

    def __call__(self, sizes: np.ndarray, saliency: np.ndarray, seeds: np.ndarray) -> np.ndarray:
        from pairgen import PairSampler
        from pairgen.batch import ImageBatch

        if self._sampler is None:
            self._sampler = PairSampler(self.recipe, seed=0)
        n, side = len(sizes), saliency.shape[-1]
        sizes_hw = torch.as_tensor(np.asarray(sizes)[:, ::-1].copy(), dtype=torch.int64)
        batch = ImageBatch(
            images=torch.zeros(n, 3, side, side, dtype=torch.uint8),
            sizes=sizes_hw,
            scales=side / sizes_hw.to(torch.float32),
            saliency=torch.as_tensor(saliency, dtype=torch.float32).reshape(n, 1, side, side),
        )
        with torch.no_grad():
            params = self._sampler.sample(batch, torch.as_tensor(seeds, dtype=torch.int64))
        return torch.stack([params[0].boxes, params[1].boxes], dim=1).double().numpy()


def resolve_recipes(recipe) -> tuple[tuple[str, object], ...]:
    """``((name, sampler), ...)``: the chosen recipe, then ``simclr`` unless it is the same."""
    if isinstance(recipe, str):
        chosen = (recipe, EngineBoxes(recipe))
    elif isinstance(recipe, tuple) and len(recipe) == 2 and isinstance(recipe[0], str) and callable(recipe[1]):
        chosen = recipe
    elif callable(recipe):
        chosen = (getattr(recipe, "__name__", type(recipe).__name__), recipe)
    else:
        raise TypeError(f"recipe must be a name, a (name, sampler) pair or a sampler callable, got {recipe!r}")
    return (chosen,) if chosen[0] == BASELINE else (chosen, (BASELINE, EngineBoxes(BASELINE)))
