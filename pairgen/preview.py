"""Draw sampled pairs over their photos: the picture that makes a recipe trustworthy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from pairgen.collate import collate_items
from pairgen.pair_sampler import PairSampler

_COLOURS = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45")


def sample_photos() -> dict[str, np.ndarray]:
    """Real photos shipped with scikit-image, for offline previews and tests."""
    from skimage import data

    return {"astronaut": data.astronaut(), "chelsea": data.chelsea(), "coffee": data.coffee(), "rocket": data.rocket()}


def _denormalise(view: torch.Tensor, sampler: PairSampler) -> np.ndarray:
    mean = torch.tensor(sampler.recipe.mean or (0.0, 0.0, 0.0)).view(3, 1, 1)
    std = torch.tensor(sampler.recipe.std or (1.0, 1.0, 1.0)).view(3, 1, 1)
    return (view.float().cpu() * std + mean).clamp(0, 1).permute(1, 2, 0).numpy()


def draw_pairs(items: list[Any], sampler: PairSampler, out: str | Path, pairs: int = 3, titles: list[str] | None = None) -> Path:
    """Save a PNG: for each item, the photo with ``pairs`` sampled pairs' boxes (and the
    saliency map when the recipe uses one), then the first pair's rendered views.

    Boxes of one pair share a colour; the first view is solid, the others dashed.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    canvas = collate_items(items, sampler.max_side)
    if canvas.needs_saliency and sampler.recipe.needs_saliency:
        canvas = canvas.with_saliency(sampler.saliency_maps(canvas))
    draws = [sampler.generate(canvas, sampler.next_seeds(len(canvas))) for _ in range(pairs)]
    n_views = min(len(sampler.views), 4)
    fig, axes = plt.subplots(len(items), 1 + n_views, figsize=(3.2 * (1 + n_views), 3.2 * len(items)), squeeze=False)
    for row in range(len(items)):
        h, w = canvas.sizes[row].tolist()
        sy, sx = canvas.scales[row].tolist()
        photo = canvas.images[row, :, : round(h * sy), : round(w * sx)].permute(1, 2, 0).numpy()
        ax = axes[row, 0]
        ax.imshow(photo, extent=(0, w, h, 0))
        if canvas.saliency is not None:
            heat = canvas.saliency[row, 0, : round(h * sy), : round(w * sx)].numpy()
            ax.imshow(heat, extent=(0, w, h, 0), cmap="inferno", alpha=0.35)
        for k, draw in enumerate(draws):
            colour = _COLOURS[k % len(_COLOURS)]
            for v, params in enumerate(draw.params[:2]):
                x1, y1, x2, y2 = params.boxes[row].tolist()
                ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, lw=2, ec=colour, ls="-" if v == 0 else "--"))
        ax.set_title(titles[row] if titles else f"item {row}", fontsize=9)
        ax.axis("off")
        for v in range(n_views):
            axv = axes[row, 1 + v]
            axv.imshow(_denormalise(draws[0].views[v][row], sampler))
            flag = " fallback" if bool(draws[0].params[v].fallback_used[row]) else ""
            axv.set_title(f"pair 1, view {v + 1}{flag}", fontsize=9, color=_COLOURS[0])
            axv.axis("off")
    fig.suptitle(f"recipe {sampler.recipe.name!r}: {pairs} pairs per photo (solid = view 1, dashed = view 2)", fontsize=10)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80)
    plt.close(fig)
    return out
