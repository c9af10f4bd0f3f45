"""The paper's invariance score against a transcription of the authors' code, pairgen's pooled
variant against a brute-force loop, and both on features of real photos."""

from __future__ import annotations

import re
import json
import math

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from torchvision.models import resnet18

from pairgen.invariance import invariance_score, layer_features, pooled_invariance, transformed_sets
from pairgen.invariance.data import square
from pairgen.transforms import Illumination, Viewpoint

from conftest import OPENCV_DATA


def reference_score(feat, item_ids, classes, top_k):
    """Purushwalkam & Gupta's measure_invariances.py (github.com/senthilps8/demystifyssl),
    transcribed line by line in numpy: returns the score and the per-class scores."""
    feat, item_ids, classes = np.asarray(feat, dtype=np.float64), np.asarray(item_ids), np.asarray(classes)
    unique_classes = np.unique(classes)
    firing_percent = min((1.0 - 1.0 / len(unique_classes)) * 100, 95)
    sorted_feat = np.sort(feat, axis=0)
    index = int((feat.shape[0] * firing_percent) // 100)
    thresholds = sorted_feat[index:index + 1, :]
    global_firing = np.mean(feat >= thresholds, axis=0, keepdims=True)
    sorted_feat = -1 * np.sort(-1 * feat, axis=0)
    neg_thresholds = sorted_feat[index:index + 1, :]
    local_firing = [np.zeros_like(global_firing) for _ in unique_classes]
    local_count = [np.zeros_like(global_firing) for _ in unique_classes]
    for itemid in np.unique(item_ids):
        ind = np.where(item_ids == itemid)[0]
        class_index = np.where(unique_classes == classes[ind[0]])[0][0]
        if len(ind) < 3:
            continue
        itemfeat = feat[ind]
        thresh_feat = itemfeat > thresholds
        firing = np.maximum(np.sum(thresh_feat, axis=0, keepdims=True),
                            np.sum(itemfeat < neg_thresholds, axis=0, keepdims=True))
        pos_ind = firing > 0
        local_firing[class_index][pos_ind] += firing[pos_ind] / float(thresh_feat.shape[0])
        local_count[class_index][pos_ind] += 1
    local_firing = np.concatenate([local_firing[c] / (local_count[c] + 1e-20) for c in range(len(unique_classes))])
    per_class = []
    for c in range(len(unique_classes)):
        score = -1 * np.sort(-1 * (local_firing[c] / global_firing[0]))
        per_class.append((np.cumsum(score) / (np.arange(len(score)) + 1))[top_k - 1])
    return float(np.mean(per_class) * (100 - firing_percent)), np.array(per_class) * (100 - firing_percent)


def assert_matches_reference(features, sets, classes=None, top_k=25):
    result = invariance_score(features, sets, classes=classes, top_k=top_k)
    score, per_class = reference_score(features.double().numpy(), sets.numpy(),
                                       (sets if classes is None else classes).numpy(), top_k)
    assert result.score == pytest.approx(score, rel=1e-12, abs=1e-12)
    assert np.allclose(result.per_class.numpy(), per_class, rtol=1e-12, atol=1e-12)
    return result


def brute_force(features, sets, reference, percentile, top_k, min_global_rate, min_set_size=2):
    """pairgen's pooled variant with plain Python loops over lists (independent of the vectorised code)."""
    rows, ref = features.tolist(), reference.tolist()
    ids = sets.tolist()
    neurons = len(rows[0])
    thresholds, global_rate = [], []
    for j in range(neurons):
        column = sorted(r[j] for r in ref)
        t = column[math.floor((len(column) - 1) * percentile / 100)]
        thresholds.append(t)
        global_rate.append(sum(1 for r in ref if r[j] >= t) / len(ref))
    members = {}
    for row, s in zip(rows, ids):
        members.setdefault(s, []).append(row)
    kept = [m for m in members.values() if len(m) >= min_set_size]
    local_rate, invariance = [], []
    for j in range(neurons):
        fired = total = 0
        for m in kept:
            count = sum(1 for r in m if r[j] >= thresholds[j])
            if count > 0:
                fired += count
                total += len(m)
        local_rate.append(fired / total if total else 0.0)
        invariance.append(local_rate[j] / global_rate[j] if global_rate[j] >= min_global_rate else 0.0)
    selective = sum(1 for g in global_rate if g >= min_global_rate)
    k = min(top_k, selective)
    top = sorted(range(neurons), key=lambda j: (-invariance[j], j))[:k]
    score = math.fsum(invariance[j] for j in top) / k
    mean = math.fsum(invariance[j] for j in range(neurons) if global_rate[j] >= min_global_rate) / selective
    return thresholds, global_rate, local_rate, invariance, top, score, mean


@pytest.mark.parametrize("seed", range(4))
def test_pooled_variant_equals_brute_force_exactly(seed):
    g = torch.Generator().manual_seed(seed)
    # Small integer features: many ties at the thresholds; sets of unequal sizes, not adjacent.
    features = torch.randint(0, 6, (60, 12), generator=g).float()
    sets = torch.randint(0, 9, (60,), generator=g)
    sets[torch.randperm(60, generator=g)[:3]] = 100 + torch.arange(3)  # singletons, ignored
    reference = torch.randint(0, 6, (45, 12), generator=g).float() if seed % 2 else features
    percentile, top_k, min_rate = (80.0, 5, 0.05) if seed < 2 else (90.0, 30, 0.02)
    result = pooled_invariance(features, sets, reference=reference if seed % 2 else None, percentile=percentile,
                              top_k=top_k, min_global_rate=min_rate)
    thresholds, global_rate, local_rate, invariance, top, score, mean = brute_force(
        features, sets, reference, percentile, top_k, min_rate)
    assert result.thresholds.tolist() == thresholds
    assert result.global_rate.tolist() == global_rate
    assert result.local_rate.tolist() == local_rate
    assert result.invariance.tolist() == invariance
    assert result.top.tolist() == top
    assert result.score == score and result.mean == mean


def real_photos(size=64) -> torch.Tensor:
    from skimage import data

    images = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket(), data.immunohistochemistry(),
              data.hubble_deep_field(), data.retina(), data.colorwheel(), *data.stereo_motorcycle()[:2]]
    return torch.stack([torch.from_numpy(square(x, size)).permute(2, 0, 1) for x in images]).float() / 255


class FlipAveraged(nn.Module):
    """A backbone made exactly invariant to horizontal flips: f(x) + f(flip(x))."""

    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone

    def forward(self, x):
        return self.backbone(x) + self.backbone(x.flip(-1))


class RandomFeatures(nn.Module):
    """Features that ignore the image: fresh Gaussian noise for every input."""

    def __init__(self, dim=256, seed=0):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))
        self.generator = torch.Generator().manual_seed(seed)
        self.dim = dim

    def forward(self, x):
        return torch.randn(len(x), self.dim, generator=self.generator) * self.scale


@pytest.fixture(scope="module")
def backbone():
    torch.manual_seed(0)
    model = resnet18(weights=None)
    model.fc = nn.Identity()  # 512 pooled features
    return model.eval()


def test_pooled_flip_invariant_features_score_the_maximum(backbone):
    photos = real_photos()
    with_flips = torch.stack([photos, photos.flip(-1)], 1).flatten(0, 1)
    sets = torch.arange(len(photos)).repeat_interleave(2)
    invariant = pooled_invariance(layer_features(FlipAveraged(backbone), with_flips), sets, top_k=10)
    assert invariant.score == invariant.maximum and invariant.normalized == 1.0 and invariant.mean_normalized == 1.0
    assert (invariant.local_rate[invariant.selective] == 1.0).all()  # every neuron, not only the top
    # The plain backbone's spatial features change under flips: most neurons are not invariant.
    spatial = pooled_invariance(layer_features(backbone, with_flips, layer="layer4", pool="flatten"), sets, top_k=10)
    assert (spatial.local_rate[spatial.selective] < 1.0).float().mean() > 0.5


def test_pooled_random_features_score_near_chance():
    photos = real_photos()
    views, sets, _ = transformed_sets(list(photos), Viewpoint(), set_size=8, size=64)
    result = pooled_invariance(layer_features(RandomFeatures(), views), sets)
    assert abs(result.normalized) < 0.15 and abs(result.mean_normalized) < 0.03
    # Over all selective neurons the mean invariance is the chance level 1 / (1 - (1 - G) ** 8).
    rate = result.global_rate[result.selective]
    chance = 1 / (1 - (1 - rate) ** 8)
    assert result.invariance[result.selective].mean() == pytest.approx(float(chance.mean()), rel=0.1)


def test_layer_errors_name_the_layer(backbone):
    images = torch.rand(2, 3, 32, 32)
    with pytest.raises(ValueError, match=r"layer 'layer9' is not a module of ResNet.*layer4"):
        layer_features(backbone, images, layer="layer9")

    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Conv2d(3, 4, 3)
            self.unused = nn.Linear(2, 2)
            self.split = nn.Identity()

        def forward(self, x):
            y = self.body(x)
            return self.split((y, y.sign().long()))

    with pytest.raises(ValueError, match="layer 'split' gives a tuple"):
        layer_features(Pair(), images, layer="split")
    with pytest.raises(ValueError, match="layer 'unused' is not called"):
        layer_features(Pair(), images, layer="unused")
    model = Pair()
    with torch.no_grad():
        assert torch.allclose(layer_features(model, images, layer="body"), model.body(images).mean((2, 3)), atol=1e-6)


def test_features_match_a_direct_forward(backbone):
    images = real_photos(48)[:5]
    backbone.layer1.train()  # a mixed state: features run in eval mode, the state comes back
    hooked = layer_features(backbone, images, layer="layer3", batch_size=2, pool="max")
    assert backbone.layer1.training and not backbone.training and not backbone.layer2.training
    backbone.layer1.eval()
    x = backbone.maxpool(backbone.relu(backbone.bn1(backbone.conv1(images))))
    with torch.no_grad():
        direct = backbone.layer3(backbone.layer2(backbone.layer1(x))).amax((2, 3))
    assert torch.allclose(hooked, direct, atol=1e-5)


def test_score_input_errors():
    features, one_set = torch.rand(6, 4), torch.zeros(6, dtype=torch.long)
    with pytest.raises(ValueError, match="sets"):
        invariance_score(features, torch.zeros(5, dtype=torch.long), top_k=2)
    with pytest.raises(ValueError, match="classes must be constant within each set"):
        invariance_score(features, torch.tensor([0, 0, 0, 1, 1, 1]), classes=torch.tensor([0, 0, 1, 1, 1, 1]), top_k=2)
    with pytest.raises(ValueError, match="no set has at least 3 images"):
        invariance_score(features, torch.tensor([0, 0, 1, 1, 2, 2]), top_k=2)
    with pytest.raises(ValueError, match=r"top_k must be in \[1, 4\]"):
        invariance_score(features, one_set)
    with pytest.raises(ValueError, match="finite"):
        invariance_score(torch.full((6, 4), float("nan")), one_set, top_k=2)
    with pytest.raises(ValueError, match="sets"):
        pooled_invariance(features, torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match="min_set_size"):
        pooled_invariance(features, torch.arange(6))
    with pytest.raises(ValueError, match="finite"):
        pooled_invariance(torch.full((6, 4), float("nan")), one_set)
    with pytest.raises(ValueError, match="percentile"):
        pooled_invariance(features, one_set, percentile=100.0)


def test_cli_prints_a_table_and_writes_json(tmp_path, capsys):
    from pairgen.cli import main

    from skimage import data as skdata

    out = tmp_path / "inv.json"
    (tmp_path / "photos" / "cats").mkdir(parents=True)  # an instance set of 3 photos of one cat
    for name, image in (("a.png", skdata.chelsea()), ("b.png", skdata.cat()), ("c.png", skdata.chelsea()[:, ::-1])):
        Image.fromarray(np.ascontiguousarray(image)).save(tmp_path / "photos" / "cats" / name)
    video = OPENCV_DATA / "vtest.avi"
    data = ["skimage", str(tmp_path / "photos")] + ([str(video)] if video.is_file() else [])
    transforms = ["illumination", "instance"] + (["temporal"] if video.is_file() else [])
    status = main(["invariance", *data, "--model", "resnet18", "--size", "32", "--set-size", "4", "--top-k", "5",
                   "--max-frames", "12", "--transform", *transforms, "--out", str(out)])
    assert status == 0 and torch.is_grad_enabled()  # no global state left behind
    report = json.loads(out.read_text())
    assert [row["transform"] for row in report["results"]] == transforms
    printed = capsys.readouterr().out
    for row in report["results"]:
        assert f"| {row['transform']} | {row['sets']} | {row['images']} | {row['score']:.2f} | {row['percentile']:.1f} |" in printed
        assert row["pooled"]["chance"] <= row["pooled"]["maximum"] and 0 <= row["score"] <= 100 * (1 + 1e-9)
    assert main(["invariance", "skimage", "--model", "resnet18", "--size", "32", "--set-size", "3", "--layer", "nope",
                 "--transform", "viewpoint", "--out", str(out)]) == 2
    assert "layer 'nope'" in capsys.readouterr().err
    assert main(["invariance", str(tmp_path / "missing"), "--model", "resnet18"]) == 2
    assert re.search("data path not found: .*missing", capsys.readouterr().err)


def test_photos_group_by_sub_folder_or_groups_file(tmp_path):
    from skimage import data

    from pairgen.cli.invariance import read_groups
    from pairgen.invariance.data import load_measure_data

    for folder, name, image in (("cats", "a.png", data.chelsea()), ("cats", "b.jpg", data.cat()), ("", "c.png", data.coffee())):
        (tmp_path / folder).mkdir(exist_ok=True)
        Image.fromarray(image).save(tmp_path / folder / name)
    (tmp_path / "groups.csv").write_text("# comment\nfile,group\nc.png,drinks\n")
    grouped = load_measure_data([str(tmp_path)], size=32)
    assert [p["name"].split("/")[-1] for p in grouped.photos] == ["c.png", "a.png", "b.jpg"]
    assert grouped.photo_groups == [None, "cats", "cats"] and grouped.photos[1]["image"].shape == (32, 32, 3)
    regrouped = load_measure_data([str(tmp_path)], size=32, groups=read_groups(str(tmp_path / "groups.csv")))
    assert regrouped.photo_groups == ["drinks", "cats", "cats"]


@pytest.mark.parametrize("seed", range(6))
def test_score_equals_the_reference_on_synthetic_features(seed):
    g = torch.Generator().manual_seed(seed)
    # Unequal sets (some below 3 images, skipped), rows not adjacent, small integers: many ties.
    features = torch.randint(0, 5, (90, 40), generator=g).double() if seed % 2 else torch.randn(90, 40, generator=g)
    sets = torch.randint(0, 14, (90,), generator=g)
    sets[:2] = torch.tensor([50, 51])  # singletons
    assert_matches_reference(features, sets, top_k=1 + seed * 5)
    classes = (sets % 3) * 7 + 2  # three classes with arbitrary ids, constant within sets
    result = assert_matches_reference(features, sets, classes=classes, top_k=10)
    assert result.classes == 3 and result.percentile == pytest.approx(100 * 2 / 3)
    assert result.sets == int((torch.bincount(sets) >= 3).sum())


def test_ties_at_the_threshold_never_fail():
    g = torch.Generator().manual_seed(0)
    # Exactly invariant features of 8 sets: every value repeats 8 times.
    invariant = torch.randn(8, 64, generator=g).repeat_interleave(8, 0)
    sets = torch.arange(8).repeat_interleave(8)
    result = assert_matches_reference(invariant, sets)
    # The reference's quirk: the top set sits exactly on the threshold and fires only globally.
    assert result.score == 0.0 and result.percentile == 87.5 and (result.global_rate == 1 / 8).all()
    one_class = assert_matches_reference(invariant, sets, classes=torch.zeros(64, dtype=torch.long))
    assert one_class.percentile == 0.0 and one_class.score == 100.0
    # With more sets than the boundary, exact invariance reaches the ceiling of 100 * L / (G / nominal).
    many = torch.randn(30, 512, generator=g).repeat_interleave(5, 0)
    assert assert_matches_reference(many, torch.arange(30).repeat_interleave(5)).score > 70
    # pairgen's pooled variant measures them as exactly invariant.
    pooled = pooled_invariance(invariant, sets)
    assert pooled.normalized == 1.0 and pooled.mean_normalized == 1.0


def test_score_equals_the_reference_on_real_features(backbone):
    photos = real_photos(64)
    for op in (Viewpoint(), Illumination()):
        views, sets, _ = transformed_sets(list(photos), op, set_size=6, size=64)
        features = layer_features(backbone, views, batch_size=30)  # 512 pooled ResNet-18 features
        result = assert_matches_reference(features, sets)
        assert result.classes == len(photos) and 0 < result.score <= 100
        assert_matches_reference(features, sets, classes=(sets >= 5).long(), top_k=10)
        # Sets of views of one photo score above the same images in random sets.
        shuffled = sets[torch.randperm(len(sets), generator=torch.Generator().manual_seed(0))]
        assert result.score > assert_matches_reference(features, shuffled).score + 10
