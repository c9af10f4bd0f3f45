"""The invariance score against a brute-force reference, and its sanity on real photos."""

from __future__ import annotations

import re
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from torchvision.models import resnet18

from pairgen.invariance import invariance_score, layer_features, transformed_sets
from pairgen.invariance.data import square
from pairgen.transforms import Viewpoint

OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")


def brute_force(features, sets, reference, percentile, top_k, min_global_rate, min_set_size=2):
    """The score with plain Python loops over lists (independent of the vectorised code)."""
    rows, ref = features.tolist(), reference.tolist()
    ids = sets.tolist()
    neurons = len(rows[0])
    thresholds, global_rate = [], []
    for j in range(neurons):
        column = sorted(r[j] for r in ref)
        t = column[math.floor((len(column) - 1) * percentile / 100)]
        thresholds.append(t)
        global_rate.append(sum(1 for r in ref if r[j] > t) / len(ref))
    members = {}
    for row, s in zip(rows, ids):
        members.setdefault(s, []).append(row)
    kept = [m for m in members.values() if len(m) >= min_set_size]
    local_rate, invariance = [], []
    for j in range(neurons):
        fired = total = 0
        for m in kept:
            count = sum(1 for r in m if r[j] > thresholds[j])
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
def test_vectorised_score_equals_brute_force_exactly(seed):
    g = torch.Generator().manual_seed(seed)
    # Small integer features: many ties at the thresholds; sets of unequal sizes, not adjacent.
    features = torch.randint(0, 6, (60, 12), generator=g).float()
    sets = torch.randint(0, 9, (60,), generator=g)
    sets[torch.randperm(60, generator=g)[:3]] = 100 + torch.arange(3)  # singletons, ignored
    reference = torch.randint(0, 6, (45, 12), generator=g).float() if seed % 2 else features
    percentile, top_k, min_rate = (80.0, 5, 0.05) if seed < 2 else (90.0, 30, 0.02)
    result = invariance_score(features, sets, reference=reference if seed % 2 else None, percentile=percentile,
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
              data.hubble_deep_field(), *data.stereo_motorcycle()[:2]]
    if OPENCV_DATA.is_dir():
        names = ("aero1", "apple", "baboon", "building", "butterfly", "fruits", "home", "messi5", "orange", "squirrel_cls")
        images += [np.asarray(Image.open(OPENCV_DATA / f"{n}.jpg").convert("RGB")) for n in names]
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


def test_flip_invariant_features_score_the_maximum(backbone):
    photos = real_photos()
    with_flips = torch.stack([photos, photos.flip(-1)], 1).flatten(0, 1)
    sets = torch.arange(len(photos)).repeat_interleave(2)
    invariant = invariance_score(layer_features(FlipAveraged(backbone), with_flips), sets, top_k=10)
    assert invariant.score == invariant.maximum and invariant.normalized == 1.0 and invariant.mean_normalized == 1.0
    assert (invariant.local_rate[invariant.selective] == 1.0).all()  # every neuron, not only the top
    # The plain backbone's spatial features change under flips: most neurons are not invariant.
    spatial = invariance_score(layer_features(backbone, with_flips, layer="layer4", pool="flatten"), sets, top_k=10)
    assert (spatial.local_rate[spatial.selective] < 1.0).float().mean() > 0.5


def test_random_features_score_near_chance():
    photos = real_photos()
    views, sets, _ = transformed_sets(list(photos), Viewpoint(), set_size=8, size=64)
    result = invariance_score(layer_features(RandomFeatures(), views), sets)
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
    features = torch.rand(6, 4)
    with pytest.raises(ValueError, match="sets"):
        invariance_score(features, torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match="min_set_size"):
        invariance_score(features, torch.arange(6))
    with pytest.raises(ValueError, match="finite"):
        invariance_score(torch.full((6, 4), float("nan")), torch.zeros(6, dtype=torch.long))
    with pytest.raises(ValueError, match="percentile"):
        invariance_score(features, torch.zeros(6, dtype=torch.long), percentile=100.0)


def test_cli_prints_a_table_and_writes_json(tmp_path, capsys):
    from pairgen.cli import main

    out = tmp_path / "inv.json"
    video = OPENCV_DATA / "vtest.avi"
    data = ["skimage"] + ([str(video)] if video.is_file() else [])
    transforms = ["illumination", "instance"] + (["temporal"] if video.is_file() else [])
    status = main(["invariance", *data, "--model", "resnet18", "--size", "32", "--set-size", "3", "--top-k", "5",
                   "--max-frames", "12", "--transform", *transforms, "--out", str(out)])
    assert status == 0 and torch.is_grad_enabled()  # no global state left behind
    report = json.loads(out.read_text())
    assert [row["transform"] for row in report["results"]] == transforms
    printed = capsys.readouterr().out
    for row in report["results"]:
        assert f"| {row['transform']} | {row['sets']} | {row['images']} | {row['score']:.2f} |" in printed
        assert row["chance"] <= row["maximum"]
    assert main(["invariance", "skimage", "--model", "resnet18", "--size", "32", "--set-size", "2", "--layer", "nope",
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
