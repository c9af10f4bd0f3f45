"""The scene generator (pairgen.scenes): determinism, masks, boxes, control, folders, the CLI."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import cv2
import numpy as np
import pytest

from pairgen import datasets
from pairgen.cli import main as cli_main
from pairgen.datasets import FASHION_MNIST, ImageFolder
from pairgen.scenes import (
    TEXTURE_SCENES,
    SceneFolder,
    SceneSettings,
    background_photos,
    load_boxes,
    make_scenes,
    render_scene,
    render_scenes,
    write_scene_folder,
)

HAVE_FASHION = (FASHION_MNIST / "t10k-images-idx3-ubyte.gz").is_file()


def fake_objects(count: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Grey 28 x 28 objects on black, like Fashion-MNIST's: filled discs and squares with texture."""
    rng = np.random.default_rng(1)
    objects = np.zeros((count, 28, 28), np.uint8)
    for i in range(count):
        shape = np.zeros((28, 28), np.uint8)
        if i % 2:
            cv2.circle(shape, (14, 14), int(rng.integers(6, 13)), 1, -1)
        else:
            shape[4:24, int(rng.integers(3, 9)) : int(rng.integers(19, 25))] = 1
        objects[i] = shape * rng.integers(60, 256, (28, 28)).astype(np.uint8)
    return objects, np.arange(count) % 10


@pytest.fixture(scope="module")
def pools():
    return background_photos("train", max_side=128), background_photos("test", max_side=128)


def test_background_pools_are_real_photos_and_disjoint(pools):
    train, test = pools
    assert len(train) >= 10 and len(test) >= 3
    digest = lambda image: hashlib.sha1(image.tobytes()).hexdigest()
    assert not {digest(p) for p in train} & {digest(p) for p in test}
    for photo in train + test:
        assert photo.dtype == np.uint8 and photo.ndim == 3 and photo.shape[2] == 3 and max(photo.shape[:2]) <= 128
        assert photo.std() > 5  # a photo, not a flat image
    with pytest.raises(ValueError, match="split"):
        background_photos("val")


def test_same_seed_same_scenes_other_seed_other_scenes(pools):
    objects, labels = fake_objects()
    a = render_scenes(objects, labels, pools[0], 12, seed=3)
    b = render_scenes(objects, labels, pools[0], 12, seed=3)
    c = render_scenes(objects, labels, pools[0], 12, seed=4)
    for field in ("images", "masks", "boxes", "labels"):
        assert np.array_equal(getattr(a, field), getattr(b, field))
    assert (a.images != c.images).any(axis=(1, 2, 3)).all()
    assert a.labels.tolist() == [i % 10 for i in range(12)]
    # a scene depends only on its seed and index, not on how many scenes are made
    assert np.array_equal(render_scenes(objects, labels, pools[0], 5, seed=3).images, a.images[:5])


def test_mask_is_exactly_where_the_object_is_drawn(pools):
    objects, labels = fake_objects()
    empty = np.zeros_like(objects)
    for control in (False, True):
        with_object = render_scenes(objects, labels, pools[0], 10, seed=0, control=control)
        without = render_scenes(empty, labels, pools[0], 10, seed=0, control=control)
        assert not without.masks.any()
        changed = (with_object.images != without.images).any(-1)
        # every changed pixel is an object pixel, and (up to colour coincidences) every object pixel changed
        assert not (changed & ~with_object.masks).any()
        assert (changed & with_object.masks).sum() >= 0.98 * with_object.masks.sum()


def test_control_mask_is_the_resized_object_centred(pools):
    objects, _ = fake_objects()
    settings = SceneSettings()
    _, mask, _ = render_scene(objects[0], pools[0], (0, 0, 0), control=True, settings=settings)
    side = round(settings.control_fraction * settings.size)
    start = (settings.size - side) // 2
    expected = np.zeros_like(mask)
    grey = cv2.resize(objects[0], (side, side), interpolation=cv2.INTER_LINEAR)
    flipped = cv2.resize(objects[0][:, ::-1].copy(), (side, side), interpolation=cv2.INTER_LINEAR)
    expected_plain, expected_flip = expected.copy(), expected.copy()
    expected_plain[start : start + side, start : start + side] = grey > settings.threshold
    expected_flip[start : start + side, start : start + side] = flipped > settings.threshold
    assert np.array_equal(mask, expected_plain) or np.array_equal(mask, expected_flip)


def test_boxes_are_the_tight_boxes_of_the_masks(pools):
    objects, labels = fake_objects()
    for control in (False, True):
        scenes = render_scenes(objects, labels, pools[0], 20, seed=1, control=control)
        for mask, box in zip(scenes.masks, scenes.boxes):
            ys, xs = np.nonzero(mask)
            assert box.tolist() == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]


def test_control_is_centred_large_and_without_distractors(pools):
    objects, labels = fake_objects()
    settings = SceneSettings()
    cluttered = render_scenes(objects, labels, pools[0], 40, seed=2)
    control = render_scenes(objects, labels, pools[0], 40, seed=2, control=True)
    assert np.array_equal(cluttered.labels, control.labels)
    side = settings.size
    centre = (control.boxes[:, :2] + control.boxes[:, 2:]) / 2
    assert np.abs(centre - side / 2).max() <= 0.2 * side
    # the same object, drawn control_fraction / object_fraction times larger (less rounding)
    big, small = ((s.boxes[:, 2:] - s.boxes[:, :2]).max(1) for s in (control, cluttered))
    ratio = settings.control_fraction / settings.object_fraction[1]
    assert (big >= ratio * small - 3).all() and (big >= 1.2 * small).all()
    assert control.masks.mean() > 2 * cluttered.masks.mean()
    # distractors: with none, the cluttered scenes change outside the object; the control has none anyway
    plain = SceneSettings(distractors=0)
    no_distractors = render_scenes(objects, labels, pools[0], 40, seed=2, settings=plain)
    outside = (cluttered.images != no_distractors.images).any(-1) & ~cluttered.masks
    assert outside.any(axis=(1, 2)).mean() > 0.9
    same_control = render_scenes(objects, labels, pools[0], 40, seed=2, control=True, settings=plain)
    assert np.array_equal(same_control.images, control.images)


def distractor_pixels(objects, labels, backgrounds, n, settings):
    """Scenes and, per scene, the pixels their distractors changed, against the same scenes without
    any. Exact for invisible (all-black) objects; for visible ones only in the "objects" style,
    which places the object before the distractors (so it stays where it was without them)."""
    scenes = render_scenes(objects, labels, backgrounds, n, seed=2, settings=settings)
    plain = render_scenes(objects, labels, backgrounds, n, seed=2, settings=dataclasses.replace(settings, distractors=0))
    return scenes, (scenes.images != plain.images).any(-1)


def inside_boxes(changed: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Per scene: does any changed pixel fall inside its box?"""
    return np.array([where[int(y1) : int(y2), int(x1) : int(x2)].any() for where, (x1, y1, x2, y2) in zip(changed, boxes)])


def test_object_style_distractors_are_tinted_objects_apart_from_the_object(pools):
    objects, labels = fake_objects()
    empty = np.zeros_like(objects)  # the same layout, no object pixels: every change is a distractor's
    settings = SceneSettings()
    assert settings.distractor_style == "objects"
    textured = dataclasses.replace(settings, distractor_style="texture")
    scenes, changed = distractor_pixels(objects, labels, pools[0], 60, settings)
    tinted, hidden = distractor_pixels(empty, labels, pools[0], 60, settings)
    textured_scenes = render_scenes(objects, labels, pools[0], 60, seed=2, settings=textured)
    textured_empty, hidden_textured = distractor_pixels(empty, labels, pools[0], 60, textured)
    # "objects": off the object's square, so off its box, in nearly every scene (best effort: 20 places);
    # "texture" lays them anywhere, and the object covers them
    assert inside_boxes(hidden, scenes.boxes).mean() <= 0.05
    assert inside_boxes(hidden_textured, textured_scenes.boxes).mean() > 0.5
    # six smaller objects whose total area is about the object's or more
    assert changed.mean() > scenes.masks.mean()
    # each one saturated colour shaded by a photo, as saturated as the object; photo crops are not
    saturation = lambda images, where: cv2.cvtColor(images.reshape(-1, settings.size, 3), cv2.COLOR_RGB2HSV)[..., 1][
        where.reshape(-1, settings.size)].mean()
    assert saturation(tinted.images, hidden) > 150
    assert saturation(textured_empty.images, hidden_textured) < 120
    assert abs(saturation(scenes.images, changed) - saturation(scenes.images, scenes.masks)) < 30


def test_texture_style_replays_the_earlier_scenes():
    # SHA-1 of the images and masks that pairgen.scenes at c29ff05 (before the "objects" style) rendered
    objects, labels = fake_objects()
    rng = np.random.default_rng(7)
    photos = [rng.integers(0, 256, (90, 120, 3), dtype=np.uint8) for _ in range(6)]
    scenes = render_scenes(objects, labels, photos, 12, seed=3, settings=TEXTURE_SCENES)
    digest = hashlib.sha1(scenes.images.tobytes() + scenes.masks.tobytes()).hexdigest()
    assert digest == "400bab35abb11ebb21a35d7267a2936f9245f5f9"


def test_background_pool_limits_the_backgrounds_not_the_distractors():
    # photos of one grey level each: a pixel's level says which photo it came from
    photos = [np.full((80, 80, 3), 5 * k, np.uint8) for k in range(30)]
    obj = np.zeros((28, 28), np.uint8)  # no object pixels: only background and distractors
    for pool, expected in ((1, {0}), (3, {0, 1, 2}), (0, set(range(30)))):
        settings = SceneSettings(background_pool=pool)
        backgrounds = {int(render_scene(obj, photos, (0, 0, i), control=True, settings=settings)[0][0, 0, 0]) // 5
                       for i in range(90)}
        assert backgrounds <= expected and len(backgrounds) >= min(len(expected), 20)
    textured = SceneSettings(background_pool=1, distractor_style="texture")  # a distractor keeps its photo's level
    cluttered = [render_scene(obj, photos, (0, 0, i), settings=textured)[0] for i in range(20)]
    levels = {int(v) // 5 for image in cluttered for v in np.unique(image)}
    assert len(levels) > 10  # the distractors' textures still come from the whole pool
    with pytest.raises(ValueError, match="background_pool"):
        SceneSettings(background_pool=-1)


def test_settings_and_inputs_are_checked(pools):
    objects, labels = fake_objects()
    with pytest.raises(ValueError, match="object_fraction"):
        SceneSettings(object_fraction=(0.6, 0.4))
    with pytest.raises(ValueError, match="distractors"):
        SceneSettings(distractors=-1)
    with pytest.raises(ValueError, match="distractor_style"):
        SceneSettings(distractor_style="blobs")
    with pytest.raises(ValueError, match="backgrounds"):
        render_scenes(objects, labels, [], 4)
    with pytest.raises(ValueError, match="labels"):
        render_scenes(objects, labels[:3], pools[0], 4)
    with pytest.raises(ValueError, match="n must"):
        render_scenes(objects, labels, pools[0], 0)


def test_folder_round_trip_through_image_folder(tmp_path, pools):
    objects, labels = fake_objects()
    scenes = render_scenes(objects, labels, pools[0], 15, seed=5)
    write_scene_folder(tmp_path, scenes, SceneSettings())
    folder = SceneFolder(tmp_path)
    assert len(folder) == 15 and len(folder.classes) == 10
    assert len(ImageFolder(tmp_path)) == 15  # sidecars are not images
    for index, path in enumerate(folder.files):
        item = folder[index]
        i = int(path.stem)
        assert item["label"] == scenes.labels[i]
        assert np.array_equal(np.asarray(item["image"]), scenes.images[i])
        assert np.array_equal(item["saliency"].numpy() > 0.5, scenes.masks[i])
        assert np.array_equal(item["boxes"], scenes.boxes[i][None])
    assert json.loads((tmp_path / "scenes.json").read_text())["count"] == 15
    with pytest.raises(ValueError, match=r"\['count', 'size'\]"):  # nothing written over: it would lose a setting
        write_scene_folder(tmp_path / "clash", scenes, SceneSettings(), made={"size": 1, "count": 2, "seed": 0})
    assert not (tmp_path / "clash").exists()
    bad = folder.files[0].with_name(folder.files[0].stem + ".boxes.json")
    bad.write_text('[[1, 2, 3]]')
    with pytest.raises(ValueError, match="boxes.json"):
        load_boxes(folder.files[0])


def test_exported_from_datasets():
    assert datasets.make_scenes is make_scenes and datasets.SceneFolder is SceneFolder


@pytest.mark.skipif(not HAVE_FASHION, reason="Debian package dataset-fashion-mnist is not installed")
def test_fashion_mnist_scenes_and_the_command(tmp_path, capsys):
    scenes = make_scenes("test", 20, seed=0)
    assert scenes.images.shape == (20, 64, 64, 3) and scenes.masks.any(axis=(1, 2)).all()
    assert cli_main(["scenes", str(tmp_path / "a"), "--split", "test", "--n", "20", "--seed", "0"]) == 0
    assert "wrote 20 cluttered test scenes" in capsys.readouterr().out
    folder = SceneFolder(tmp_path / "a")
    first = folder[0]
    assert np.array_equal(np.asarray(first["image"]), scenes.images[int(folder.files[0].stem)])
    assert cli_main(["scenes", str(tmp_path / "b"), "--control", "--split", "test", "--n", "20", "--seed", "0"]) == 0
    control = make_scenes("test", 20, seed=0, control=True)
    second = SceneFolder(tmp_path / "b")[0]
    assert np.array_equal(np.asarray(second["image"]), control.images[int(folder.files[0].stem)])
    with pytest.raises(SystemExit, match="--n"):
        cli_main(["scenes", str(tmp_path / "c"), "--n", "0"])
    with pytest.raises(SystemExit, match="background_pool"):
        cli_main(["scenes", str(tmp_path / "c"), "--background-pool", "-1"])
    assert cli_main(["scenes", str(tmp_path / "d"), "--split", "test", "--n", "20", "--background-pool", "0"]) == 0
    everywhere = make_scenes("test", 20, seed=0, settings=SceneSettings(background_pool=0))
    third = SceneFolder(tmp_path / "d")[0]
    assert np.array_equal(np.asarray(third["image"]), everywhere.images[int(folder.files[0].stem)])
    assert cli_main(["scenes", str(tmp_path / "e"), "--split", "test", "--n", "20", "--distractor-style", "texture",
                     "--distractors", "3", "--distractor-fraction", "0.2", "0.35"]) == 0
    textured = make_scenes("test", 20, seed=0, settings=TEXTURE_SCENES)
    fourth = SceneFolder(tmp_path / "e")[0]
    assert np.array_equal(np.asarray(fourth["image"]), textured.images[int(folder.files[0].stem)])
    written = json.loads((tmp_path / "e" / "scenes.json").read_text())
    assert (written["distractor_style"], written["distractors"], written["distractor_fraction"]) == ("texture", 3, [0.2, 0.35])
    assert (written["split"], written["seed"], written["control"], written["count"]) == ("test", 0, False, 20)
    # scenes.json holds what replays the folder
    replayed = make_scenes(written["split"], written["count"], seed=written["seed"], control=written["control"],
                           settings=SceneSettings(**{k: tuple(v) if isinstance(v, list) else v for k, v in written.items()
                                                     if k in SceneSettings.__dataclass_fields__}))
    assert np.array_equal(replayed.images, textured.images)
    with pytest.raises(SystemExit, match="distractor_fraction"):
        cli_main(["scenes", str(tmp_path / "f"), "--distractor-fraction", "0.5", "0.2"])


@pytest.mark.skipif(not HAVE_FASHION, reason="Debian package dataset-fashion-mnist is not installed")
def test_diagnose_calls_the_cluttered_scenes_scene_centric_and_the_control_object_centric(tmp_path):
    from pairgen.diagnostics import diagnose

    fractions = {}
    for name, control in (("cluttered", False), ("control", True)):
        scenes = make_scenes("train", 200, seed=0, control=control, limit=2000)
        folder = write_scene_folder(tmp_path / name, scenes, sidecars=False)
        report = diagnose(folder, out=tmp_path / f"{name}_report", workers=0, html=False, cache=False)
        fractions[name] = report["centricity"]["object_centric_fraction"]
        assert report["centricity"]["verdict"] == ("object-centric" if control else "scene-centric")
    # with a margin: measured 0.37; ten more object-centric scenes in 200 do not flip the verdict
    assert fractions["cluttered"] < 0.45 and fractions["control"] > 0.9
    # the earlier "texture" distractors leave one main salient object: object-centric by the same rule
    textured = make_scenes("train", 200, seed=0, limit=2000, settings=TEXTURE_SCENES)
    folder = write_scene_folder(tmp_path / "textured", textured, sidecars=False)
    report = diagnose(folder, out=tmp_path / "textured_report", workers=0, html=False, cache=False)
    assert report["centricity"]["verdict"] == "object-centric"
