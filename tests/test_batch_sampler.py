"""GroupBatchSampler: exactly-once epochs, group caps, k per group, ranks, determinism."""

from __future__ import annotations

import gzip
import math
from collections import Counter

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from pairgen.negatives import GroupBatchSampler
from conftest import FASHION_MNIST



def _skewed_groups(n=1000, seed=0):
    """Zipf-like group sizes plus unknown (-1) ids, like videos of very different lengths."""
    rng = np.random.default_rng(seed)
    groups = np.minimum(rng.zipf(1.6, n), 60) - 1
    groups[rng.random(n) < 0.1] = -1
    return torch.from_numpy(groups)


def _epoch(sampler):
    return [list(b) for b in sampler]


def _assert_exactly_once(batches, n):
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(n))


def _false_negative_rate(batches, labels):
    """Share of (anchor, other item) pairs in a batch that share the label."""
    same = pairs = 0
    for b in batches:
        counts = Counter(labels[b].tolist())
        same += sum(c * (c - 1) for c in counts.values())
        pairs += len(b) * (len(b) - 1)
    return same / pairs


@pytest.mark.parametrize("n,batch_size", [(1000, 64), (1001, 10), (37, 37), (50, 7)])
def test_spread_mode_every_item_once_and_group_counts_minimal(n, batch_size):
    groups = _skewed_groups(n)
    sampler = GroupBatchSampler(groups, batch_size, seed=3)
    batches = _epoch(sampler)
    _assert_exactly_once(batches, n)
    assert len(batches) == len(sampler) == math.ceil(n / batch_size)
    assert max(map(len, batches)) <= batch_size and max(map(len, batches)) - min(map(len, batches)) <= 1
    # each group: at most ceil(n_g / n_batches) per batch, the least any partition allows
    known = groups[groups >= 0]
    for g, size in Counter(known.tolist()).items():
        members = set(torch.nonzero(groups == g).flatten().tolist())
        worst = max(len(members.intersection(b)) for b in batches)
        assert worst == math.ceil(size / len(batches))
    assert sampler.max_group_count == math.ceil(max(Counter(known.tolist()).values()) / len(batches))


def test_cap_is_checked_and_the_error_names_the_feasible_cap():
    groups = torch.arange(1000) % 100  # 100 groups of 10 over 16 batches: at most 1 per batch
    sampler = GroupBatchSampler(groups, 64, max_per_group=1)
    assert all(len(set(groups[b].tolist())) == len(b) for b in sampler)
    feasible = GroupBatchSampler(_skewed_groups(), 64).max_group_count  # the biggest group forces it
    GroupBatchSampler(_skewed_groups(), 64, max_per_group=feasible)
    with pytest.raises(ValueError, match=f"max_per_group >= {feasible}"):
        GroupBatchSampler(_skewed_groups(), 64, max_per_group=feasible - 1)


@pytest.mark.parametrize("k", [2, 3, 4])
def test_per_group_mode_keeps_k_together(k):
    groups = _skewed_groups(600, seed=1)
    sampler = GroupBatchSampler(groups, 48, per_group=k, seed=2)
    batches = _epoch(sampler)
    _assert_exactly_once(batches, 600)
    assert len(batches) == len(sampler) and max(map(len, batches)) <= 48
    sizes = Counter(groups[groups >= 0].tolist())
    for b in batches:
        for g, count in Counter(groups[b].tolist()).items():
            if g >= 0 and sizes[g] >= k:
                assert count >= k
            elif g >= 0:
                assert count == sizes[g]  # a group smaller than k comes whole


def test_deterministic_from_seed_and_epoch():
    groups = _skewed_groups()
    a, b = GroupBatchSampler(groups, 32, seed=1), GroupBatchSampler(groups, 32, seed=1)
    assert _epoch(a) == _epoch(b)
    first = _epoch(a)
    a.set_epoch(1)
    assert _epoch(a) != first
    a.set_epoch(0)
    assert _epoch(a) == first
    assert _epoch(GroupBatchSampler(groups, 32, seed=2)) != first


@pytest.mark.parametrize("per_group", [None, 2])
def test_ranks_get_disjoint_batches_of_equal_count(per_group):
    groups = _skewed_groups(997)
    world = 3
    parts = [_epoch(GroupBatchSampler(groups, 40, per_group=per_group, seed=4, num_replicas=world, rank=r)) for r in range(world)]
    assert len({len(p) for p in parts}) == 1
    _assert_exactly_once([b for p in parts for b in p], 997)


def test_works_as_a_dataloader_batch_sampler():
    data = TensorDataset(torch.arange(100))
    sampler = GroupBatchSampler(torch.arange(100) % 10, 10)
    batches = [batch[0].tolist() for batch in DataLoader(data, batch_sampler=sampler)]
    assert all(len({i % 10 for i in b}) == 10 for b in batches)
    _assert_exactly_once(batches, 100)


def test_lowers_the_false_negative_rate_of_random_batches():
    """Balanced 10 classes, batches of 16: random batches share a label in ~1/10 of pairs; spread
    batches hold every class once or twice (6 pairs twice: 12 of 240 ordered pairs)."""
    labels = torch.randint(0, 10, (4000,), generator=torch.Generator().manual_seed(0))
    g = torch.Generator().manual_seed(1)
    random_batches = torch.randperm(4000, generator=g).split(16)
    random_rate = _false_negative_rate([b.tolist() for b in random_batches], labels)
    spread_rate = _false_negative_rate(_epoch(GroupBatchSampler(labels, 16)), labels)
    assert random_rate == pytest.approx(0.1, abs=0.01)
    assert spread_rate < 0.06


def test_lowers_the_false_negative_rate_on_fashion_mnist():
    if not (FASHION_MNIST / "t10k-labels-idx1-ubyte.gz").exists():
        pytest.skip("Debian package dataset-fashion-mnist is not installed")
    with gzip.open(FASHION_MNIST / "t10k-labels-idx1-ubyte.gz") as f:
        labels = torch.from_numpy(np.frombuffer(f.read()[8:], dtype=np.uint8).astype(np.int64))
    random_batches = [b.tolist() for b in torch.randperm(10000, generator=torch.Generator().manual_seed(0)).split(8)]
    random_rate = _false_negative_rate(random_batches, labels)
    spread_rate = _false_negative_rate(_epoch(GroupBatchSampler(labels, 8)), labels)
    assert random_rate > 0.08 and spread_rate == 0.0  # 8 < 10 classes: no two items of a class


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(batch_size=0), "batch_size"),
        (dict(batch_size=4, max_per_group=2, per_group=2), "not both"),
        (dict(batch_size=4, per_group=0), "per_group"),
        (dict(batch_size=4, seed=-1), "seed"),
        (dict(batch_size=4, num_replicas=2, rank=2), "rank"),
        (dict(batch_size=4, num_replicas=20), "num_replicas"),
        (dict(batch_size=2, per_group=2), "cannot hold a piece"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GroupBatchSampler(torch.arange(10) % 3, **kwargs)


def test_bad_groups_and_epoch():
    with pytest.raises(ValueError, match="groups"):
        GroupBatchSampler(torch.rand(10), 4)
    with pytest.raises(ValueError, match="epoch"):
        GroupBatchSampler(torch.arange(10), 4).set_epoch(-1)
