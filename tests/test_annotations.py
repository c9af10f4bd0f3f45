"""Masks, boxes and keypoints carried into each view: hand-computed geometry, torchvision's own
functional ops, both modes, tv_tensors in and out, and the object-shown flags."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader
from torchvision import tv_tensors
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as TF

from pairgen import PairSampler
from pairgen.annotations import nearest_crop, object_map, otsu_threshold, shows_object, view_boxes, view_keypoints, view_masks
from pairgen.collate import collate_items
from pairgen.errors import InputError

LABEL = 7


def item(h=40, w=60, label=LABEL):
    mask = torch.zeros(h, w, dtype=torch.uint8)
    mask[10:30, 20:40] = label
    return {"image": torch.rand(3, h, w), "mask": tv_tensors.Mask(mask),
            "boxes": tv_tensors.BoundingBoxes([[20, 10, 20, 20]], format="XYWH", canvas_size=(h, w)),
            "keypoints": tv_tensors.KeyPoints([[20.0, 10.0], [59.0, 39.0]], canvas_size=(h, w))}


def fixed_params(sampler, batch, boxes, flip):
    params = sampler.sample(batch, torch.arange(len(batch)))[0]
    return dataclasses.replace(params, boxes=torch.tensor(boxes, dtype=torch.float32), flip=torch.tensor(flip))


def test_crop_and_flip_by_hand():
    # Crop (10, 5)-(50, 35) of a 60x40 image into 20x15 (half scale), mirrored. The object
    # [10:30, 20:40] sits at rows 2.5-12.5 and, mirrored, columns 5-15 of the view.
    sampler = PairSampler({"views": [{"size": [15, 20], "count": 1}]}, seed=0)
    batch = collate_items([item()], 512)
    params = fixed_params(sampler, batch, [[10, 5, 50, 35]], [True])
    spec = sampler.views[0]
    mask = view_masks(spec, batch, params)[0, 0]
    expected = torch.zeros(15, 20, dtype=torch.uint8)
    expected[2:12, 5:15] = LABEL                   # pixel centres inside the object
    assert torch.equal(mask, expected)
    assert torch.allclose(view_boxes(spec, batch, params)[0, 0], torch.tensor([5.0, 2.5, 15.0, 12.5]))
    points = view_keypoints(spec, batch, params)[0]
    assert torch.allclose(points[0], torch.tensor([15.0, 2.5]))            # (20, 10): u = 1/4 mirrored to 3/4
    assert torch.allclose(points[1], torch.tensor([(1 - 49 / 40) * 20, 34 / 30 * 15]))   # outside: not clipped


def test_end_to_end_whole_image_flipped():
    # scale 1 and the image's own aspect ratio: the crop is the whole image; flip always.
    recipe = {"views": [{"size": [20, 30], "count": 2, "flip": 1.0,
                         "crop": {"type": "random_resized", "scale": [1.0, 1.0], "ratio": [1.5, 1.5]}}],
              "normalize": None}
    pairs = PairSampler(recipe, seed=0)([item()] * 3)
    assert torch.allclose(pairs.params[0].boxes, torch.tensor([[0.0, 0, 60, 40]] * 3))
    expected = torch.zeros(20, 30, dtype=torch.uint8)
    expected[5:15, 10:20] = LABEL
    for k in range(2):
        assert isinstance(pairs.masks[k], tv_tensors.Mask) and pairs.masks[k].shape == (3, 1, 20, 30)
        assert torch.equal(pairs.masks[k][:, 0], expected.expand(3, -1, -1))
        box = pairs.boxes[k][1]
        assert isinstance(box, tv_tensors.BoundingBoxes) and box.canvas_size == (20, 30)
        assert torch.allclose(box.as_subclass(torch.Tensor), torch.tensor([[10.0, 5, 20, 15]]))
        assert torch.allclose(pairs.keypoints[k][2].as_subclass(torch.Tensor), torch.tensor([[20.0, 5], [0.5, 19.5]]))


@pytest.mark.parametrize("seed", range(4))
def test_agrees_with_torchvision_functional_ops(seed):
    rng = np.random.default_rng(seed)
    h, w = 48, 64
    labels = torch.from_numpy(rng.integers(0, 5, (h, w)).astype(np.uint8))
    boxes = torch.tensor([[5.0, 6, 30, 40], [40, 2, 63, 20], [0, 0, 64, 48]])
    points = torch.tensor([[10.0, 12], [50, 30], [33, 7]])
    it = {"image": torch.rand(3, h, w), "mask": labels, "boxes": boxes, "keypoints": points}
    sampler = PairSampler({"views": [{"size": [24, 32], "count": 1}]}, seed=0)
    batch = collate_items([it], 512)
    left, top = int(rng.integers(0, 20)), int(rng.integers(0, 16))
    width, height = int(rng.integers(16, w - left + 1)), int(rng.integers(12, h - top + 1))
    flip = bool(seed % 2)
    params = fixed_params(sampler, batch, [[left, top, left + width, top + height]], [flip])
    spec = sampler.views[0]

    # (TF.resized_crop of a Mask ignores its interpolation argument and samples NEAREST)
    ref_mask = TF.resize(TF.crop(tv_tensors.Mask(labels[None]), top, left, height, width), [24, 32],
                         interpolation=InterpolationMode.NEAREST_EXACT)
    ref_boxes = TF.resized_crop(tv_tensors.BoundingBoxes(boxes, format="XYXY", canvas_size=(h, w)),
                                top, left, height, width, [24, 32])
    ref_points = TF.resized_crop(tv_tensors.KeyPoints(points, canvas_size=(h, w)), top, left, height, width, [24, 32])
    if flip:
        ref_mask, ref_boxes = TF.horizontal_flip(ref_mask), TF.horizontal_flip(ref_boxes)
        ref_points = TF.horizontal_flip(ref_points)
    ref_boxes = TF.clamp_bounding_boxes(ref_boxes)

    assert torch.equal(view_masks(spec, batch, params)[0], ref_mask.as_subclass(torch.Tensor))
    assert torch.allclose(view_boxes(spec, batch, params)[0], ref_boxes.as_subclass(torch.Tensor), atol=1e-4)
    ours = view_keypoints(spec, batch, params)[0]
    # torchvision mirrors keypoints as pixel indices (x -> w - 1 - x); pairgen's coordinates are
    # continuous like its boxes (x -> w - x), one pixel apart.
    assert torch.allclose(ours - torch.tensor([float(flip), 0.0]), ref_points.as_subclass(torch.Tensor), atol=1e-4)


def test_nearest_crop_reads_zero_outside_and_keeps_dtype():
    maps = torch.arange(1, 17, dtype=torch.int64).view(1, 1, 4, 4)
    out = nearest_crop(maps, torch.tensor([[-2.0, 0, 2, 4]]), (4, 4), torch.tensor([False]))
    assert out.dtype == torch.int64
    assert torch.equal(out[0, 0, :, :2], torch.zeros(4, 2, dtype=torch.int64))     # left half outside
    assert torch.equal(out[0, 0, :, 2:], maps[0, 0, :, :2])


@pytest.mark.parametrize("mode", ["worker", "device"])
def test_both_modes_through_a_dataloader_give_the_same_annotations(mode):
    items = [item(40 + 4 * i, 60 - 2 * i) for i in range(6)]
    sampler = PairSampler("simclr", size=24, seed=3, mode=mode, tv_tensors=True)
    loader = DataLoader(items, batch_size=3, num_workers=1 if mode == "worker" else 0, collate_fn=sampler.collate)
    for index, batch in enumerate(loader):
        pairs = sampler(batch)
        assert all(isinstance(v, tv_tensors.Image) for v in pairs.views)
        assert all(isinstance(m, tv_tensors.Mask) for m in pairs.masks)
        again = sampler.replay(items[3 * index : 3 * index + 3], pairs.seeds)
        for k in range(2):
            assert torch.equal(pairs.masks[k], again.masks[k])
            assert torch.equal(pairs.padded_boxes[k], again.padded_boxes[k])
            # the mask's box (there is one object) and the item's box agree in the view
            mask = pairs.masks[k][:, 0] > 0
            for i in range(3):
                if mask[i].any():
                    ys, xs = torch.nonzero(mask[i], as_tuple=True)
                    box = pairs.boxes[k][i][0]
                    assert box[0] - 1 <= xs.min() and xs.max() + 1 <= box[2] + 1
                    assert box[1] - 1 <= ys.min() and ys.max() + 1 <= box[3] + 1


def test_label_masks_out_of_range_are_an_input_error():
    with pytest.raises(InputError, match="item 0 mask"):
        collate_items([{"image": torch.rand(3, 8, 8), "mask": torch.full((8, 8), 300)}], 64)
    with pytest.raises(InputError, match="keypoints"):
        collate_items([{"image": torch.rand(3, 8, 8), "keypoints": torch.zeros(3)}], 64)


def test_otsu_matches_opencv():
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(0)
    for _ in range(5):
        levels = np.clip(np.concatenate([rng.normal(60, 15, 500), rng.normal(180, 20, 300)]), 0, 255).astype(np.uint8)
        expected, _ = cv2.threshold(levels[None], 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        counts = torch.from_numpy(np.bincount(levels, minlength=256)).double()[None]
        assert int(otsu_threshold(counts)) == int(expected)
    assert int(otsu_threshold(torch.zeros(1, 256).index_fill_(1, torch.tensor([9]), 5.0))) == 255   # flat: empty


def test_shows_object_definition_by_hand():
    # 100 x 100 canvas, object [0:20, 0:20] (400 px).
    mask = torch.zeros(1, 100, 100, dtype=torch.uint8)
    mask[0, :20, :20] = 1
    batch = collate_items([{"image": torch.rand(3, 100, 100), "mask": mask[0]}], 512)
    sampler = PairSampler({"views": [{"size": 8}]}, seed=0)
    cases = {(0, 0, 40, 40): True,      # 400 / 1600 = 25% of the crop
             (0, 0, 100, 100): True,    # 4% of the crop, but holds all of the object
             (10, 0, 100, 100): True,   # holds half of the object
             (11, 0, 100, 100): False,  # holds 45%, 2% of its area
             (50, 50, 90, 90): False}
    objects = object_map(batch)
    for box, expected in cases.items():
        params = fixed_params(sampler, batch, [box], [False])
        assert bool(shows_object(objects, batch, params)[0]) == expected, box


def test_object_sharing_from_saliency_and_reprs():
    image = np.zeros((64, 64, 3), np.uint8)
    image[20:44, 20:44] = 255
    saliency = np.zeros((64, 64), np.float32)
    saliency[20:44, 20:44] = 1.0
    pairs = PairSampler("simclr", size=32, seed=0)([{"image": image, "saliency": saliency}] * 8)
    assert pairs.object_shared.shape == (8,) and pairs.object_shared.dtype == torch.bool
    assert pairs.masks is None and pairs.boxes is None
    recipe = {"name": "two-sizes", "views": [{"size": 16, "count": 2}, {"size": 8, "count": 6}]}
    big = PairSampler(recipe, seed=0)([torch.rand(3, 32, 32)] * 64)
    for text in (repr(big), repr(big.params[0]), repr(collate_items([torch.rand(3, 64, 64)] * 64, 512))):
        assert len(text) < 400 and text.count("\n") <= 4, text
    assert "recipe 'two-sizes'" in repr(big) and "2 x (64, 3, 16, 16) float32 + 6 x (64, 3, 8, 8)" in repr(big)
