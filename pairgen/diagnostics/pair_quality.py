"""Pair quality: how often training's own two views of a recipe show the same object.

Following DESIGN.md ("Measuring pairs on real photos"): a crop box *shows the
object* when object pixels cover at least 20% of the crop or the crop holds at least
50% of the object; a pair *shares the object* when both views show it. The
*object-sharing rate* is the fraction of pairs that share the object; *diversity* is
the mean IoU of the two views' boxes (lower is more diverse).

Nothing here is a second implementation of training: :class:`RecipePairs` puts the
images on the canvas :func:`pairgen.collate.collate_items` makes for
``PairSampler(recipe)`` (same ``max_side``, boxes in source pixels), gives it the
saliency that sampler uses (a sidecar map where there is one, else
``PairSampler.saliency_maps``), draws the first two views with
``PairSampler.sample`` and reads the object from the same saliency through
:func:`pairgen.crops.regions.salient_regions` (the region crop samplers use).

Each image gets ``pairs`` Monte-Carlo pairs with per-image seeds (from its key, the
pair index and the scan's seed: the same in every shard and re-run).

Example:
    >>> pairs = RecipePairs("simclr")
    >>> rgb = np.zeros((120, 160, 3), np.uint8); rgb[30:90, 40:120] = 255
    >>> [(rate, iou)] = pairs([rgb], [None], [(160, 120)], np.arange(8).reshape(1, 8))
    >>> 0.0 <= rate <= 1.0 and 0.0 <= iou <= 1.0
    True
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .streaming import Histogram, Moments, linear_edges

#: Object pixels / crop area at or above which a crop shows the object.
MIN_OBJECT_IN_CROP = 0.2
#: Crop's share of the object at or above which a crop shows the object.
MIN_CROP_OF_OBJECT = 0.5
#: The recipe every report measures as the baseline.
BASELINE = "simclr"


class RecipePairs:
    """Training's first two views of a recipe, measured against the salient region.

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
        return f"RecipePairs({self.recipe!r})"

    def __getstate__(self) -> dict:
        return {"recipe": self.recipe, "_sampler": None}

    @property
    def sampler(self):
        """The ``PairSampler`` training would build for the recipe."""
        if self._sampler is None:
            from pairgen import PairSampler

            self._sampler = PairSampler(self.recipe, seed=0)
        return self._sampler

    @property
    def max_side(self) -> int:
        return self.sampler.max_side

    def boxes(self, batch, seeds: np.ndarray):
        """``(B, P, 2, 4)`` source-pixel boxes of the first two views for ``(B, P)`` seeds, and the saliency batch."""
        import torch

        sampler = self.sampler
        if batch.needs_saliency:
            batch = batch.with_saliency(sampler.saliency_maps(batch))
        seeds = torch.as_tensor(np.asarray(seeds), dtype=torch.int64)
        with torch.no_grad():
            drawn = []
            for column in seeds.T:
                params = sampler.sample(batch, column)
                drawn.append(torch.stack([params[0].boxes, params[1].boxes], 1))
        return torch.stack(drawn, 1).double(), batch

    def __call__(self, images: list[np.ndarray], saliency: list, sizes: list[tuple[int, int]],
                 seeds: np.ndarray) -> list[tuple[float | None, float]]:
        """``[(object-sharing rate or None without an object, mean view IoU)]`` per image.

        Args:
            images: uint8 RGB arrays, each the source image or a copy shrunk to at most ``max_side``.
            saliency: per image a sidecar map (any resolution) or None.
            sizes: the source images' ``(width, height)``.
            seeds: ``(B, P)`` int64 per-pair seeds.
        """
        import torch

        from pairgen.collate import collate_items
        from pairgen.crops.regions import salient_regions

        items = [{"image": rgb} if s is None else {"image": rgb, "saliency": s} for rgb, s in zip(images, saliency)]
        batch = collate_items(items, self.max_side)
        true = torch.tensor([(h, w) for w, h in sizes], dtype=torch.int64)
        canvas = batch.sizes.double() * batch.scales.double()  # each image's extent on the canvas
        batch = dataclasses.replace(batch, sizes=true, scales=(canvas / true.double()).float())
        boxes, batch = self.boxes(batch, seeds)
        n, pairs = boxes.shape[:2]
        shown = shows_object(salient_regions(batch), boxes.reshape(n, pairs * 2, 4)).reshape(n, pairs, 2)
        rates = shown.all(-1).double().mean(1)
        iou = box_iou(boxes[:, :, 0], boxes[:, :, 1]).mean(1)
        empty = salient_regions(batch).empty
        return [(None if bool(e) else float(r), float(i)) for r, i, e in zip(rates, iou, empty)]


def shows_object(regions, boxes):
    """``(B, K)`` bool: whether each source-pixel box ``(B, K, 4)`` shows the salient region of its image."""
    inside = regions.box_area(boxes)
    scale = regions.scales.to(boxes)
    crop = ((boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1]) * scale[:, None, 0]
            * scale[:, None, 1]).clamp_min(1e-12)
    total = regions.area.to(boxes)[:, None]
    shown = (inside >= MIN_OBJECT_IN_CROP * crop - 1e-9) | (inside >= MIN_CROP_OF_OBJECT * total - 1e-9)
    return shown & ~regions.empty.to(shown.device)[:, None]


def box_iou(a, b):
    """IoU of matching boxes ``(..., 4)`` xyxy."""
    iw = (a[..., 2].minimum(b[..., 2]) - a[..., 0].maximum(b[..., 0])).clamp_min(0)
    ih = (a[..., 3].minimum(b[..., 3]) - a[..., 1].maximum(b[..., 1])).clamp_min(0)
    inter = iw * ih
    union = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1]) + (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1]) - inter
    return (inter / union.clamp_min(1e-12)) * (union > 0)


def resolve_recipes(recipe) -> tuple[tuple[str, RecipePairs], ...]:
    """``((name, RecipePairs), ...)``: the chosen recipe, then ``simclr`` unless it is the same."""
    if not isinstance(recipe, str):
        raise TypeError(f"recipe must be a recipe name or YAML path, got {recipe!r}")
    chosen = (recipe, RecipePairs(recipe))
    return (chosen,) if recipe == BASELINE else (chosen, (BASELINE, RecipePairs(BASELINE)))


class PairQualityStats:
    """Dataset aggregate per recipe: object-sharing rate and IoU over all pairs."""

    def __init__(self):
        self._sharing: dict[str, Moments] = {}
        self._sharing_hist: dict[str, Histogram] = {}
        self._iou: dict[str, Moments] = {}
        self._no_object: dict[str, int] = {}

    def add(self, record) -> None:
        if record.status != "ok":
            return
        for name, (rate, iou) in record.pairs.items():
            if name not in self._iou:
                self._sharing[name], self._iou[name], self._no_object[name] = Moments(), Moments(), 0
                self._sharing_hist[name] = Histogram(linear_edges(0.0, 1.0, 10) + [1.0 + 1e-9])
            self._iou[name].add(iou)
            if rate is None:
                self._no_object[name] += 1
            else:
                self._sharing[name].add(rate)
                self._sharing_hist[name].add(rate)

    def result(self, pairs_per_image: int) -> dict:
        out = {}
        for name in self._iou:
            sharing = self._sharing[name]
            out[name] = {
                "object_sharing_rate": sharing.mean if sharing.count else None,
                # Across images (pairs of one image are not independent of each other).
                "standard_error": sharing.std / math.sqrt(sharing.count) if sharing.count else None,
                "mean_iou": self._iou[name].mean if self._iou[name].count else None,
                "images": sharing.count,
                "images_without_object": self._no_object[name],
                "pairs": sharing.count * pairs_per_image,
                "per_image_rate_histogram": self._sharing_hist[name].to_dict(),
            }
        return out
