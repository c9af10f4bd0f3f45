"""Issue 3's samplers on real photos: constraints hold (brute force), fallbacks are flagged."""

from __future__ import annotations

import csv
import dataclasses
import math
import warnings

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import stats

from pairgen import PairSampler, ViewSpec
from pairgen.collate import collate_items
from pairgen.crops import CASTCrop, ContrastiveCrop, ObjectCrop, SimCCrop
from pairgen.crops.contrastive_crop import beta_symmetric, heatmap_boxes
from pairgen.crops.regions import GRID, salient_regions


def dev_items(folder, limit=None):
    rows = list(csv.DictReader(open(folder / "manifest.csv")))[:limit]
    items = []
    for row in rows:
        image = np.asarray(Image.open(folder / "images" / row["file"]).convert("RGB"))
        mask = np.asarray(Image.open(folder / "masks" / (row["file"][:-4] + ".png")).convert("L")) > 127
        items.append({"image": image, "saliency": mask.astype(np.float32), "mask": mask})
    return items


@pytest.fixture(scope="module")
def horse_item(photos):
    """scikit-image's horse silhouette as the object mask of a real photo texture."""
    from skimage import data

    horse = ~data.horse()  # True on the horse
    texture = np.asarray(Image.fromarray(photos["coffee"]).resize(horse.shape[::-1]))
    image = np.where(horse[:, :, None], texture, texture // 3).astype(np.uint8)
    return {"image": image, "saliency": horse.astype(np.float32), "mask": horse}


def repeated(item, n):
    """The batch of ``n`` copies of one item, without copying its pixels."""
    batch = collate_items([item], 10_000)
    tensors = [f.name for f in dataclasses.fields(batch) if isinstance(getattr(batch, f.name), torch.Tensor)]
    return dataclasses.replace(batch, extents=batch.extents * n,
                               **{name: getattr(batch, name).expand(n, *getattr(batch, name).shape[1:]) for name in tensors})


def covered_fraction(mask: np.ndarray, box) -> float:
    """Brute force: mask pixels whose centres lie in the box, over all mask pixels."""
    x1, y1, x2, y2 = box
    ys, xs = np.nonzero(mask)
    inside = (xs + 0.5 >= x1) & (xs + 0.5 < x2) & (ys + 0.5 >= y1) & (ys + 0.5 < y2)
    return inside.sum() / len(xs)


def check_cast_constraints(items, crop, reps):
    """Every accepted crop holds ``min_areacover`` of the mask (and, with
    ``second_constraint="all"``, of the mask inside the first view), counted pixel by pixel,
    up to the salient pixels of the grid cells that the box's edges cut."""
    spec = ViewSpec(size=64, crop=crop)
    batch = collate_items(items, 10_000)  # no shrinking: canvas pixels are source pixels
    regions = salient_regions(batch, crop.threshold)
    checked = 0
    for rep in range(reps):
        seeds = torch.arange(len(items)) + 1000 * rep
        first = spec.sample(batch, seeds)
        second = spec.sample(batch, seeds + 7, [first])
        for view, params in enumerate((first, second)):
            for i, item in enumerate(items):
                box = params.boxes[i].tolist()
                h, w = item["mask"].shape
                assert 0 <= box[0] < box[2] <= w and 0 <= box[1] < box[3] <= h
                if bool(params.fallback_used[i]):
                    continue
                mask_area = item["mask"].sum()
                slack = 2 * int(regions.cell[i]) * (box[2] - box[0] + box[3] - box[1]) / mask_area
                cover = min(crop.min_areacover, crop.scale[0] * h * w / mask_area)
                assert covered_fraction(item["mask"], box) >= cover - slack - 1e-9
                if view == 1 and crop.second_constraint == "all":
                    a = first.boxes[i].tolist()
                    shared = [max(a[0], box[0]), max(a[1], box[1]), min(a[2], box[2]), min(a[3], box[3])]
                    in_first = covered_fraction(item["mask"], a)
                    in_shared = covered_fraction(item["mask"], shared) if shared[2] > shared[0] and shared[3] > shared[1] else 0.0
                    assert in_shared >= cover * in_first - 2 * slack - 1e-9
                checked += 1
    return checked


def test_every_accepted_cast_crop_covers_the_object(horse_item):
    crop = CASTCrop(min_areacover=0.4, second_constraint="all")
    assert check_cast_constraints([horse_item] * 8, crop, reps=4) >= 48


def test_cast_constraints_on_the_dev_photos(photos_dev):
    items = dev_items(photos_dev)
    assert check_cast_constraints(items, CASTCrop(), reps=2) >= 0.9 * 4 * len(items)


def test_cast_fallbacks_are_flagged(photos):
    image = photos["astronaut"]
    dot = np.zeros(image.shape[:2], np.float32)
    dot[200:204, 300:304] = 1.0
    items = [{"image": image, "saliency": np.zeros_like(dot)},
             {"image": image, "saliency": np.full_like(dot, np.nan)},
             {"image": image, "saliency": -np.ones_like(dot)},
             {"image": image, "saliency": dot}]
    spec = ViewSpec(size=32, crop=CASTCrop(scale=(0.5, 1.0), min_areacover=1.0, attempts=1))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        batch = collate_items(items, 10_000)  # collation warns, with the maps on the host
    assert [str(w.message)[:36] for w in caught] == ["3 of the batch's 4 saliency maps are"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        params = spec.sample(batch, torch.arange(4))
    assert caught == []  # the device stage flags (fallback_used), never reads the device to warn
    assert params.fallback_used[:3].all()
    # Empty maps: a plain random resized crop inside the image.
    assert ((params.boxes[:3, 2:] - params.boxes[:3, :2]).prod(1) > 0).all()
    # Dot too small for any 50%-area crop to hold whole after one attempt? It may be accepted;
    # if it falls back, the fallback encloses the salient box.
    if bool(params.fallback_used[3]):
        x1, y1, x2, y2 = params.boxes[3].tolist()
        assert x1 <= 300 and y1 <= 200 and x2 >= 304 and y2 >= 204
    assert torch.isfinite(params.boxes).all()


def test_cast_replay_on_the_saliency_map_matches(horse_item):
    sampler = PairSampler({"name": "cast-geometry", "normalize": None,
                           "views": [{"count": 2, "size": 64, "crop": {"type": "cast", "min_areacover": 0.5}}]},
                          seed=0, mode="device")
    item = dict(horse_item, image=np.repeat((horse_item["mask"] * 255).astype(np.uint8)[:, :, None], 3, 2))
    batch = sampler.collate([item] * 4)
    pairs = sampler(batch)
    for spec, params, view in zip(sampler.views, pairs.params, pairs.views):
        replayed = spec.replay_on_maps(batch.saliency, batch, params)[:, 0]
        assert torch.allclose(replayed, view[:, 0], atol=1.5 / 255)
        # The rendered view shows a fair part of the horse, as the constraint promised.
        assert (view[:, 0] > 0.5).float().mean((1, 2)).min() > 0.05


def test_contrastive_crop_draws_beta_positions_inside_the_box():
    u = torch.rand(20_000, generator=torch.Generator().manual_seed(0))
    samples = beta_symmetric(u, 0.6).numpy()
    assert stats.kstest(samples, stats.beta(0.6, 0.6).cdf).statistic < 0.02
    heat = np.zeros((150, 200), np.float32)
    heat[50:100, 75:150] = 1.0
    batch = collate_items([{"image": np.zeros((150, 200, 3), np.uint8), "saliency": heat}] * 1000, 10_000)
    boxes, fallback = ContrastiveCrop(alpha=0.6, scale=(0.01, 0.02)).sample(batch, torch.arange(1000), [])
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    assert not fallback.any()
    # Centres stay near the heatmap box and are pushed to its edges (Beta(0.6, 0.6) is U-shaped).
    assert ((centres[:, 0] > 70) & (centres[:, 0] < 155)).float().mean() > 0.9
    middle = ((centres[:, 0] - 112).abs() < 10).float().mean()
    edges = ((centres[:, 0] - 75).abs() < 10).float().mean() + ((centres[:, 0] - 149).abs() < 10).float().mean()
    assert edges / 2 > middle
    # Without a heatmap the box is the whole image: the warm-up's plain crops.
    plain = collate_items([np.zeros((150, 200, 3), np.uint8)] * 500, 10_000)
    boxes, _ = ContrastiveCrop().sample(plain, torch.arange(500), [])
    assert ((boxes[:, 0] + boxes[:, 2]) / 2).std() > 20  # spread over the image, not stuck in a box


def test_simccrop_centres_around_the_image_centre():
    batch = collate_items([np.zeros((200, 200, 3), np.uint8)] * 1000, 10_000)
    boxes, _ = SimCCrop(fraction=0.5, scale=(0.05, 0.1)).sample(batch, torch.arange(1000), [])
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    assert (centres >= 40).all() and (centres <= 160).all()


def test_object_crop_takes_one_object_per_pair(photos):
    image = photos["astronaut"]
    objects = [[20.0, 30.0, 120.0, 150.0], [300.0, 250.0, 480.0, 500.0]]
    items = [{"image": image, "boxes": objects}] * 64
    sampler = PairSampler({"name": "objects", "normalize": None, "views": [
        {"size": 32, "crop": {"type": "object", "dilation": 0.0}},
        {"size": 32, "crop": {"type": "object", "dilation": 0.2}}]}, seed=0, mode="device")
    pairs = sampler(sampler.collate(items))
    chosen = []
    for params, dilation in zip(pairs.params, (0.0, 0.2)):
        for i, box in enumerate(params.boxes.tolist()):
            inside = []
            for x1, y1, x2, y2 in objects:
                gx, gy = (x2 - x1) * dilation, (y2 - y1) * dilation
                inside.append(box[0] >= x1 - gx - 1 and box[1] >= y1 - gy - 1 and box[2] <= x2 + gx + 1 and box[3] <= y2 + gy + 1)
            assert sum(inside) == 1, (i, box)
            chosen.append(inside.index(True))
    first, second = chosen[:64], chosen[64:]
    assert first == second  # the same object in both views
    assert 10 < sum(first) < 54  # both objects get picked
    assert not pairs.params1.fallback_used.any()


def test_object_crop_uses_mask_components_and_falls_back_without_objects(photos):
    image = photos["coffee"]
    mask = np.zeros(image.shape[:2], bool)
    mask[50:150, 60:200] = True
    batch = collate_items([{"image": image, "mask": mask}, {"image": image}], 10_000)
    assert batch.box_valid[0, 0] and not batch.box_valid[1].any()
    boxes, fallback = ObjectCrop(dilation=0.0).sample(batch, torch.arange(2), [])
    assert fallback.tolist() == [False, True]
    x1, y1, x2, y2 = boxes[0].tolist()
    assert x1 >= 60 and y1 >= 50 and x2 <= 200 and y2 <= 150


def test_salient_region_measures_match_brute_force(horse_item):
    """Area, centroid and box exact; the salient pixels in a box exact on cell boundaries and
    within the cut cells' pixels otherwise (brute force on the horse mask)."""
    mask = horse_item["mask"]
    batch = collate_items([horse_item], 10_000)
    regions = salient_regions(batch)
    ys, xs = np.nonzero(mask)
    assert regions.area.item() == mask.sum()
    assert np.allclose(regions.centroid[0].numpy(), [xs.mean() + 0.5, ys.mean() + 0.5])
    assert regions.box[0].tolist() == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
    cell = int(regions.cell[0])
    assert cell == -(-max(mask.shape) // GRID)
    boxes = torch.tensor([[[0.0, 0.0, 400.0, 328.0], [36.0, 40.0, 200.0, 248.0], [100.5, 20.2, 300.7, 300.1]]]).double()
    counted = regions.box_area(boxes)[0]
    for k, box in enumerate(boxes[0].tolist()):
        exact = covered_fraction(mask, box) * mask.sum()
        on_cells = all(v % cell == 0 for v in box)
        slack = 0 if on_cells else 2 * cell * (box[2] - box[0] + box[3] - box[1])
        assert abs(counted[k].item() - exact) <= slack + 1e-6, (box, counted[k].item(), exact)
    assert counted[0].item() == regions.area.item()


def test_region_counts_on_the_host_are_the_device_passes(photos, horse_item):
    """The CPU path (per image, integral images) gives the device path's integers: real photos of mixed
    sizes with the built-in saliency, a mask, an all-zero map, a one-pixel image."""
    from pairgen.crops import regions as module

    sampler = PairSampler("cast", seed=0)
    images = [photos[name] for name in ("astronaut", "coffee", "chelsea")] + [photos["rocket"][:40, :700]]
    items = [{"image": image} for image in images] + [horse_item, {"image": images[0][:1, :1]},
                                                      {"image": images[1], "saliency": np.zeros(images[1].shape[:2], np.float32)}]
    batch = collate_items(items, sampler.max_side)
    batch = batch.with_saliency(sampler.saliency_maps(batch))
    host = batch.host_extents()
    sides = [max(1, -(-max(h, w) // GRID)) for h, w in host]
    grid = (max(-(-h // s) for (h, _), s in zip(host, sides)), max(-(-w // s) for (_, w), s in zip(host, sides)))
    padded = batch.saliency.clone()  # a saliency callable's maps need not be zero past the images
    for i, (h, w) in enumerate(host):
        padded[i, 0, h:], padded[i, 0, :, w:] = 0.9, 0.9
    cases = [(batch.saliency, 0.5), (batch.saliency, 0.1), (batch.saliency, 0.0), (padded, 0.5), (padded, 0.0),
             (batch.saliency.clone().requires_grad_(), 0.5)]  # maps from a model carry gradients
    for maps, threshold in cases:
        on_host = module._counts_on_host(maps, threshold, host, sides, grid)
        on_device = module._counts_on_device(dataclasses.replace(batch, saliency=maps), threshold,
                                             module.image_extents(batch), host, sides, grid)
        for a, b in zip(on_host, on_device):
            assert a.dtype == b.dtype == torch.float64 and torch.equal(a, b), threshold
    own = [module._counts_on_host(maps, 0.0, host, sides, grid)[1].sum(1) for maps in (batch.saliency, padded)]
    # At threshold 0 every pixel of an image is salient, and none past it; the zero map has no region at all.
    assert torch.equal(own[0], own[1]) and own[0].tolist() == [h * w for h, w in host[:-1]] + [0]
    on_host = module._counts_on_host(batch.saliency, 0.5, host, sides, grid)
    assert on_host[1][-1].sum() == 0 and on_host[1][:4].sum(1).min() > 0  # the zero map has no region


def reference_ccrop_params(rng, width, height, box, scale, ratio, alpha):
    """Transcription of ContrastiveCrop.get_params (xyupeng/ContrastiveCrop,
    datasets/transforms/ContrastiveCrop.py): ``(i, j, h, w)``; ``box`` = (h0, w0, h1, w1)."""
    area = height * width
    for _ in range(10):
        target_area = area * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(math.log(ratio[0]), math.log(ratio[1])))
        w = int(round(math.sqrt(target_area * aspect)))
        h = int(round(math.sqrt(target_area / aspect)))
        if 0 < w <= width and 0 < h <= height:
            h0, w0, h1, w1 = box
            ch0 = min(max(int(height * h0) - h // 2, 0), height - h)
            ch1 = min(max(int(height * h1) - h // 2, 0), height - h)
            cw0 = min(max(int(width * w0) - w // 2, 0), width - w)
            cw1 = min(max(int(width * w1) - w // 2, 0), width - w)
            return ch0 + int((ch1 - ch0) * rng.beta(alpha, alpha)), cw0 + int((cw1 - cw0) * rng.beta(alpha, alpha)), h, w, False
    in_ratio = width / height
    if in_ratio < min(ratio):
        w, h = width, int(round(width / min(ratio)))
    elif in_ratio > max(ratio):
        h, w = height, int(round(height * max(ratio)))
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w, True


def reference_update_box(hmap, t):
    """Transcription of update_box (DDP_moco_ccrop.py) for one heatmap: (h0, w0, h1, w1)."""
    hmap = hmap - hmap.min()
    hmap = hmap / hmap.max()
    rows, cols = np.nonzero(hmap.max(1) > t)[0], np.nonzero(hmap.max(0) > t)[0]
    return rows[0] / hmap.shape[0], cols[0] / hmap.shape[1], rows[-1] / hmap.shape[0], cols[-1] / hmap.shape[1]


def test_contrastive_crop_matches_the_reference_sampler():
    """Heatmap box (exactly) and crop positions and sides (KS over 4000 draws) against a
    transcription of the reference; its fallback is torchvision's centre crop at the ratio."""
    height, width, n = 120, 160, 4000
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:height, :width]
    heat = (np.exp(-((xx - 60) ** 2 / 800 + (yy - 70) ** 2 / 300)) + 0.3).astype(np.float32)  # minimum 0.3, not 0
    item = {"image": np.zeros((height, width, 3), np.uint8), "saliency": heat}
    batch = repeated(item, n)
    h0, w0, h1, w1 = reference_update_box(heat, 0.1)
    assert heatmap_boxes(batch, 0.1)[0][0].tolist() == pytest.approx([w0 * width, h0 * height, w1 * width, h1 * height])
    crop = ContrastiveCrop(scale=(0.1, 0.5), alpha=0.6)
    boxes, fallback = crop.sample(batch, torch.arange(n), [])
    ours = boxes.double().numpy()
    ref = np.array([reference_ccrop_params(rng, width, height, (h0, w0, h1, w1), crop.scale, crop.ratio, crop.alpha)
                    for _ in range(n)], float)
    theirs = np.stack([ref[:, 1], ref[:, 0], ref[:, 1] + ref[:, 3], ref[:, 0] + ref[:, 2]], 1)
    for column in range(4):
        assert stats.ks_2samp(ours[:, column], theirs[:, column]).pvalue > 1e-3, column
    assert not fallback.any() and not ref[:, 4].any()
    # No candidate fits in a 10:1 strip: both fall back to the centre crop at ratio 4/3.
    strip = collate_items([np.zeros((20, 400, 3), np.uint8)], 10_000)
    box, flagged = ContrastiveCrop(scale=(0.9, 1.0)).sample(strip, torch.arange(1), [])
    i, j, h, w, used = reference_ccrop_params(rng, 400, 20, (0, 0, 1, 1), (0.9, 1.0), (3 / 4, 4 / 3), 0.6)
    assert used and bool(flagged[0]) and box[0].tolist() == [j, i, j + w, i + h]


def test_simccrop_has_only_settings_it_reads():
    assert SimCCrop().to_dict() == {"type": "simccrop", "scale": [0.2, 1.0], "ratio": [3 / 4, 4 / 3], "alpha": 0.1, "fraction": 0.5}


def test_object_crop_stays_inside_the_image(photos):
    image = photos["astronaut"][:301, :333]
    objects = [[0.3, 0.6, 40.7, 80.2], [250.5, 200.2, 333.0, 301.0], [100.2, 100.9, 180.1, 170.3]]
    batch = repeated({"image": image, "boxes": objects}, 2000)
    for dilation in (0.0, 0.2, 1.0):
        boxes, _ = ObjectCrop(dilation=dilation).sample(batch, torch.arange(2000), [])
        assert (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= 333).all() and (boxes[:, 3] <= 301).all()
        assert (boxes[:, 2:] > boxes[:, :2]).all()


def test_contrastive_crop_without_a_heatmap_is_the_warm_ups_random_resized_crop():
    """The reference trains its warm-up epochs with torchvision's RandomResizedCrop at scale
    0.2-1 (imagenet_pretrain_rcrop) and refreshes the boxes before the first ContrastiveCrop:
    without a heatmap (none, or a constant one) the crops are placed uniformly, not by Beta
    over the whole image (which would push them to the borders). KS over 4000 draws."""
    from torchvision.transforms import RandomResizedCrop

    height, width, n = 150, 200, 4000
    torch.manual_seed(0)
    ref = np.array([RandomResizedCrop.get_params(torch.zeros(1, height, width), [0.2, 1.0], [3 / 4, 4 / 3])
                    for _ in range(n)], float)  # (i, j, h, w)
    theirs = np.stack([ref[:, 1], ref[:, 0], ref[:, 1] + ref[:, 3], ref[:, 0] + ref[:, 2]], 1)
    image = np.zeros((height, width, 3), np.uint8)
    for item in (image, {"image": image, "saliency": np.full((height, width), 0.5, np.float32)}):
        boxes, fallback = ContrastiveCrop().sample(repeated(item, n), torch.arange(n), [])
        assert fallback.float().mean() < 0.01  # torchvision's centre crop, as the reference's
        for column in range(4):
            assert stats.ks_2samp(boxes[:, column].double().numpy(), theirs[:, column]).pvalue > 1e-3, column
