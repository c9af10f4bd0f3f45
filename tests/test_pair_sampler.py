"""The PairSampler contract of issue 2, on real photos."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from pairgen import PairBatch, PairSampler
from pairgen.collate import collate_items
from pairgen.correspondence import boxes_to_view
from tests.conftest import photos_dev_dir


class Photos(torch.utils.data.Dataset):
    def __init__(self, items):
        self.items = items

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        return self.items[index]


def real_items(photos) -> list:
    """Real photos in every accepted form: HWC numpy, gray, PIL RGBA / palette / 16-bit, CHW tensor."""
    astronaut, chelsea, coffee, rocket, camera = (photos[k] for k in ("astronaut", "chelsea", "coffee", "rocket", "camera"))
    items = [
        {"image": astronaut, "label": 0},
        {"image": camera, "label": 1},
        {"image": Image.fromarray(chelsea).convert("RGBA"), "label": 2},
        {"image": Image.fromarray(coffee).convert("P"), "label": 3},
        {"image": Image.fromarray(camera.astype(np.uint16) * 257), "label": 4},
        {"image": torch.from_numpy(rocket).permute(2, 0, 1), "label": 5},
        {"image": torch.from_numpy(chelsea).permute(2, 0, 1).float() / 255, "label": 6},
        {"image": astronaut[100:400, 50:250], "label": 7},
    ]
    found = photos_dev_dir()
    if found is not None:
        paths = sorted((found / "images").glob("*.jpg"))[:8]
        items += [{"image": Image.open(p).convert("RGB"), "label": 8 + i} for i, p in enumerate(paths)]
    return items


def run_epochs(sampler, items, epochs=2, workers=2, seed=0):
    torch.manual_seed(seed)
    loader = DataLoader(Photos(items), batch_size=4, num_workers=workers, collate_fn=sampler.collate)
    out = []
    for _ in range(epochs):
        out.append([sampler(batch) for batch in loader])
    return out


def source_sizes(items):
    return collate_items(items, 10_000).sizes


@pytest.mark.slow
def test_snippet_with_two_workers_replays_and_varies(photos):
    items = real_items(photos)
    first = run_epochs(PairSampler("simclr", size=96, seed=0), items)
    again = run_epochs(PairSampler("simclr", size=96, seed=0), items)
    sizes = source_sizes(items)
    for epoch, epoch_again in zip(first, again):
        for k, (pairs, pairs_again) in enumerate(zip(epoch, epoch_again)):
            assert isinstance(pairs, PairBatch)
            assert pairs.view1.shape == (len(pairs), 3, 96, 96) and pairs.view1.dtype == torch.float32
            assert torch.isfinite(pairs.view1).all() and torch.isfinite(pairs.view2).all()
            for params in pairs.params:
                h, w = sizes[4 * k : 4 * k + len(pairs)].unbind(1)
                boxes = params.boxes
                assert (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= w).all() and (boxes[:, 3] <= h).all()
                assert (boxes[:, 2:] > boxes[:, :2]).all()
            assert torch.equal(pairs.view1, pairs_again.view1) and torch.equal(pairs.view2, pairs_again.view2)
            assert torch.equal(pairs.labels, torch.arange(4 * k, 4 * k + len(pairs)))
    # Two epochs give different views of the same photos.
    assert not torch.equal(first[0][0].params1.boxes, first[1][0].params1.boxes)
    # The seed of the sampler matters too.
    other = run_epochs(PairSampler("simclr", size=96, seed=1), items, epochs=1)
    assert not torch.equal(first[0][0].params1.boxes, other[0][0].params1.boxes)


@pytest.mark.slow
def test_two_workers_give_different_views_of_the_same_photo(photos):
    items = [{"image": photos["astronaut"]}] * 8
    (epoch,) = run_epochs(PairSampler("simclr", size=64, seed=0), items, epochs=1)
    boxes = torch.cat([pairs.params1.boxes for pairs in epoch])
    assert len({tuple(b) for b in boxes.tolist()}) == len(boxes)  # batches of worker 0 and 1 differ


def test_worker_views_replay_in_the_main_process(photos):
    """Inside a worker the views are rendered straight into shared memory: the same
    pixels as a replay of their seeds in the main process."""
    sampler = PairSampler("byol", size=48, seed=0)
    items = real_items(photos)[:4]
    loader = DataLoader(Photos(items), batch_size=4, num_workers=1, collate_fn=sampler.collate)
    pairs = next(iter(loader))
    replay = sampler.generate(collate_items(items, sampler.max_side), pairs.seeds)
    for view, again in zip(pairs.views, replay.views):
        assert torch.equal(view, again)


@pytest.mark.parametrize("recipe", ["simclr", {"name": "solarized", "views": [{"size": 40, "solarize": 1.0,
                                                                             "blur": {"p": 1.0}}]}])
def test_render_into_out_equals_a_new_tensor(photos, recipe):
    sampler = PairSampler(recipe, size=40, seed=0, mode="device")
    batch = sampler.collate(real_items(photos)[:4])
    pairs = sampler(batch)
    mean, std = sampler.recipe.mean, sampler.recipe.std
    for spec, params, view in zip(sampler.views, pairs.params, pairs.views):
        out = torch.full((4, 3, 40, 40), float("nan"))
        assert spec.apply(batch, params, mean, std, out=out) is out and torch.equal(out, view)
    with pytest.raises(ValueError, match="out"):
        sampler.views[0].apply(batch, pairs.params1, mean, std, out=torch.empty(4, 3, 40, 41))


def test_device_mode_replays_from_seed_and_differs_across_calls(photos):
    items = real_items(photos)[:4]
    a, b = PairSampler("simclr", size=64, seed=3, mode="device"), PairSampler("simclr", size=64, seed=3, mode="device")
    batch = a.collate(items)
    first, second = a(batch), b(batch)
    assert torch.equal(first.view1, second.view1) and torch.equal(first.seeds, second.seeds)
    assert not torch.equal(a(batch).params1.boxes, first.params1.boxes)
    torch.manual_seed(5)
    c = PairSampler("simclr", size=64)
    torch.manual_seed(5)
    d = PairSampler("simclr", size=64)
    assert c.seed == d.seed  # seed=None follows torch.manual_seed


def test_seeds_replay_every_view(photos):
    sampler = PairSampler("byol", size=64, seed=0, mode="device")
    batch = sampler.collate(real_items(photos)[:4])
    pairs = sampler(batch)
    replay = sampler.generate(batch, pairs.seeds)
    for v, w in zip(pairs.views, replay.views):
        assert torch.equal(v, w)
    # Each view's own seeds replay that view's params alone.
    spec = sampler.views[1]
    again = spec.sample(batch, pairs.params2.seeds)
    assert torch.equal(again.boxes, pairs.params2.boxes) and all(torch.equal(a[k], b[k]) for a, b in zip(again.ops, pairs.params2.ops) for k in a)


def test_batched_equals_per_sample_for_the_same_seeds(photos):
    items = real_items(photos)[:6]
    sampler = PairSampler("byol", size=80, seed=0, mode="device")
    batch = collate_items(items, sampler.max_side)
    seeds = sampler.next_seeds(len(items))
    whole = sampler.generate(batch, seeds)
    for i, item in enumerate(items):
        single = sampler.generate(collate_items([item], sampler.max_side), seeds[i : i + 1])
        for view, alone in zip(whole.views, single.views):
            assert torch.allclose(view[i : i + 1], alone, atol=1e-5)
    # The batched roi_align kernel (the GPU path) agrees with the CPU one on the same params.
    mean, std = sampler.recipe.mean, sampler.recipe.std
    spec = sampler.views[0]
    cpu = spec.apply(batch, whole.params1, mean, std)
    gpu_kernel = spec.apply(batch, whole.params1, mean, std, images=batch.images.float())
    assert (cpu - gpu_kernel).abs().mean() < 0.03  # normalised units; about 1.5 gray levels


def test_transform_mode_gives_views_like_the_batched_mode(photos):
    sampler = PairSampler("simclr", size=64, seed=0)
    views = sampler.transform(photos["chelsea"])
    assert len(views) == 2 and views[0].shape == (3, 64, 64) and torch.isfinite(views[0]).all()
    seeds = torch.tensor([12345])
    batched = sampler.generate(collate_items([photos["chelsea"]], sampler.max_side), seeds)
    assert torch.allclose(sampler.generate(collate_items([photos["chelsea"]], sampler.max_side), seeds).view2, batched.view2)


def test_params_replay_on_masks_saliency_and_boxes(photos):
    """A mask made from the image's own red channel crops to the view's red channel."""
    image = photos["coffee"]
    red = torch.from_numpy(image[:, :, 0]).float()
    box = [150.0, 60.0, 450.0, 330.0]
    recipe = {"name": "geometry", "normalize": None, "views": [{"count": 2, "size": 64, "crop": {"type": "random_resized"}}]}
    sampler = PairSampler(recipe, seed=0, mode="device")
    batch = sampler.collate([{"image": image, "saliency": red, "mask": (red > 128).numpy(), "boxes": [box]}] * 4)
    pairs = sampler(batch)
    for spec, params, view in zip(sampler.views, pairs.params, pairs.views):
        saliency = spec.replay_on_maps(batch.saliency, batch, params)
        assert torch.allclose(saliency[:, 0] / 255, view[:, 0], atol=1.5 / 255)
        mask = spec.replay_on_maps(batch.masks * 255, batch, params, mode="bilinear")
        agree = ((mask[:, 0] > 127) == (view[:, 0] > 128 / 255)).float().mean()
        assert agree > 0.97
        nearest = spec.replay_on_maps(batch.masks * 255, batch, params)  # uint8 masks: nearest, values kept
        assert nearest.dtype == torch.uint8 and set(nearest.unique().tolist()) <= {0, 255}
        assert ((nearest[:, 0] > 127) == (mask[:, 0] > 127)).float().mean() > 0.95
        # The object box maps into the view where a map painted inside that box goes.
        cx1, cy1, cx2, cy2 = batch.source_to_canvas(torch.tensor([box] * 4))[0].round().int().tolist()
        painted = torch.zeros_like(batch.saliency)
        painted[:, :, cy1:cy2, cx1:cx2] = 1
        replayed = spec.replay_on_maps(painted, batch, params)[:, 0] > 0.5
        in_view = boxes_to_view(batch.boxes, params)[:, 0].round().int()
        for i in range(len(view)):
            x1, y1, x2, y2 = in_view[i].tolist()
            expected = torch.zeros(64, 64, dtype=torch.bool)
            expected[y1:y2, x1:x2] = True
            assert (replayed[i] == expected).float().mean() > 0.97


def test_multicrop_returns_a_list_of_views(photos):
    sampler = PairSampler("multicrop", seed=0)
    pairs = sampler(sampler.collate([photos["astronaut"], photos["rocket"]]))
    assert [tuple(v.shape[-2:]) for v in pairs.views] == [(224, 224)] * 2 + [(96, 96)] * 6
    global_area = (pairs.params1.boxes[:, 2:] - pairs.params1.boxes[:, :2]).prod(1)
    local_area = (pairs.params[2].boxes[:, 2:] - pairs.params[2].boxes[:, :2]).prod(1)
    assert (local_area < global_area).all() or local_area.mean() < global_area.mean()


def test_tiny_and_odd_images_never_give_nan():
    items = [np.full((1, 1, 3), 200, np.uint8), np.zeros((3, 500), np.uint8), np.full((700, 2, 3), 9, np.uint8)]
    sampler = PairSampler("simclr", size=32, seed=0)
    pairs = sampler(sampler.collate(items))
    for params in pairs.params:
        assert (params.boxes[:, 2:] > params.boxes[:, :2]).all()
    assert all(torch.isfinite(v).all() for v in pairs.views)
    assert bool(pairs.params1.fallback_used[2]) or bool(pairs.params2.fallback_used[2])


def test_empty_batch_gives_empty_views():
    sampler = PairSampler("simclr", size=32, seed=0)
    pairs = sampler(sampler.collate([]))
    assert pairs.view1.shape == (0, 3, 32, 32) and len(pairs) == 0


def test_bad_input_errors_name_the_argument():
    sampler = PairSampler("simclr", size=32, seed=0)
    with pytest.raises(TypeError, match="item 1 image"):
        sampler.collate([np.zeros((8, 8, 3), np.uint8), "not an image"])
    with pytest.raises(ValueError, match="item 0 image"):
        sampler.collate([np.zeros((2, 8, 8, 3), np.uint8)])
    with pytest.raises(ValueError, match="item 0 image"):
        sampler.collate([np.full((8, 8), np.nan, np.float32)])
    with pytest.raises(ValueError, match="'image' key"):
        sampler.collate([{"label": 1}])
    with pytest.raises(ValueError, match="item 0 boxes"):
        sampler.collate([{"image": np.zeros((8, 8, 3), np.uint8), "boxes": np.zeros((2, 3))}])
    with pytest.raises(ValueError, match="'label'"):
        sampler.collate([{"image": np.zeros((8, 8, 3), np.uint8), "label": 1}, np.zeros((8, 8, 3), np.uint8)])
    with pytest.raises(ValueError, match="size"):
        PairSampler("simclr", size=-3)
    with pytest.raises(ValueError, match="mode"):
        PairSampler("simclr", mode="fast")
    with pytest.raises(ValueError, match="seed"):
        PairSampler("simclr", seed=-1)
    with pytest.raises(ValueError, match="available: .*simclr"):
        PairSampler("simclrr")


def test_pair_negative_mask_uses_labels_sources_and_indices(photos):
    sampler = PairSampler("simclr", size=32, seed=0)
    items = [{"image": photos["astronaut"], "label": 0, "source": "a"},
             {"image": photos["chelsea"], "label": 1, "source": "b"},
             {"image": photos["coffee"], "label": 2, "source": "a"},
             {"image": photos["rocket"], "label": 1, "source": "c"}]
    mask = sampler(sampler.collate(items)).negative_mask()
    related = {(0, 2), (2, 0), (1, 3), (3, 1)}
    for a in range(8):
        for b in range(8):
            expected = a % 4 != b % 4 and (a % 4, b % 4) not in related
            assert bool(mask[a, b]) == expected, (a, b)


def test_replay_in_worker_mode_renders_the_same_views(photos):
    items = [photos["astronaut"], photos["camera"], photos["rocket"]]
    sampler = PairSampler("byol", size=48, seed=4)  # CPU: collate returns finished pairs
    pairs = sampler(sampler.collate(items))
    again = sampler.replay(items, pairs.seeds)
    assert all(torch.equal(a, b) for a, b in zip(pairs.views, again.views))


def test_masks_replay_by_nearest_keeping_labels_and_saliency_bilinearly():
    """Label masks keep their values ({0, 3, 7} stays {0, 3, 7}); each view pixel takes the label
    under its centre (brute force over the box); float saliency maps are filtered as the images."""
    labels = torch.zeros(1, 1, 60, 80, dtype=torch.uint8)
    labels[:, :, 10:40, 5:50] = 3
    labels[:, :, 25:55, 30:75] = 7
    recipe = {"name": "m", "normalize": None, "views": [{"count": 2, "size": [24, 32],
              "crop": {"type": "random_resized", "scale": [0.3, 1.0]}, "ops": [{"type": "flip", "p": 0.5}]}]}
    sampler = PairSampler(recipe, seed=3, mode="device")
    items = [{"image": torch.rand(3, 60, 80), "mask": labels[0, 0]} for _ in range(8)]
    batch = sampler.collate(items)
    pairs = sampler(batch)
    for spec, params in zip(sampler.views, pairs.params):
        out = spec.replay_on_maps(batch.masks, batch, params)
        assert out.dtype == torch.uint8 and set(out.unique().tolist()) <= {0, 3, 7}
        boxes = batch.source_to_canvas(params.boxes)
        for i in range(len(out)):
            x1, y1, x2, y2 = boxes[i].tolist()
            ys = torch.floor(y1 + (y2 - y1) * (torch.arange(24) + 0.5) / 24).long()
            xs = torch.floor(x1 + (x2 - x1) * (torch.arange(32) + 0.5) / 32).long()
            expected = batch.masks[i, 0][ys][:, xs]
            expected = expected.flip(-1) if params.flip[i] else expected
            assert torch.equal(out[i, 0], expected)
        smooth = spec.replay_on_maps(batch.masks.float(), batch, params)
        assert smooth.is_floating_point() and len(smooth.unique()) > 3


def test_collate_places_every_layout_of_an_image_on_a_zero_padded_canvas(photos):
    """Each image lands in its canvas corner as CHW, whatever its memory layout; the rest is zero."""
    image = photos["astronaut"]
    layouts = {"plain": image, "flipped": image[:, ::-1], "strided": image[10:300:2, 5:400:3],
               "fortran": np.asfortranarray(image), "chw tensor": torch.from_numpy(image).permute(2, 0, 1),
               "gray": image[..., 0], "rgba": np.dstack([image, image[..., :1]])}
    for name, value in layouts.items():
        batch = collate_items([value, image[:100, :50]], 10_000)
        expected = np.asarray(value.permute(1, 2, 0) if torch.is_tensor(value) else value)
        expected = np.repeat(expected[..., None], 3, 2) if expected.ndim == 2 else expected[..., :3]
        h, w = expected.shape[:2]
        canvas = batch.images.numpy()
        assert np.array_equal(canvas[0, :, :h, :w], expected.transpose(2, 0, 1)), name
        assert not canvas[0, :, h:].any() and not canvas[0, :, :, w:].any(), name
        assert np.array_equal(canvas[1, :, :100, :50], image[:100, :50].transpose(2, 0, 1)), name
        assert not canvas[1, :, 100:].any() and not canvas[1, :, :, 50:].any(), name
