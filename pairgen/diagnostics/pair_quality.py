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
pair index and the scan's seed: the same in every shard and re-run). The rates are
estimates, so a large dataset has them measured on a seeded sample of at most
:data:`DEFAULT_PAIR_SAMPLE` images (:func:`pair_sample_keys`: the same sample in every
shard and re-run; ``report["settings"]["pair_sample"]`` says how many).

Example:
    >>> pairs = RecipePairs("simclr")
    >>> rgb = np.zeros((120, 160, 3), np.uint8); rgb[30:90, 40:120] = 255
    >>> [(rate, iou)] = pairs([rgb], [None], [(160, 120)], np.arange(8).reshape(1, 8))
    >>> 0.0 <= rate <= 1.0 and 0.0 <= iou <= 1.0
    True
"""

from __future__ import annotations

import dataclasses
import heapq
import math

import numpy as np

from .examples import Examples
from .page import escape, gallery, num, pct, table
from .plots import BLUE, GRAY, ORANGE, Panel, figure
from .section import Measured, Section, add
from .streaming import Histogram, Moments, linear_edges
from .thresholds import HIGH_IOU, LOW_SHARING, OBJECT_CENTRIC_MAJORITY

#: Object pixels / crop area at or above which a crop shows the object.
MIN_OBJECT_IN_CROP = 0.2
#: Crop's share of the object at or above which a crop shows the object.
MIN_CROP_OF_OBJECT = 0.5
#: The recipe every report measures as the baseline.
BASELINE = "simclr"
#: Images whose pairs are measured by default (about 8,000 pairs per recipe: standard errors near 0.01).
DEFAULT_PAIR_SAMPLE = 500


def pair_sample_keys(keys, size: int | None, seed: int) -> frozenset | None:
    """The keys of at most ``size`` images drawn without replacement, or None (every image) when all fit.

    Bottom-``size`` sampling on a seeded hash of each key: a function of the set of keys
    and ``seed`` only (not of their order or of the shard), and adding or removing one
    image changes the sample by at most one other image, so a cache stays useful.
    """
    keys = list(keys)
    if size is None or len(keys) <= size:
        return None
    import hashlib

    def rank(key: str) -> bytes:  # its own hash: independent of the pairs' seeds
        return hashlib.blake2b(key.encode("utf-8", "surrogateescape"), digest_size=8,
                               key=seed.to_bytes(8, "big"), person=b"pairsample").digest()

    return frozenset(heapq.nsmallest(size, keys, key=rank))


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
        n, pairs = seeds.shape
        with torch.no_grad():
            if sampler.recipe.needs_saliency:  # its crops read the maps: one column of pairs at a time
                drawn = [sampler.sample(batch, column) for column in seeds.T]
                boxes = torch.stack([torch.stack([p[0].boxes, p[1].boxes], 1) for p in drawn], 1)
            else:
                # Crops that read only each image's frame: every pair in one call, on the images'
                # frames repeated per pair (no pixels, no maps: nothing large is copied). A view
                # depends only on its item and seed, so the boxes are those of the loop above.
                frames = dataclasses.replace(batch, images=batch.images[:, :0], saliency=None, saliency_given=None,
                                             masks=None)
                params = sampler.sample(frames.rows(torch.arange(n).repeat_interleave(pairs)), seeds.reshape(-1))
                boxes = torch.stack([params[0].boxes, params[1].boxes], 1).reshape(n, pairs, 2, 4)
        return boxes.double(), batch

    def __call__(self, images: list[np.ndarray], saliency: list, sizes: list[tuple[int, int]],
                 seeds: np.ndarray) -> list[tuple[float | None, float, list | None]]:
        """``[(object-sharing rate or None without an object, mean view IoU, a failing pair)]`` per image.

        The failing pair is the two source-pixel boxes of the first pair that does not
        share the object (None when every pair shares it or there is no object).

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
        regions = salient_regions(batch)
        shown = shows_object(regions, boxes.reshape(n, pairs * 2, 4)).reshape(n, pairs, 2)
        shared = shown.all(-1)
        rates = shared.double().mean(1)
        iou = box_iou(boxes[:, :, 0], boxes[:, :, 1]).mean(1)
        empty = regions.empty
        out = []
        for i in range(n):
            failing = torch.nonzero(~shared[i]).flatten()
            example = None if bool(empty[i]) or not len(failing) else np.round(
                boxes[i, int(failing[0])].numpy(), 1).tolist()
            out.append((None if bool(empty[i]) else float(rates[i]), float(iou[i]), example))
        return out


def shows_object(regions, boxes):
    """``(B, K)`` bool: whether each source-pixel box ``(B, K, 4)`` shows the salient region of its image."""
    inside = regions.box_area(boxes)
    scale = regions.scales.to(boxes)
    crop = ((boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1]) * scale[:, None, 0]
            * scale[:, None, 1]).clamp_min(1e-12)
    total = regions.area.to(boxes)[:, None]
    shown = (inside >= MIN_OBJECT_IN_CROP * crop - 1e-9) | (inside >= MIN_CROP_OF_OBJECT * total - 1e-9)
    return shown & ~regions.empty.to(shown.device)[:, None]


def pair_statistics(mask: np.ndarray, width: int, height: int, boxes) -> tuple[float | None, float]:
    """(object-sharing rate or None for an empty mask, mean view IoU) of one image's pairs against a given mask.

    Args:
        mask: ``(h, w)`` bool object mask of any resolution (e.g. a ground-truth mask).
        width, height: the source image's size, the boxes' frame.
        boxes: ``(P, 2, 4)`` xyxy source-pixel boxes of ``P`` pairs.
    """
    import torch

    from pairgen.batch import ImageBatch
    from pairgen.crops.regions import salient_regions

    h, w = mask.shape
    batch = ImageBatch(images=torch.zeros((1, 3, h, w), dtype=torch.uint8),
                       sizes=torch.tensor([[height, width]], dtype=torch.int64),
                       scales=torch.tensor([[h / height, w / width]], dtype=torch.float32),
                       saliency=torch.from_numpy(np.asarray(mask, np.float32))[None, None])
    boxes = torch.as_tensor(np.asarray(boxes), dtype=torch.float64)
    regions = salient_regions(batch)
    shown = shows_object(regions, boxes.reshape(1, -1, 4)).reshape(-1, 2)
    iou = float(box_iou(boxes[:, 0], boxes[:, 1]).mean())
    return (None if bool(regions.empty[0]) else float(shown.all(-1).double().mean())), iou


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
        self._worst: dict[str, Examples] = {}

    def add(self, record) -> None:
        if record.status != "ok":
            return
        for name, boxes in (record.pair_examples or {}).items():
            self._worst.setdefault(name, Examples(lowest=True)).add(record.pairs[name][0], record, boxes=boxes,
                                                                     rate=record.pairs[name][0])
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

    def result(self, settings: dict) -> dict:
        pairs_per_image = settings["pairs_per_image"]
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
                "worst_pairs": self._worst[name].result() if name in self._worst else [],
            }
        return out


class PairQualitySection(Section):
    """Training's own pairs per recipe: object-sharing rate, view IoU, the worst pairs drawn."""

    name = "pair_quality"

    def measure(self, batch: list[Measured], settings) -> None:
        from .analysis import pair_seeds

        batch = [one for one in batch if settings.measures_pairs(one.record.key)]
        if not batch:
            return
        seeds = pair_seeds([one.record.key for one in batch], settings.pairs_per_image, settings.seed)
        seeds = seeds.reshape(len(batch), settings.pairs_per_image)
        sizes = [(one.decoded.width, one.decoded.height) for one in batch]
        for index, (name, pairs) in enumerate(settings.samplers):
            measured = pairs([one.decoded.canvas_rgb for one in batch], [one.saliency for one in batch], sizes, seeds)
            for one, (rate, iou, example) in zip(batch, measured):
                one.record.pairs[name] = [rate, iou]
                if index == 0 and example is not None:  # the chosen recipe's: the report draws them
                    one.record.pair_examples = {name: example}

    def stats(self, settings: dict) -> PairQualityStats:
        return PairQualityStats()

    def html(self, result: dict, report: dict, preview) -> str:
        return _html(result, preview)

    def recommend(self, result: dict, report: dict) -> list[dict]:
        out: list[dict] = []
        _advice(report["centricity"], result, report["settings"]["recipes"], out)
        return out


SECTION = PairQualitySection()


def _html(pq: dict, preview) -> str:
    if not pq:
        return ""
    rows = [[f"<code>{escape(n)}</code>", pct(v["object_sharing_rate"], 1), num(v["standard_error"], 3),
             num(v["mean_iou"]), f"{v['pairs']:,}", f"{v['images_without_object']:,}"] for n, v in pq.items()]
    summary = table(["recipe", "object-sharing rate", "std. error", "mean view IoU", "pairs",
                     "images without salient object"], rows)
    text = ("<p>Training's own pairs (each recipe's <code>PairSampler</code> on its canvas, with its saliency), "
            "Monte-Carlo pairs per image, the salient region standing in for the object: a view shows the "
            "object when it is &ge; 20% of the crop or the crop holds &ge; 50% of it; a pair shares it when both "
            "views show it. Lower IoU means more diverse views.</p>")
    parts = [f"<section><h2>Pair quality</h2>{text}{summary}{_figure(pq)}"]
    for name, result in pq.items():
        if result["worst_pairs"]:
            parts.append(f"<h3>Worst pairs of <code>{escape(name)}</code> (a pair that misses the object; "
                         "view 1 red, view 2 blue)</h3>"
                         + gallery(preview, result["worst_pairs"], lambda x: f"{x['rate']:.0%} of pairs share it"))
    parts.append("</section>")
    return "".join(parts)


def _figure(pair_quality: dict) -> str:
    names = list(pair_quality)
    bars = Panel("Pairs per recipe", ylabel="")
    x = np.arange(len(names))
    bars.bars(x - 0.2, [pair_quality[n]["object_sharing_rate"] or 0.0 for n in names], 0.4, BLUE,
              label="object-sharing rate")
    bars.bars(x + 0.2, [pair_quality[n]["mean_iou"] or 0.0 for n in names], 0.4, ORANGE, label="mean view IoU")
    bars.categories(names)
    bars.ylim = (0.0, 1.0)
    rates = Panel("Per-image object-sharing rate", xlabel="fraction of an image's pairs sharing the object")
    for name, color in zip(names, (BLUE, ORANGE, GRAY)):
        hist = pair_quality[name]["per_image_rate_histogram"]
        rates.stairs(hist["counts"], hist["edges"], color, fill=False, label=name)
    rates.xlim = (0.0, 1.0)
    return figure([bars, rates], "pairs per recipe")


def _advice(centricity: dict, pairs: dict, recipes: list[str], out: list) -> None:
    share = centricity.get("object_centric_fraction")
    simclr = pairs.get("simclr", {}).get("object_sharing_rate")
    if share is None:
        return
    because = f"{share:.0%} of images object-centric" + (f"; simclr pairs share the object {simclr:.0%} of the time"
                                                         if simclr is not None else "")
    if share < OBJECT_CENTRIC_MAJORITY or (simclr is not None and simclr < LOW_SHARING):
        add(out, "recipe", "Random resized crops will often show different objects in the two views: use a "
             "saliency-constrained recipe (`cast`), or at least random crops with a minimum scale of 0.2 "
             "(Purushwalkam & Gupta, NeurIPS 2020; Selvaraju et al., CAST, CVPR 2021). On pairgen's scene-centric "
             "benchmark the minimum scale of 0.2 gave much of what CAST's constraint gave to object-centric transfer; "
             "on the objects within the clutter the constraint gave more (over random crops at scale 0.2: cast +2.4 "
             "+- 1.7 points and shared_object (at scale 0.08) +3.7 +- 0.6 with true masks, cast +1.4 +- 2.6 with "
             "built-in saliency; 3 seeds on one machine, docs/scene_centric.md).", because)
    else:
        add(out, "recipe", "The data is object-centric and random resized crops keep the object in most pairs: "
             "`simclr`-style crops suit it.", because)
    for name in recipes:
        if name == "simclr" or name not in pairs:
            continue
        rate, iou = pairs[name]["object_sharing_rate"], pairs[name]["mean_iou"]
        if rate is not None and simclr is not None:
            add(out, "recipe", f"`{name}` keeps the object in both views in {rate:.0%} of pairs against "
                 f"{simclr:.0%} for `simclr`.", f"Monte-Carlo over {pairs[name]['pairs']} pairs")
        if iou is not None and iou > HIGH_IOU:
            add(out, "recipe", f"`{name}`'s two views overlap a lot (mean IoU {iou:.2f}); widen its crop scale "
                 "range so the views differ enough to teach invariance.", f"mean IoU {iou:.2f} > {HIGH_IOU}")
