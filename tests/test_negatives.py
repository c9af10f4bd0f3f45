"""Negative/positive masks against brute-force loops, and k-means on the device."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from pairgen import negatives
from conftest import FASHION_MNIST



def _brute_related(fields_a, fields_b):
    """a and b are related when some field has the same non-negative id for both."""
    na, nb = len(next(iter(fields_a.values()))), len(next(iter(fields_b.values())))
    out = np.zeros((na, nb), dtype=bool)
    for i in range(na):
        for j in range(nb):
            out[i, j] = any(fields_a[f][i] >= 0 and fields_a[f][i] == fields_b[f][j] for f in fields_a)
    return out


def _expand(item_level, n_views):
    n = len(item_level)
    out = np.zeros((n_views * n, n_views * n), dtype=bool)
    for a in range(n_views * n):
        for b in range(n_views * n):
            out[a, b] = item_level[a % n, b % n]
    return out


@pytest.mark.parametrize("n_views", [1, 2, 3])
def test_masks_match_brute_force(n_views):
    g = torch.Generator().manual_seed(0)
    n = 15
    fields = {
        "labels": torch.randint(-1, 4, (n,), generator=g),
        "groups": torch.randint(-1, 9, (n,), generator=g),
        "sources": torch.randint(0, 12, (n,), generator=g),
    }
    related = _brute_related({k: v.numpy() for k, v in fields.items()}, {k: v.numpy() for k, v in fields.items()})
    np.fill_diagonal(related, True)
    related = _expand(related, n_views)
    neg = negatives.negative_mask(**fields, n_views=n_views)
    pos = negatives.positive_mask(**fields, n_views=n_views)
    np.testing.assert_array_equal(neg.numpy(), ~related)
    np.testing.assert_array_equal(pos.numpy(), related & ~np.eye(n_views * n, dtype=bool))
    # self, positives and negatives partition every row
    eye = torch.eye(n_views * n, dtype=torch.bool)
    assert torch.equal(pos ^ neg ^ eye, torch.ones_like(eye)) and not (pos & neg).any()


def test_unknown_ids_share_nothing_and_hashable_ids_work():
    mask = negatives.negative_mask(labels=[0, 1, 0], sources=["a", "b", None], clusters=np.array([-1, -1, 5]))
    assert mask.shape == (6, 6)
    assert mask[0].tolist() == [False, True, False, False, True, False]
    # -1 clusters and None source are unknown: items 0 and 1 stay negatives of each other
    assert negatives.negative_mask(clusters=[-1, -1], batch_size=2)[0, 1]
    same_video = negatives.negative_mask(sources=["v1", "v2", "v1"], n_views=1)
    assert same_video.tolist() == [[False, True, False], [True, False, True], [False, True, False]]


def test_indices_catch_repeated_images():
    mask = negatives.negative_mask(indices=torch.tensor([7, 3, 7]), n_views=1)
    assert not mask[0, 2] and mask[0, 1]


def test_mask_without_ids_is_the_simclr_mask():
    mask = negatives.negative_mask(batch_size=3)
    expected = ~np.eye(3, dtype=bool)[np.arange(6) % 3][:, np.arange(6) % 3]
    np.testing.assert_array_equal(mask.numpy(), expected)


def test_queue_mask_matches_brute_force():
    g = torch.Generator().manual_seed(1)
    batch = {"labels": torch.randint(0, 5, (6,), generator=g), "indices": torch.arange(6)}
    queue = {"labels": torch.randint(-1, 5, (20,), generator=g), "indices": torch.randint(0, 30, (20,), generator=g)}
    mask = negatives.queue_negative_mask(**{k: (batch[k], queue[k]) for k in batch})
    expected = ~_brute_related({k: v.numpy() for k, v in batch.items()}, {k: v.numpy() for k, v in queue.items()})
    np.testing.assert_array_equal(mask.numpy(), expected)
    assert mask.shape == (6, 20)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: negatives.negative_mask(labels=[0.5, 1.0]), "integer ids"),
        (lambda: negatives.negative_mask(labels=torch.zeros(3)), "integer ids"),
        (lambda: negatives.negative_mask(labels=[]), "labels is empty"),
        (lambda: negatives.negative_mask(labels=[0, 1], sources=[1, 2, 3]), "one id per item"),
        (lambda: negatives.negative_mask(), "batch_size"),
        (lambda: negatives.negative_mask(labels=[0, 1], batch_size=3), "batch_size=3"),
        (lambda: negatives.negative_mask(labels=torch.zeros(2, 2, dtype=torch.long)), "1-D"),
        (lambda: negatives.negative_mask(labels=[0, 1], n_views=0), "n_views"),
        (lambda: negatives.positive_mask(groups=[[1], [2, 3]]), "groups"),
        (lambda: negatives.queue_negative_mask(), "at least one"),
        (lambda: negatives.queue_negative_mask(labels=[0, 1]), r"pair \(batch_ids, queue_ids\)"),
    ],
)
def test_mask_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---------------------------------------------------------------- k-means


def _blobs(seed=0):
    g = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[0.0, 0.0, 0.0], [20.0, 0.0, 0.0], [0.0, 20.0, 0.0], [0.0, 0.0, 20.0]])
    truth = torch.arange(200) % 4
    return centres[truth] + torch.randn(200, 3, generator=g), truth


def _assert_lloyd_fixed_point(x, result):
    """Every point sits with its nearest centre and every centre is the mean of its points."""
    x = x.double().numpy()
    centroids = result.centroids.double().numpy()
    distances = ((x[:, None, :] - centroids[None]) ** 2).sum(-1)
    labels = result.labels.numpy()
    np.testing.assert_allclose(distances[np.arange(len(x)), labels], distances.min(1), rtol=1e-5, atol=1e-5)
    for c in range(len(centroids)):
        np.testing.assert_allclose(x[labels == c].mean(0), centroids[c], rtol=1e-4, atol=1e-4)
    assert result.inertia == pytest.approx(distances.min(1).sum(), rel=1e-4)


def test_kmeans_recovers_separated_blobs():
    x, truth = _blobs()
    result = negatives.kmeans(x, 4, generator=torch.Generator().manual_seed(0))
    assert result.converged and result.labels.dtype == torch.int64
    # the clustering equals the truth up to renaming: a one-to-one contingency table
    table = torch.zeros(4, 4, dtype=torch.long).index_put_((truth, result.labels), torch.tensor(1), accumulate=True)
    assert sorted(table.max(1).values.tolist()) == [50, 50, 50, 50]
    _assert_lloyd_fixed_point(x, result)


def test_kmeans_is_deterministic_from_its_generator():
    x, _ = _blobs(1)
    x = x + 5 * torch.randn(200, 3, generator=torch.Generator().manual_seed(3))  # overlapping blobs
    a = negatives.kmeans(x, 6, max_iter=20, generator=torch.Generator().manual_seed(7))
    b = negatives.kmeans(x, 6, max_iter=20, generator=torch.Generator().manual_seed(7))
    c = negatives.kmeans(x, 6, max_iter=20)
    assert torch.equal(a.labels, b.labels) and torch.equal(c.labels, negatives.kmeans(x, 6, max_iter=20).labels)


def test_kmeans_edge_cases():
    x = torch.tensor([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0]])
    result = negatives.kmeans(x, 3)  # more clusters than distinct points: still finite
    assert torch.isfinite(result.centroids).all() and result.inertia == pytest.approx(0.0)
    points = torch.randn(7, 2, generator=torch.Generator().manual_seed(0))
    each = negatives.kmeans(points, 7)
    assert sorted(each.labels.tolist()) == list(range(7)) and each.inertia == pytest.approx(0.0, abs=1e-6)
    assert negatives.kmeans(points, 3, max_iter=1).n_iter == 1


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: negatives.kmeans(torch.randn(5), 2), "2-D"),
        (lambda: negatives.kmeans(torch.randn(5, 2), 6), "n_clusters"),
        (lambda: negatives.kmeans(torch.randn(5, 2), 2, max_iter=0), "max_iter"),
        (lambda: negatives.kmeans(torch.full((5, 2), float("nan")), 2), "NaN"),
    ],
)
def test_kmeans_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def _read_idx(path: Path, count: int) -> np.ndarray:
    with gzip.open(path) as f:
        header = np.frombuffer(f.read(4), dtype=">u4")[0]
        dims = np.frombuffer(f.read(4 * (header & 0xFF)), dtype=">u4")
        per_item = int(np.prod(dims[1:])) if len(dims) > 1 else 1
        return np.frombuffer(f.read(count * per_item), dtype=np.uint8).reshape(count, *dims[1:])


def test_kmeans_pseudo_labels_follow_fashion_mnist_classes():
    """On 1000 real images, k-means on pixels finds clusters far purer than chance (0.1 for 10 classes),
    and masking same-cluster pairs removes a large share of the same-class (false) negatives."""
    if not (FASHION_MNIST / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip("Debian package dataset-fashion-mnist is not installed")
    images = torch.from_numpy(_read_idx(FASHION_MNIST / "t10k-images-idx3-ubyte.gz", 1000).reshape(1000, -1).copy())
    labels = torch.from_numpy(_read_idx(FASHION_MNIST / "t10k-labels-idx1-ubyte.gz", 1000).astype(np.int64))
    result = negatives.kmeans(images.float() / 255, 10, generator=torch.Generator().manual_seed(0))
    _assert_lloyd_fixed_point(images.float() / 255, result)
    purity = sum(torch.bincount(labels[result.labels == c]).max() for c in result.labels.unique()) / 1000
    assert purity > 0.45
    same_class = negatives.positive_mask(labels=labels, n_views=1)
    kept = negatives.negative_mask(clusters=result.labels, n_views=1)
    removed_false = 1 - (same_class & kept).sum() / same_class.sum()
    assert removed_false > 0.3


@pytest.mark.parametrize(
    "module",
    [
        "pairgen.negatives.masks",
        "pairgen.negatives.kmeans",
        "pairgen.negatives.batch_sampler",
        "pairgen.negatives.false_negatives",
        "pairgen.negatives.distributed",
        "pairgen.losses",
        "pairgen.losses.info_nce",
        "pairgen.losses.debiased_info_nce",
        "pairgen.losses.hard_negative_info_nce",
        "pairgen.losses.supervised_contrastive",
        "pairgen.losses.false_negative_cancellation",
        "pairgen.losses.mochi",
        "pairgen.losses.registry",
    ],
)
def test_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
