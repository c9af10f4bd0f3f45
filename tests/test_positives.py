"""Instance and temporal positives on real data: Fashion-MNIST groups and OpenCV's sample videos."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from pairgen.positive_sampler import PositivePairSampler
from pairgen.positives import InstancePairs, TemporalPairs
from pairgen.video import VideoFrames, read_frames
from conftest import FASHION_MNIST as FASHION
from conftest import OPENCV_DATA as VIDEOS


@pytest.fixture(scope="module")
def fashion():
    """The first 300 Fashion-MNIST test images (28 x 28 gray) and their 10 class labels."""
    if not (FASHION / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip("dataset-fashion-mnist is not installed")
    with gzip.open(FASHION / "t10k-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 28, 28)[:300]
    with gzip.open(FASHION / "t10k-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), dtype=np.uint8, offset=8)[:300]
    return [(image, int(label)) for image, label in zip(images, labels)], labels.tolist()


@pytest.fixture(scope="module")
def frames():
    paths = [VIDEOS / "vtest.avi", VIDEOS / "tree.avi"]
    if not all(p.is_file() for p in paths):
        pytest.skip("opencv-doc sample videos are not installed")
    return VideoFrames(paths, every=4, max_frames=30, max_side=96)


def test_instance_pairs_share_their_group_and_replay(fashion):
    items, labels = fashion
    pairs = InstancePairs(items, groups=labels, seed=3)
    partners = [pairs.partner(i) for i in range(len(pairs))]
    for i, (j, fallback) in enumerate(partners):
        assert not fallback and j != i and labels[j] == labels[i]
    anchor, positive = pairs[5]
    assert anchor["label"] == positive["label"] and anchor["index"] == 5 and positive["index"] == partners[5][0]
    assert np.array_equal(positive["image"], items[partners[5][0]][0])
    assert [InstancePairs(items, groups=labels, seed=3).partner(i) for i in range(300)] == partners
    other_seed = [InstancePairs(items, groups=labels, seed=4).partner(i) for i in range(300)]
    pairs.set_epoch(1)
    next_epoch = [pairs.partner(i) for i in range(300)]
    assert sum(a != b for a, b in zip(partners, other_seed)) > 200
    assert sum(a != b for a, b in zip(partners, next_epoch)) > 200
    # Partners spread over the whole group (no item is always picked).
    counts = np.bincount([j for j, _ in partners], minlength=300)
    assert counts.max() <= 8


def test_lone_items_fall_back_to_themselves(fashion):
    items, labels = fashion
    groups = list(labels[:20])
    groups[7] = "alone"
    pairs = InstancePairs(items[:20], groups=groups, seed=0)
    assert pairs.partner(7) == (7, True)
    with pytest.raises(ValueError, match="groups"):
        InstancePairs(items[:20], groups=groups[:5])
    with pytest.raises(ValueError, match="groups must be given"):
        InstancePairs(items[:20])


def test_temporal_pairs_stay_in_their_video_and_window(frames):
    assert len(set(frames.sources)) == 2
    assert frames.sources.count(str(VIDEOS / "vtest.avi")) == 30 and 0 < frames.sources.count(str(VIDEOS / "tree.avi")) <= 30
    window = 1.5
    pairs = TemporalPairs(frames, window=window, seed=0)
    for i in range(len(pairs)):
        j, fallback = pairs.partner(i)
        assert not fallback and j != i
        assert frames.sources[j] == frames.sources[i]
        assert abs(frames.times[j] - frames.times[i]) <= window
    assert [TemporalPairs(frames, window=window, seed=0).partner(i) for i in range(len(frames))] == [
        pairs.partner(i) for i in range(len(frames))]
    # vtest.avi runs at 10 fps: frames 4 apart are 0.4 s apart; a 0.3 s window leaves each frame alone.
    lonely = TemporalPairs(frames, window=0.3, seed=0)
    assert all(lonely.partner(i) == (i, True) for i in range(30))
    anchor, positive = pairs[10]
    assert anchor["source"] == positive["source"] and anchor["time"] != positive["time"]


def test_temporal_pairs_read_source_and_time_from_items():
    items = [{"image": torch.zeros(3, 4, 4), "source": s, "time": t} for s, t in [("a", 0.0), ("a", 1.0), ("b", 0.5), ("a", 5.0)]]
    pairs = TemporalPairs(items, window=2.0)
    assert [pairs.partner(i) for i in range(4)] == [(1, False), (0, False), (2, True), (3, True)]
    with pytest.raises(ValueError, match="'source' and 'time'"):
        TemporalPairs([torch.zeros(3, 4, 4)], window=1.0)
    with pytest.raises(ValueError, match="window"):
        TemporalPairs(items, window=0.0)


def test_positive_sampler_renders_view_two_from_the_partner(frames):
    recipe = {"name": "plain", "normalize": None, "views": [{"count": 2, "size": 32, "flip": 0.0, "crop": {"type": "center"}}]}
    pairs = TemporalPairs(frames, window=1.5, seed=1)
    sampler = PositivePairSampler(recipe, seed=0)
    loader = DataLoader(pairs, batch_size=8, collate_fn=sampler.collate)
    batch = sampler(next(iter(loader)))
    assert batch.index.tolist() == list(range(8))
    assert batch.partner_index.tolist() == [pairs.partner(i)[0] for i in range(8)]
    assert torch.equal(batch.sources, batch.partner_sources) and not batch.fallback.any()
    assert ((batch.times - batch.partner_times).abs() <= 1.5).all()
    # View 1 shows the item, view 2 the partner: compare with single-image renders of each.
    plain = PositivePairSampler(recipe, seed=0)
    for i in (0, 5):
        j = int(batch.partner_index[i])
        alone = plain([(frames[i], frames[i]), (frames[j], frames[j])])
        assert torch.equal(batch.view1[i], alone.view1[0]) and torch.equal(batch.view2[i], alone.view1[1])
    with pytest.raises(ValueError, match="partner_views"):
        PositivePairSampler(recipe, partner_views=(2,))
    with pytest.raises(ValueError, match="pair"):
        sampler([frames[0]])


def test_instance_recipe_with_worker_mode_replays(fashion):
    items, labels = fashion
    pairs = InstancePairs(items[:16], groups=labels[:16], seed=0)
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        sampler = PositivePairSampler("instance", size=32, seed=5)
        loader = DataLoader(pairs, batch_size=8, num_workers=1, collate_fn=sampler.collate)
        runs.append([sampler(b) for b in loader])
    for first, again in zip(*runs):
        assert torch.equal(first.view1, again.view1) and torch.equal(first.view2, again.view2)
        assert torch.equal(first.labels, first.partner_labels)
        assert first.view1.shape == (8, 3, 32, 32)


def test_video_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.avi"):
        read_frames(tmp_path / "missing.avi")
    junk = tmp_path / "junk.avi"
    junk.write_text("not a video")
    with pytest.raises(ValueError, match="junk.avi"):
        read_frames(junk)
    with pytest.raises(ValueError, match="max_frames"):
        read_frames(junk, max_frames=0)
    empty = tmp_path / "frames"
    empty.mkdir()
    with pytest.raises(ValueError, match="frames"):
        VideoFrames([empty])


def test_video_frames_are_bounded_and_timed(frames):
    times = [t for t, s in zip(frames.times, frames.sources) if s.endswith("vtest.avi")]
    assert times == pytest.approx([4 * k / 10.0 for k in range(30)])
    image, _ = read_frames(VIDEOS / "vtest.avi", every=1, max_frames=1)
    assert len(image) == 1 and image[0].shape == (576, 768, 3) and image[0].dtype == np.uint8


@pytest.mark.parametrize("name", ["instance", "temporal"])
def test_partner_recipes_refuse_the_plain_sampler(name):
    from pairgen import PairSampler, load_recipe

    for recipe in (name, load_recipe(name)):
        with pytest.raises(ValueError, match=f"recipe '{name}' pairs an item with a partner.*PositivePairSampler"):
            PairSampler(recipe, size=32, seed=0)
    sampler = PositivePairSampler(name, size=32, seed=0)  # the sampler made for them
    pairs = sampler([(torch.rand(3, 40, 40), torch.zeros(3, 40, 40))] * 2)
    assert pairs.view2.std() < pairs.view1.std()  # view 2 shows the (constant) partner
