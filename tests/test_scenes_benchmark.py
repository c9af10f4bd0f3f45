"""benchmarks/scene_centric.py: arms differ only in their crops; the smoke run's JSON; same seed, same numbers."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from conftest import REPO, load_benchmark
from pairgen import load_recipe
from pairgen.datasets import FASHION_MNIST

HAVE_FASHION = (FASHION_MNIST / "train-images-idx3-ubyte.gz").is_file()
FAKE = [] if HAVE_FASHION else ["--fake-objects"]


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("scene_centric")


def without_crop(view: dict) -> dict:
    view = dict(view)
    view.pop("crop")
    view.pop("count")
    return view


def test_arms_change_only_the_crop(bench):
    simclr = load_recipe(bench.arm_recipe("simclr"))
    reference = without_crop(simclr.views[0].to_dict())
    assert "blur" not in [op.name for op in simclr.views[0].ops]
    checked = 0
    for arm in bench.ARMS:
        source, changes = bench.crop_source(arm)
        recipe = bench.arm_recipe(arm)
        if recipe is None or source.startswith("stock:"):
            continue
        recipe = load_recipe(recipe)
        assert (recipe.mean, recipe.std) == (simclr.mean, simclr.std)
        views = recipe.expanded_views
        assert len(views) == 2
        for view in views:
            assert without_crop(view.to_dict()) == reference, arm
        crops = [v.to_dict()["crop"] for v in views]
        expected = [v.to_dict()["crop"] for v in load_recipe(source).expanded_views]
        assert crops == [{**crop, **changes} for crop in expected], arm
        checked += 1
    assert checked >= 7
    # The crop-scale factorial: each arm takes the other sampler's scale and keeps the rest of its own crop.
    cast_crop = load_recipe("cast").views[0].to_dict()["crop"]
    scale20 = load_recipe(bench.arm_recipe("simclr_scale20")).views[0].to_dict()["crop"]
    assert scale20 == {**simclr.views[0].to_dict()["crop"], "scale": [0.2, 1.0]} and cast_crop["scale"] == [0.2, 1.0]
    scale08 = load_recipe(bench.arm_recipe("cast_mask_scale08")).views[0].to_dict()["crop"]
    assert scale08 == {**cast_crop, "scale": [0.08, 1.0]} and simclr.views[0].to_dict()["crop"]["scale"] == [0.08, 1.0]
    bench.arm_recipe("simclr_scale20")["views"][0]["crop"]["scale"][0] = 0.5  # a recipe is the caller's to change
    assert bench.ARMS["simclr_scale20"][0][1]["scale"] == [0.2, 1.0]
    stock = load_recipe(bench.arm_recipe("stock_cast"))
    assert stock.views[0].ops == load_recipe("cast").views[0].ops


def test_scene_changes_are_read_and_checked(bench):
    changed = bench.scene_settings(["background_pool=0", "object_fraction=0.3,0.5", "distractors=1"])
    assert (changed.background_pool, changed.object_fraction, changed.distractors) == (0, (0.3, 0.5), 1)
    assert changed.size == bench.SCENES.size and bench.scene_settings([]) == bench.SCENES
    with pytest.raises(ValueError, match="unknown field 'pool'"):
        bench.scene_settings(["pool=3"])
    with pytest.raises(ValueError, match="distractors: cannot read 'many'"):
        bench.scene_settings(["distractors=many"])
    with pytest.raises(ValueError, match="background_pool must be >= 0"):
        bench.scene_settings(["background_pool=-2"])


def test_missing_recipe_is_skipped(bench, monkeypatch):
    monkeypatch.setitem(bench.ARMS, "nothing", ("no_such_recipe", None, "info_nce"))
    assert bench.arm_recipe("nothing") is None


@pytest.mark.slow
def test_smoke_run_writes_the_result_schema(bench, tmp_path):
    out = tmp_path / "smoke.json"
    assert bench.main(["--smoke", "--arms", "simclr", "cast_mask", "objaware_box", "ccrop", "simclr_dcl",
                       "shared_object_mask", "--out", str(out), *FAKE]) == 0
    result = json.loads(out.read_text())
    assert set(result) == {"recipes", "references", "diagnose", "settings"}
    expected = {"simclr", "cast_mask", "objaware_box", "ccrop", "simclr_dcl"}
    if "shared_object" in bench.available_recipes():
        expected.add("shared_object_mask")
    assert set(result["recipes"]) == expected
    assert set(result["references"]) == {"random_init", "supervised"}
    for row in [*result["recipes"].values(), *result["references"].values()]:
        assert set(row) == {"cluttered", "control", bench.TRANSFER, bench.OBJECT_CROP}
        for accuracies in row.values():
            assert len(accuracies) == 1 and all(0.0 <= a <= 1.0 for a in accuracies)
    # the transfer column scores the cluttered encoder on the control scenes: an untrained encoder
    # (the same weights for both sets at one seed) gets there the kNN accuracy it gets on the
    # control (the kNN has no random start; the linear probe's L-BFGS starts from torch's RNG)
    untrained = result["settings"]["knn"]["random_init"]
    assert untrained[bench.TRANSFER] == untrained["control"]
    assert set(result["diagnose"]) == {"cluttered", "control"}
    assert all(v in ("object-centric", "scene-centric") for v in result["diagnose"].values())
    assert result["settings"]["smoke"] is True
    # what a rerun must match: floating-point results differ between CPU models and versions
    assert result["settings"]["versions"]["opencv"] == cv2.__version__ and "CPUs visible" in result["settings"]["machine"]
    sharing = result["settings"]["object_sharing_rate"]
    assert sharing["cast_mask"]["cluttered"] > sharing["simclr"]["cluttered"]


def fake_jobs(bench, monkeypatch) -> list:
    """Replace training by a stub that records the jobs in the order they run."""
    calls = []

    def run_job(job):
        calls.append(job)
        return {job[1]: (0.5, 0.25), **({bench.OBJECT_CROP: (0.75, 0.5)} if job[1] == "cluttered" else {})}, 0.0

    monkeypatch.setattr(bench, "run_job", run_job)
    return calls


SHORT = ["--smoke", "--arms", "simclr", "cast_mask", "--sets", "cluttered", "--seeds", "2", "--no-references",
         "--no-diagnose", *FAKE]


def test_jobs_run_seed_major_and_the_budget_keeps_what_finished(bench, monkeypatch, tmp_path):
    calls = fake_jobs(bench, monkeypatch)
    out = tmp_path / "all.json"
    assert bench.main([*SHORT, "--out", str(out)]) == 0
    assert calls == [("simclr", "cluttered", 0), ("cast_mask", "cluttered", 0),
                     ("simclr", "cluttered", 1), ("cast_mask", "cluttered", 1)]
    result = json.loads(out.read_text())
    both = {"cluttered": [0.5, 0.5], bench.OBJECT_CROP: [0.75, 0.75]}
    assert result["recipes"] == {"simclr": both, "cast_mask": both}
    settings = result["settings"]
    assert (settings["complete"], settings["jobs_done"], settings["jobs_total"], settings["missing_jobs"]) == (True, 4, 4, [])
    assert settings["jobs"] == 1  # the training processes, as in every result file

    calls.clear()
    out = tmp_path / "cut.json"
    assert bench.main([*SHORT, "--budget-s", "0", "--out", str(out)]) == 0
    assert calls == [("simclr", "cluttered", 0)]
    result = json.loads(out.read_text())
    assert result["recipes"] == {"simclr": {"cluttered": [0.5], bench.OBJECT_CROP: [0.75]},
                                 "cast_mask": {"cluttered": [], bench.OBJECT_CROP: []}}
    assert result["settings"]["knn"]["simclr"]["cluttered"] == [0.25]
    assert (result["settings"]["complete"], result["settings"]["jobs_done"]) == (False, 1)
    assert result["settings"]["missing_jobs"] == [["cast_mask", "cluttered", 0], ["simclr", "cluttered", 1],
                                                  ["cast_mask", "cluttered", 1]]
    assert set(result["settings"]["pair_statistics"]) == {"simclr", "cast_mask"}  # the end-of-run measurements still ran


def test_finished_jobs_survive_a_crash_after_them(bench, monkeypatch, tmp_path):
    fake_jobs(bench, monkeypatch)

    def crash(*args, **kwargs):
        raise RuntimeError("killed")

    monkeypatch.setattr(bench, "object_in_pairs", crash)
    out = tmp_path / "crash.json"
    with pytest.raises(RuntimeError, match="killed"):
        bench.main([*SHORT, "--out", str(out)])
    result = json.loads(out.read_text())
    assert result["recipes"]["cast_mask"]["cluttered"] == [0.5, 0.5]
    assert (result["settings"]["complete"], result["settings"]["jobs_done"]) == (False, 4)


@pytest.mark.slow
def test_the_budget_ends_the_training_processes(tmp_path):
    # A fresh interpreter, as the benchmark runs: forking after this process's autograd threads is refused.
    out = tmp_path / "pool.json"
    subprocess.run([sys.executable, str(REPO / "benchmarks" / "scene_centric.py"), "--smoke", "--arms", "simclr",
                    "--sets", "cluttered", "--seeds", "3", "--no-references", "--no-diagnose", "--jobs", "2",
                    "--budget-s", "0", "--out", str(out), *FAKE], check=True, capture_output=True, timeout=300)
    settings = json.loads(out.read_text())["settings"]
    assert not settings["complete"] and 1 <= settings["jobs_done"] < 3
    assert len(settings["missing_jobs"]) == 3 - settings["jobs_done"]
    assert not out.with_name(out.name + ".part").exists()


@pytest.mark.parametrize("arm", ["simclr", "cast_mask"])
def test_object_in_pairs_matches_a_per_pixel_count(bench, arm):
    config = dict(bench.CONFIGS["smoke"], train=40, fashion_mnist=str(bench.FASHION_MNIST),
                  opencv_photos=str(bench.OPENCV_PHOTOS))
    data = bench.scene_data(config, control=False, fake=not HAVE_FASHION, builtin=False)
    got = bench.object_in_pairs(arm, data, count=40, seed=3)
    pairs = bench.sample_pairs(arm, data, 40, seed=3)
    shared, iou, density, held, missing = [], [], [], [], []
    for i, mask in enumerate(data["scenes"].masks[:40]):
        rows, cols = np.nonzero(mask)
        views = []
        for params in pairs.params:
            x1, y1, x2, y2 = params.boxes[i].double().tolist()
            pixels = sum(x1 <= c + 0.5 < x2 and y1 <= r + 0.5 < y2 for r, c in zip(rows, cols))
            covered = sum(x1 <= c + 0.5 < x2 and y1 <= r + 0.5 < y2
                          for r in range(mask.shape[0]) for c in range(mask.shape[1]))
            views.append((x1, y1, x2, y2))
            held.append(pixels / len(rows))
            density.append(pixels / max(covered, 1))
            missing.append(pixels / len(rows) < 0.1)
        shared.append(min(held[-2:]) >= 0.5)
        (a1, b1, a2, b2), (c1, d1, c2, d2) = views
        overlap = max(0.0, min(a2, c2) - max(a1, c1)) * max(0.0, min(b2, d2) - max(b1, d1))
        iou.append(overlap / ((a2 - a1) * (b2 - b1) + (c2 - c1) * (d2 - d1) - overlap))
    expected = {"object_sharing_rate": np.mean(shared), "view_iou": np.mean(iou), "object_share_of_view": np.mean(density),
                "view_share_of_object": np.mean(held), "views_missing_object": np.mean(missing)}
    assert got == pytest.approx(expected, abs=6e-5)
    assert 0 < got["object_sharing_rate"] < 1 and got["view_iou"] < 1


@pytest.mark.slow
@pytest.mark.parametrize("path", [["--preload"], []], ids=["preloaded", "dataloader"])
def test_same_seed_same_accuracies(bench, tmp_path, path):
    runs = []
    for name in ("a", "b"):
        out = tmp_path / f"{name}.json"
        assert bench.main(["--smoke", "--arms", "simclr", "ccrop", "--sets", "cluttered", "--no-diagnose",
                           *path, "--out", str(out), *FAKE]) == 0
        runs.append(json.loads(out.read_text()))
    assert runs[0]["recipes"] == runs[1]["recipes"]
    assert runs[0]["references"] == runs[1]["references"]
    assert runs[0]["settings"]["knn"] == runs[1]["settings"]["knn"]


def test_shortcut_probe_replays_each_scenes_background_photo():
    # benchmarks/scene_shortcut.py names each scene's background photo by replaying the scene's
    # content stream: check it against scenes rendered on photos of one grey level each.
    module = load_benchmark("scene_shortcut")
    from pairgen.scenes import render_scene

    photos = [np.full((80, 80, 3), 5 * k, np.uint8) for k in range(30)]
    obj = np.zeros((28, 28), np.uint8)
    obj[10:18, 10:18] = 200
    expected = module.background_index(40, len(photos))
    corners = [int(render_scene(obj, photos, (0, 0, i), control=True, settings=module.SCENES)[0][0, 0, 0]) // 5
               for i in range(40)]
    assert corners == expected.tolist()
    assert len(set(corners)) > 10


def test_object_window_holds_the_box_at_the_control_fraction(bench):
    fraction = bench.SCENES.control_fraction
    rng = np.random.default_rng(0)
    for _ in range(500):
        x1, y1 = rng.uniform(0, 60, 2)
        x2, y2 = x1 + rng.uniform(1, 64 - x1), y1 + rng.uniform(1, 64 - y1)
        left, top, side = bench.object_window((x1, y1, x2, y2), 64, fraction)
        assert 0 <= left and 0 <= top and left + side <= 64 and top + side <= 64
        longer = max(x2 - x1, y2 - y1)
        if longer / fraction <= 64:
            assert abs(side - longer / fraction) <= 0.5
            assert left <= x1 + 1 and x2 <= left + side + 1 and top <= y1 + 1 and y2 <= top + side + 1  # rounding
            if left not in (0, 64 - side):  # not moved inside: centred on the box
                assert abs(left + side / 2 - (x1 + x2) / 2) <= 1
        else:
            assert side == 64
    assert bench.object_window((0, 0, 0, 0), 64, fraction) == (0, 0, 64)


def test_object_crops_cut_the_window_from_each_scene(bench):
    # pixels that name their own coordinates: a crop at its own size is the window's pixels
    ys, xs = np.mgrid[:64, :64]
    image = np.stack([xs * 4, ys * 4, np.zeros_like(xs)], -1).astype(np.uint8)
    boxes = np.array([[10, 12, 27, 26], [40, 30, 57, 50], [0, 0, 0, 0]], np.float32)

    def scenes(count):
        return bench.Scenes(np.stack([image] * count), np.zeros((count, 64, 64), bool), boxes[:count], np.zeros(count, np.int64))

    left, top, side = bench.object_window(boxes[0], 64, 0.85)
    np.testing.assert_array_equal(bench.object_crops(scenes(1), side, 0.85)[0], image[top : top + side, left : left + side])
    crops = bench.object_crops(scenes(3), 32, 0.85)
    assert crops.shape == (3, 32, 32, 3)
    for crop, box in zip(crops, boxes):
        left, top, side = bench.object_window(box, 64, 0.85)
        # the resized crop spans the window's coordinates (to within one source pixel)
        assert abs(crop[..., 0].min() / 4 - left) <= 1 and abs(crop[..., 0].max() / 4 - (left + side - 1)) <= 1
        assert abs(crop[..., 1].min() / 4 - top) <= 1 and abs(crop[..., 1].max() / 4 - (top + side - 1)) <= 1
