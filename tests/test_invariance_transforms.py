"""Occlusion, viewpoint and illumination ops: replay on masks, points and boxes, coverage
against brute force, fallbacks, and the op contract (dtype, device, input, no NaN)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage import data

from pairgen import PairSampler, ViewSpec, load_recipe
from pairgen.collate import collate_items
from pairgen.crops import CenterCrop
from pairgen.ops.color_affine import LUMA
from pairgen.random import derive_seeds
from pairgen.transforms import Illumination, Occlusion, Viewpoint, move_boxes, planck_gains

SIZE = 64


def photo_batch(photos, size=SIZE) -> torch.Tensor:
    """Four real photos, (4, 3, size, size) float in [0, 1]."""
    images = [torch.from_numpy(photos[k]).permute(2, 0, 1)[None].float() / 255 for k in ("astronaut", "chelsea", "coffee", "rocket")]
    return torch.cat([F.interpolate(x, size=(size, size), mode="bilinear", antialias=True) for x in images]).clamp(0, 1)


def horse_mask(size=SIZE) -> torch.Tensor:
    """scikit-image's horse silhouette (a real object mask), (size, size) float 0/1."""
    horse = torch.from_numpy(~data.horse()).float()[None, None]
    return (F.interpolate(horse, size=(size, size), mode="bilinear") > 0.5).float()[0, 0]


def sample_op(op, images, masks=None, seed=0, size=SIZE):
    """Params of ``op`` for views that are the whole images (identity crop)."""
    items = [{"image": image} if masks is None else {"image": image, "mask": mask} for image, mask in
             zip(images, masks if masks is not None else [None] * len(images))]
    batch = collate_items(items, 10_000)
    spec = ViewSpec(size=size, crop=CenterCrop(1.0), ops=(op,))
    params = spec.sample(batch, derive_seeds(torch.arange(len(items), dtype=torch.int64), seed))
    return params.ops[0], batch, spec, params


STRONG_VIEWPOINT = Viewpoint(rotation=(-40.0, 40.0), scale=(0.7, 1.3), shear=(-15.0, 15.0), translate=0.1, perspective=0.4)


def test_viewpoint_moves_masks_exactly_as_images(photos):
    views = photo_batch(photos)
    params, *_ = sample_op(STRONG_VIEWPOINT, views)
    mask = horse_mask()
    with_mask = views.clone()
    with_mask[:, 0] = mask
    warped = STRONG_VIEWPOINT.apply(with_mask, params)
    moved = STRONG_VIEWPOINT.apply_to_maps(mask.expand(len(views), 1, -1, -1), params)
    assert torch.equal(moved[:, 0], warped[:, 0])
    assert not torch.equal(moved[:, 0], mask.expand(len(views), -1, -1))  # it did move
    # Integer masks keep their dtype and values (nearest) and agree with the bilinear map almost everywhere.
    labels = STRONG_VIEWPOINT.apply_to_maps(mask.to(torch.uint8).expand(len(views), 1, -1, -1), params)
    assert labels.dtype == torch.uint8 and set(labels.unique().tolist()) <= {0, 1}
    assert (labels.bool() == (moved > 0.5)).float().mean() > 0.97


def test_mask_replays_through_the_whole_pipeline(photos):
    """PairSampler views of an image made from a mask equal ViewSpec.replay_on_maps of that mask."""
    mask = horse_mask(200)
    recipe = {"name": "vp", "normalize": None, "views": [{"count": 2, "size": SIZE, "crop": {"type": "random_resized", "scale": [0.3, 1.0]},
                                                          "flip": 0.5, "ops": [STRONG_VIEWPOINT.to_dict()]}]}
    sampler = PairSampler(recipe, seed=3, mode="device")
    items = [{"image": (mask * 255).to(torch.uint8).expand(3, -1, -1), "mask": mask}] * 6
    batch = collate_items(items, 10_000)
    pairs = sampler.generate(batch, torch.arange(6, dtype=torch.int64))
    for spec, params, view in zip(sampler.views, pairs.params, pairs.views):
        replayed = spec.replay_on_maps(batch.masks.float(), batch, params)
        assert (replayed[:, 0] - view[:, 0]).abs().max() <= 1 / 255 + 1e-6


def test_points_land_on_the_rendered_marker():
    n = 8
    ys, xs = torch.meshgrid(torch.arange(SIZE) + 0.5, torch.arange(SIZE) + 0.5, indexing="ij")
    points = torch.tensor([[24.0 + 2 * i, 36.0 - i] for i in range(n)])[:, None, :]
    # A smooth bright spot (sigma 1.5 px) centred on each point.
    spots = torch.exp(-((xs - points[:, 0, 0, None, None]) ** 2 + (ys - points[:, 0, 1, None, None]) ** 2) / (2 * 1.5**2))
    views = spots[:, None].expand(n, 3, SIZE, SIZE).contiguous()
    params, *_ = sample_op(STRONG_VIEWPOINT, views, seed=5)
    warped = STRONG_VIEWPOINT.apply(views, params)[:, 0]
    mapped = STRONG_VIEWPOINT.apply_to_points(points, params)[:, 0]
    for i in range(n):
        weight = warped[i] * (warped[i] > 0.2 * warped[i].max())
        centroid = torch.stack([(weight * xs).sum(), (weight * ys).sum()]) / weight.sum()
        assert torch.dist(centroid, mapped[i]) < 0.5, f"sample {i}: marker at {centroid.tolist()}, point at {mapped[i].tolist()}"


def test_boxes_move_through_their_corners():
    n = 6
    box = torch.tensor([20.0, 16.0, 44.0, 40.0])
    ys, xs = torch.meshgrid(torch.arange(SIZE) + 0.5, torch.arange(SIZE) + 0.5, indexing="ij")
    inside = ((xs > box[0]) & (xs < box[2]) & (ys > box[1]) & (ys < box[3])).float()
    params, *_ = sample_op(STRONG_VIEWPOINT, inside.expand(n, 3, -1, -1), seed=11)
    moved = STRONG_VIEWPOINT.apply_to_maps(inside.expand(n, 1, -1, -1), params)[:, 0] > 0.5
    boxes = move_boxes(STRONG_VIEWPOINT, box.expand(n, 1, 4), params, (SIZE, SIZE))[:, 0]
    for i in range(n):
        rows, cols = moved[i].nonzero(as_tuple=True)
        seen = torch.tensor([cols.min(), rows.min(), cols.max() + 1, rows.max() + 1]).float()
        assert (seen - boxes[i]).abs().max() <= 1.5, f"sample {i}: mask box {seen.tolist()}, moved box {boxes[i].tolist()}"


def brute_force_region(params, i, shape, size=SIZE):
    """The occluder of view ``i`` by plain loops over pixel centres."""
    cx, cy = params["centre"][i].tolist()
    ax, ay = params["axes"][i].tolist()
    angle, radius = float(params["angle"][i]), float(params["radius"][i])
    region = np.zeros((size, size), dtype=bool)
    for y in range(size):
        for x in range(size):
            dx, dy = x + 0.5 - cx, y + 0.5 - cy
            if shape == "rectangle":
                d = max(abs(dx) / ax, abs(dy) / ay)
            else:
                c, s = math.cos(angle), math.sin(angle)
                d = math.hypot((dx * c + dy * s) / ax, (dy * c - dx * s) / ay)
            region[y, x] = d <= radius + 1e-5 * max(1.0, radius)
    return region


@pytest.mark.parametrize("shape", ["rectangle", "blob"])
def test_occlusion_covers_the_requested_fraction_of_the_mask(photos, shape):
    views = photo_batch(photos)
    mask = horse_mask()
    op = Occlusion(area=(0.1, 0.6), shape=shape, fill="random")
    params, *_ = sample_op(op, (views * 255).to(torch.uint8), masks=[mask] * len(views), seed=2)
    out = op.apply(views, params)
    assert not params["fallback"].any() and params["applied"].all()
    object_pixels = mask.numpy() > 0.5
    row_counts = object_pixels.sum(1).max(), object_pixels.sum(0).max()
    for i in range(len(views)):
        region = brute_force_region(params, i, shape)
        covered = (region & object_pixels).sum() / object_pixels.sum()
        assert covered == pytest.approx(float(params["covered"][i]), abs=1.5 / object_pixels.sum())
        # At least the requested share, and over it by less than one row or column of the object.
        requested = float(params["fraction"][i])
        slack = (max(row_counts) if shape == "rectangle" else 3) / object_pixels.sum()
        assert requested - 1e-6 <= covered <= requested + slack
        changed = (out[i] != views[i]).any(0).numpy()
        assert not (changed & ~region).any()  # nothing outside the occluder changes
        assert torch.equal(out[i][:, torch.from_numpy(region)], params["fill"][i][:, None].expand(3, int(region.sum())))


def test_occlusion_falls_back_and_flags_when_the_object_is_missing(photos):
    views = (photo_batch(photos) * 255).to(torch.uint8)
    mask = horse_mask()
    op = Occlusion(area=(0.3, 0.3))
    masks = [mask, torch.zeros_like(mask), mask, torch.zeros_like(mask)]
    params, *_ = sample_op(op, views, masks=masks)
    assert params["fallback"].tolist() == [False, True, False, True]
    # The fallback occluder covers the fraction of the whole view.
    assert params["covered"][1].item() == pytest.approx(0.3, abs=SIZE / SIZE**2)
    no_object, *_ = sample_op(op, views)
    assert no_object["fallback"].all()
    # Saliency stands in for masks: a bright square on a dark photo is the object.
    saliency = torch.zeros(SIZE, SIZE)
    saliency[8:24, 30:60] = 1.0
    batch = collate_items([{"image": v, "saliency": saliency} for v in views], 10_000)
    spec = ViewSpec(size=SIZE, crop=CenterCrop(1.0), ops=(op,))
    salient = spec.sample(batch, torch.arange(4, dtype=torch.int64)).ops[0]
    assert not salient["fallback"].any()
    region = op.region(salient, (SIZE, SIZE))[:, 0]
    assert ((region[:, 8:24, 30:60]).flatten(1).sum(1).float() / (16 * 30) >= 0.3 - 1e-6).all()


def test_illumination_follows_its_formula_and_planck():
    gains = planck_gains(torch.tensor([2500.0, 6500.0, 12000.0]))
    assert torch.allclose(gains[1], torch.ones(3), atol=1e-6)
    assert gains[0, 0] > gains[0, 1] > gains[0, 2] and gains[2, 2] > gains[2, 1] > gains[2, 0]
    luma = torch.tensor(LUMA, dtype=torch.float64)
    assert torch.allclose(gains.double() @ (luma / luma.sum()), torch.ones(3, dtype=torch.float64), atol=1e-6)
    views = torch.rand(3, 3, 8, 12, generator=torch.Generator().manual_seed(0))
    op = Illumination()
    params, *_ = sample_op(op, (views * 255).to(torch.uint8), size=8)
    out = op.apply(views, params)
    x, y, c = 5, 3, 2  # one pixel against the formula, in plain Python
    for i in range(3):
        u, v = (x + 0.5) / 12 * 2 - 1, (y + 0.5) / 8 * 2 - 1
        d = float(params["direction"][i])
        ramp = (math.cos(d) * u + math.sin(d) * v) / (abs(math.cos(d)) + abs(math.sin(d)))
        expected = float(params["brightness"][i]) * float(params["gains"][i, c]) * (1 + float(params["shading"][i]) * ramp)
        expected *= float(views[i, c, y, x]) ** float(params["gamma"][i])
        assert float(out[i, c, y, x]) == pytest.approx(min(max(expected, 0.0), 1.0), abs=1e-5)


@pytest.mark.parametrize("op", [Occlusion(p=0.5), Viewpoint(p=0.5), Illumination(p=0.5)], ids=lambda op: op.name)
def test_ops_keep_dtype_device_input_and_identity_when_not_applied(photos, op):
    views = photo_batch(photos)
    masks = [horse_mask()] * len(views)
    params, *_ = sample_op(op, (views * 255).to(torch.uint8), masks=masks, seed=1)
    assert params["applied"].any() and not params["applied"].all()
    for dtype in (torch.float32, torch.float64):
        x = views.to(dtype)
        before = x.clone()
        out = op.apply(x, params)
        assert out.dtype == dtype and out.device == x.device and out.shape == x.shape
        assert torch.equal(x, before)
        assert torch.isfinite(out).all() and out.min() >= 0 and out.max() <= 1
        skipped = ~params["applied"]
        assert torch.equal(out[skipped], x[skipped])


def test_extreme_settings_give_no_nan(photos):
    views = photo_batch(photos)
    ops = [Viewpoint(rotation=(-180.0, 180.0), scale=(0.05, 20.0), shear=(-60.0, 60.0), translate=1.0, perspective=0.99),
           Illumination(brightness=(0.0, 100.0), gamma=(0.01, 100.0), temperature=(1000.0, 40000.0), shading=0.99),
           Occlusion(area=(0.0, 1.0), ratio=(0.01, 100.0), shape="blob")]
    for op in ops:
        for seed in range(3):
            params, *_ = sample_op(op, (views * 255).to(torch.uint8), seed=seed)
            assert all(torch.isfinite(v.double()).all() for v in params.values())
            for x in (views, torch.zeros_like(views)):
                assert torch.isfinite(op.apply(x, params)).all()
            if op.geometric:
                assert torch.isfinite(op.apply_to_points(torch.rand(4, 5, 2) * SIZE, params)).all()


def test_ops_in_recipes_replay_from_seeds_and_round_trip(photos):
    recipe = {"name": "invariances", "normalize": None, "views": [{"count": 2, "size": 48, "ops": [
        {"type": "occlusion", "area": [0.2, 0.4], "shape": "blob"}, {"type": "viewpoint", "perspective": 0.2},
        {"type": "illumination", "temperature": [3000, 9000]}]}]}
    loaded = load_recipe(recipe)
    assert load_recipe(loaded.to_dict()) == loaded
    items = [photos[k] for k in ("astronaut", "chelsea", "coffee")]
    seeds = torch.tensor([7, 8, 9])
    sampler = PairSampler(loaded, seed=0)
    batch = collate_items(items, 512)
    pairs, again = sampler.generate(batch, seeds), sampler.generate(batch, seeds)
    assert torch.equal(pairs.view1, again.view1) and torch.equal(pairs.view2, again.view2)
    # One sample alone replays the same views (counter-based randomness).
    alone = sampler.generate(collate_items(items[1:2], 512), seeds[1:2])
    assert torch.equal(alone.view2[0], pairs.view2[1])
    with pytest.raises(ValueError, match="occlusion.area"):
        load_recipe({"name": "bad", "views": [{"ops": [{"type": "occlusion", "area": [0.5, 0.2]}]}]})
    with pytest.raises(ValueError, match="viewpoint.perspective"):
        Viewpoint(perspective=1.0)
    with pytest.raises(ValueError, match="illumination.shading"):
        Illumination(shading=1.5)
