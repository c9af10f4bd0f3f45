"""Pair quality and centricity against brute-force pixel counts; the engine's boxes as a sampler."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.transforms import RandomResizedCrop

from pairgen.diagnostics.analysis import pair_seeds
from pairgen.diagnostics.centricity import centricity_features
from pairgen.diagnostics.object_proxy import SIDE, object_mask, saliency_maps
from pairgen.diagnostics.pair_quality import box_iou, pair_statistics, shows_object
from pairgen.diagnostics.recipes import EngineBoxes, resolve_recipes


def brute_force_shows(mask: np.ndarray, box: np.ndarray) -> bool:
    x0, y0, x1, y1 = box.astype(int)
    inside = mask[y0:y1, x0:x1].sum()
    area = (x1 - x0) * (y1 - y0)
    return bool(inside >= 0.2 * area or inside >= 0.5 * mask.sum())


def test_shows_object_matches_pixel_counting_on_integer_boxes():
    rng = np.random.default_rng(0)
    mask = np.zeros((SIDE, SIDE), bool)
    mask[10:30, 35:60] = True
    mask[45:50, 5:12] = True
    corners = rng.integers(0, SIDE + 1, size=(2000, 2, 2))
    boxes = np.concatenate([corners.min(axis=1), corners.max(axis=1) + 1], axis=1).clip(0, SIDE).astype(float)
    boxes = boxes[(boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])][:, [0, 1, 2, 3]]
    expected = [brute_force_shows(mask, b) for b in boxes]
    assert shows_object(mask, boxes).tolist() == expected
    assert 0.1 < np.mean(expected) < 0.9


def test_fractional_boxes_are_area_weighted():
    mask = np.zeros((4, 4), bool)
    mask[0, 0] = True  # one object cell
    # A box covering half of the object cell holds 50% of the object: shows it.
    assert shows_object(mask, np.array([[0.5, 0.0, 4.0, 4.0]])).tolist() == [True]
    # A box covering 0.4 of it: holds 40% of the object, object is 0.4 / 14 of the crop: does not.
    assert shows_object(mask, np.array([[0.6, 0.0, 4.0, 4.0]])).tolist() == [False]


def test_pair_statistics_scales_boxes_and_handles_no_object():
    mask = np.zeros((SIDE, SIDE), bool)
    mask[:, :SIDE // 4] = True  # object on the left quarter of a 400x100 image
    left, right = [0, 0, 100, 100], [300, 0, 400, 100]
    boxes = np.array([[left, left], [left, right], [right, right]], float)
    rate, iou = pair_statistics(mask, 400, 100, boxes)
    assert rate == pytest.approx(1 / 3)
    assert iou == pytest.approx(2 / 3)
    assert pair_statistics(np.zeros_like(mask), 400, 100, boxes)[0] is None
    a = np.array([[0, 0, 2, 2], [0, 0, 2, 2]], float)
    b = np.array([[1, 1, 3, 3], [5, 5, 6, 6]], float)
    assert box_iou(a, b).tolist() == pytest.approx([1 / 7, 0.0])


def test_engine_simclr_boxes_follow_random_resized_crop():
    sampler = EngineBoxes("simclr")
    n = 4000
    sizes = np.tile([[640, 480]], (n, 1))
    boxes = sampler(sizes, np.zeros((n, SIDE, SIDE), np.float32), pair_seeds(["a.jpg"], n, seed=0))
    assert boxes.shape == (n, 2, 4)
    w, h = boxes[..., 2] - boxes[..., 0], boxes[..., 3] - boxes[..., 1]
    assert (boxes[..., 0] >= 0).all() and (boxes[..., 2] <= 640).all() and (boxes[..., 3] <= 480).all()
    area = (w * h / (640 * 480)).ravel()
    assert area.min() >= 0.08 - 0.01 and area.max() <= 1.0
    # The same distribution as torchvision's RandomResizedCrop (an independent implementation).
    torch.manual_seed(0)
    image = torch.zeros(1, 480, 640)
    reference = np.array([np.prod(RandomResizedCrop.get_params(image, [0.08, 1.0], [3 / 4, 4 / 3])[2:]) / (640 * 480)
                          for _ in range(n)])
    assert area.mean() == pytest.approx(reference.mean(), abs=0.02)
    assert np.quantile(area, [0.1, 0.5, 0.9]) == pytest.approx(np.quantile(reference, [0.1, 0.5, 0.9]), abs=0.04)
    # Same seeds, same boxes: pairs replay in every shard.
    assert np.array_equal(boxes[:5], sampler(sizes[:5], np.zeros((5, SIDE, SIDE), np.float32),
                                             pair_seeds(["a.jpg"], n, seed=0)[:5]))
    assert [name for name, _ in resolve_recipes("byol")] == ["byol", "simclr"]
    with pytest.raises(ValueError, match="recipe"):
        resolve_recipes("no-such-recipe")


def test_pair_seeds_depend_on_key_pair_and_seed_only():
    one = pair_seeds(["a", "b"], 3, seed=0)
    assert np.array_equal(one[3:], pair_seeds(["b"], 3, seed=0))
    assert len(set(one.tolist())) == 6
    assert not np.array_equal(one, pair_seeds(["a", "b"], 3, seed=1))


def test_centricity_features_match_manual_values():
    mask = np.zeros((SIDE, SIDE), bool)
    mask[8:24, 8:24] = True      # 256 cells
    mask[40:48, 40:56] = True    # 128 cells
    mask[60, 60] = True          # 1 cell: below 1% of the image, not a component
    saliency = mask.astype(np.float32)
    features = centricity_features(saliency, mask)
    assert features.salient_fraction == pytest.approx(385 / SIDE**2)
    assert features.components == 2
    assert features.dominant_share == pytest.approx(256 / 384)
    assert features.object_centric
    ys, xs = np.nonzero(mask)
    assert features.centroid == pytest.approx(((xs + 0.5).mean() / SIDE, (ys + 0.5).mean() / SIDE))
    flat = centricity_features(np.zeros((SIDE, SIDE), np.float32), np.zeros((SIDE, SIDE), bool))
    assert (flat.components, flat.object_centric, flat.centroid) == (0, False, None)


def test_saliency_finds_a_bright_square_on_a_plain_background():
    rgb = np.full((120, 200, 3), 40, np.uint8)
    rgb[40:80, 120:170] = (230, 200, 20)
    mask = object_mask(saliency_maps([rgb])[0])
    expected = np.zeros((SIDE, SIDE), bool)
    expected[round(40 / 120 * SIDE):round(80 / 120 * SIDE), round(120 / 200 * SIDE):round(170 / 200 * SIDE)] = True
    iou = (mask & expected).sum() / (mask | expected).sum()
    assert iou > 0.7
