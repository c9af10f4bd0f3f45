"""The device stage makes no host syncs on the batched backend (counted on the CPU with a
TorchDispatchMode: every op that needs a value on the host goes through one of SYNCS)."""

import collections
import dataclasses
import traceback

import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from pairgen import PairSampler
from pairgen.positive_sampler import PositivePairSampler
from pairgen.recipe import available_recipes

SYNCS = {"aten::_local_scalar_dense", "aten::item", "aten::nonzero", "aten::is_nonzero", "aten::masked_select"}
#: Two-image positives: sampled through pairgen.positive_sampler.PositivePairSampler.
PAIRED = {"instance", "temporal"}


class SyncCounter(TorchDispatchMode):
    """Counts host syncs by the pairgen file and line that caused them."""

    def __init__(self):
        super().__init__()
        self.where = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func._schema.name in SYNCS:
            frames = [f for f in traceback.extract_stack() if "/pairgen/" in f.filename]
            self.where[f"{frames[-1].filename.split('/pairgen/')[-1]}:{frames[-1].lineno}" if frames else "?"] += 1
        return func(*args, **(kwargs or {}))


def _batch(sampler, photos):
    image = torch.from_numpy(photos["astronaut"]).permute(2, 0, 1)
    return sampler.collate([image, image[:, :300, :200], image[:, 100:, :]] * 2)


@pytest.mark.parametrize("recipe", sorted(set(available_recipes()) - PAIRED))
def test_the_batched_device_stage_makes_no_host_sync(recipe, photos):
    sampler = PairSampler(recipe, size=32, seed=0, mode="device", backend="batched", max_side=96)
    batch = _batch(sampler, photos)
    with SyncCounter() as counter:
        sampler(batch)
    # None at all, saliency recipes included: images are grouped by size from the batch's host-side
    # extents (ImageBatch.extents), and empty maps are flagged, not warned of (collation warns).
    assert dict(counter.where) == {}, f"host syncs in the device stage: {dict(counter.where)}"
    params = sampler.sample(batch, torch.arange(len(batch), dtype=torch.int64))
    with SyncCounter() as counter:
        sampler.render(batch, params, [None] * len(params))
    assert dict(counter.where) == {}, "rendering makes no host sync"


@pytest.mark.parametrize("given", ["some", "all"])
def test_items_bringing_saliency_make_no_host_sync(given, photos):
    sampler = PairSampler("cast", size=32, seed=0, mode="device", backend="batched", max_side=96)
    image = photos["astronaut"]
    saliency = np.zeros(image.shape[:2], np.float32)
    saliency[100:200, 150:300] = 1.0
    items = [{"image": image, "saliency": saliency}, {"image": image[:300, :200]}]
    if given == "all":
        items[1]["saliency"] = saliency[:300, :200]
    batch = sampler.collate(items)
    with SyncCounter() as counter:
        pairs = sampler(batch)
    assert dict(counter.where) == {}, f"host syncs in the device stage: {dict(counter.where)}"
    alone = sampler.generate(sampler.collate(items[:1]), pairs.seeds[:1])
    assert torch.equal(alone.params[0].boxes, pairs.params[0].boxes[:1])  # a view depends only on its item and seed


@pytest.mark.parametrize("recipe", sorted(PAIRED))
def test_two_image_positives_make_no_host_sync(recipe, photos):
    sampler = PositivePairSampler(recipe, size=32, seed=0, mode="device", backend="batched", max_side=96)
    image = torch.from_numpy(photos["astronaut"]).permute(2, 0, 1)
    batch = sampler.collate([(image, image[:, :300, :200]), (image[:, 100:, :], image)])
    with SyncCounter() as counter:
        sampler(batch)
    assert dict(counter.where) == {}, f"host syncs in the device stage: {dict(counter.where)}"


def test_the_counter_sees_syncs():
    with SyncCounter() as counter:
        bool(torch.ones(2).any())
        torch.arange(3).nonzero()
    assert sum(counter.where.values()) == 2


def test_image_extents_stay_on_the_host_and_follow_the_rows(photos):
    """The grouping by size reads ImageBatch.extents (host ints): they are the images' canvas
    sizes, travel with .to() and .rows() (slices, int and bool indices) and match sizes x scales."""
    sampler = PairSampler("cast", size=32, seed=0, mode="device", backend="batched", max_side=96)
    batch = _batch(sampler, photos)
    assert batch.extents == ((96, 96), (96, 64), (77, 96)) * 2
    stripped = dataclasses.replace(batch, extents=None)
    assert stripped.host_extents() == batch.extents  # computed from sizes and scales
    for index in (slice(1, 4), torch.tensor([5, 0, 2]), torch.tensor([True, False, True, True, False, False])):
        picked = batch.rows(index)
        expected = tuple(tuple(e) for e in dataclasses.replace(picked, extents=None).host_extents())
        assert picked.extents == expected and len(picked.extents) == len(picked)
    assert batch.to("cpu").extents == batch.extents
    with pytest.raises(ValueError, match="extents must hold one"):
        dataclasses.replace(batch, extents=batch.extents[:2])
