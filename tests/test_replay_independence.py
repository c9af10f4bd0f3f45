"""A view depends only on its item and its seed: every registered recipe, run on one item
alone and inside mixed batches (a larger and a tiny image, with and without saliency maps
and masks), gives that item the same boxes and the same views."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from pairgen import PairSampler
from pairgen.crops.regions import salient_regions
from pairgen.positive_sampler import PositivePairSampler
from pairgen.recipe import available_recipes

SEED = 1234567


def resized(image: np.ndarray, height: int, width: int) -> np.ndarray:
    return np.asarray(Image.fromarray(image).resize((width, height), Image.BILINEAR))


@pytest.fixture(scope="module")
def items(photos):
    probe = resized(photos["coffee"], 90, 120)
    object_mask = np.zeros((90, 120), bool)
    object_mask[20:70, 30:100] = True
    large = resized(photos["astronaut"], 200, 260)
    large_map = np.zeros((200, 260), np.float32)
    large_map[40:160, 60:200] = 1.0
    tiny = resized(photos["chelsea"], 12, 9)
    return {
        "probe": {"image": probe},
        "probe with map": {"image": probe, "saliency": object_mask.astype(np.float32), "mask": object_mask},
        "large": {"image": large},
        "large with map": {"image": large, "saliency": large_map, "mask": large_map > 0},
        "tiny": {"image": tiny},
    }


def mixtures(items, probe):
    """Batches holding ``probe`` at some position: (batch items, position)."""
    return [
        ([items["large"], items[probe], items["tiny"]], 1),
        ([items["tiny"], items["large with map"], items[probe]], 2),
        ([items[probe], items["large with map"], items["large"], items["tiny"]], 0),
    ]


def run(sampler, batch_items, seeds):
    if isinstance(sampler, PositivePairSampler):
        batch = sampler.collate([(item, item) for item in batch_items])
    else:
        batch = sampler.collate(batch_items)
    return sampler.generate(batch, seeds)


@pytest.mark.parametrize("recipe", sorted(available_recipes()))
@pytest.mark.parametrize("probe", ["probe", "probe with map"])
def test_views_do_not_depend_on_the_rest_of_the_batch(recipe, probe, items):
    cls = PositivePairSampler if recipe in ("instance", "temporal") else PairSampler
    sampler = cls(recipe, size=32, seed=0, mode="device")
    alone = run(sampler, [items[probe]], torch.tensor([SEED]))
    for batch_items, position in mixtures(items, probe):
        seeds = torch.arange(len(batch_items)) * 7919 + 11
        seeds[position] = SEED
        mixed = run(sampler, batch_items, seeds)
        for view, (a, b) in enumerate(zip(alone.params, mixed.params)):
            assert torch.equal(a.boxes[0], b.boxes[position]), (recipe, view, a.boxes[0], b.boxes[position])
            assert a.fallback_used[0] == b.fallback_used[position]
        for view, (a, b) in enumerate(zip(alone.views, mixed.views)):
            assert torch.equal(a[0], b[position]), (recipe, view, (a[0] - b[position]).abs().max())


def test_salient_regions_are_per_image(items):
    """The region grid, area, centroid and box of an image do not change with the canvas."""
    sampler = PairSampler("cast", size=32, seed=0, mode="device")
    alone = sampler.collate([items["probe with map"]])
    mixed = sampler.collate([items["large with map"], items["probe with map"]])
    a, b = salient_regions(alone), salient_regions(mixed)
    assert a.cell[0] == b.cell[1]
    for name in ("area", "centroid", "box"):
        assert torch.equal(getattr(a, name)[0], getattr(b, name)[1])
    boxes = torch.tensor([[[3.5, 7.2, 80.0, 61.3], [0.0, 0.0, 120.0, 90.0]]], dtype=torch.float64)
    assert torch.equal(a.box_area(boxes)[0], b.box_area(torch.cat([boxes, boxes]))[1])
