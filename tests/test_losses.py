"""Contrastive losses against plain-loop numpy references written from the papers' formulas."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from pairgen import losses, negatives
from conftest import FASHION_MNIST



# ---------------------------------------------------------------- references (float64 numpy, loops)


def _unit(z):
    z = np.asarray(z, dtype=np.float64)
    return z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)


def _anchors(z1, z2, mask):
    """Per anchor: positive logit index and the list of negative indices, SimCLR's 2-view layout."""
    n = len(z1)
    out = []
    for a in range(2 * n):
        p = (a + n) % (2 * n)
        negs = [k for k in range(2 * n) if k not in (a, p) and (mask is None or mask[a, k])]
        out.append((a, p, negs))
    return out


def ref_info_nce(z1, z2, t, mask=None):
    z = _unit(np.concatenate([z1, z2]))
    s = z @ z.T
    total = 0.0
    for a, p, negs in _anchors(z1, z2, mask):
        pos = math.exp(s[a, p] / t)
        total += -math.log(pos / (pos + sum(math.exp(s[a, k] / t) for k in negs)))
    return total / len(z)


def ref_debiased(z1, z2, tau_plus, t, mask=None, beta=None):
    """Chuang et al. 2020 eq. with the reference clamp; with ``beta``, Robinson et al. 2021's reweighting."""
    z = _unit(np.concatenate([z1, z2]))
    s = z @ z.T
    total = 0.0
    for a, p, negs in _anchors(z1, z2, mask):
        pos = math.exp(s[a, p] / t)
        neg = np.array([math.exp(s[a, k] / t) for k in negs])
        m = len(negs)
        if m == 0:
            ng = 0.0
        elif beta is None:
            ng = max((-tau_plus * m * pos + neg.sum()) / (1 - tau_plus), m * math.e ** (-1 / t))
        else:
            imp = np.array([math.exp(beta * s[a, k] / t) for k in negs])
            reweighted = (imp * neg).sum() / imp.mean()
            ng = max((-tau_plus * m * pos + reweighted) / (1 - tau_plus), m * math.e ** (-1 / t))
        total += -math.log(pos / (pos + ng))
    return total / len(z)


def ref_supcon(z1, z2, labels, t, mask=None):
    z = _unit(np.concatenate([z1, z2]))
    s = z @ z.T / t
    n = len(z1)
    y = np.concatenate([labels, labels])
    item = np.concatenate([np.arange(n), np.arange(n)])
    total = 0.0
    for a in range(2 * n):
        pos = [p for p in range(2 * n) if p != a and (item[p] == item[a] or (y[a] >= 0 and y[p] == y[a]))]
        denominator = [k for k in range(2 * n) if k != a and (mask is None or mask[a, k] or k in pos)]
        log_den = math.log(sum(math.exp(s[a, k]) for k in denominator))
        total += -sum(s[a, p] - log_den for p in pos) / len(pos)
    return total / (2 * n)


def ref_false_negatives(views, top_k, threshold, aggregate, allowed):
    """FNC detection: per item, candidates scored by max/mean cosine to the item's views."""
    z = _unit(np.concatenate(views))
    n = len(views[0])
    rows = len(z)
    found = np.zeros((n, rows), dtype=bool)
    for i in range(n):
        scores = []
        for m in range(rows):
            if m % n == i or not all(allowed[v * n + i, m] for v in range(len(views))):
                continue
            sims = [float(z[v * n + i] @ z[m]) for v in range(len(views))]
            scores.append((max(sims) if aggregate == "max" else sum(sims) / len(sims), m))
        for score, m in sorted(scores, reverse=True)[:top_k]:
            if score > threshold:
                found[i, m] = True
    return found


def ref_fnc(views, t, top_k, threshold, mode, aggregate="max", mask=None):
    z = _unit(np.concatenate(views))
    s = z @ z.T / t
    n = len(views[0])
    rows = len(z)
    allowed = np.ones((rows, rows), dtype=bool) if mask is None else np.asarray(mask)
    found = ref_false_negatives(views, top_k, threshold, aggregate, allowed)
    total = 0.0
    for a in range(rows):
        i = a % n
        own = [p for p in range(rows) if p != a and p % n == i]
        fn = [m for m in range(rows) if found[i, m]]
        if mode == "attraction":
            pos = own + fn
            denominator = [k for k in range(rows) if k != a and (allowed[a, k] or k in pos)]
        else:
            pos = own
            denominator = [k for k in range(rows) if k != a and k not in fn and (allowed[a, k] or k in pos)]
        log_den = math.log(sum(math.exp(s[a, k]) for k in denominator))
        total += -sum(s[a, p] for p in pos) / len(pos) + log_den
    return total / rows


def ref_moco(q, k, queue, t, extra=None, mask=None):
    """MoCo InfoNCE over [key, allowed queue entries, extra negatives (per query)]."""
    q, k, queue = _unit(q), _unit(k), _unit(queue)
    total = 0.0
    for i in range(len(q)):
        pos = math.exp(q[i] @ k[i] / t)
        den = pos + sum(math.exp(q[i] @ queue[j] / t) for j in range(len(queue)) if mask is None or mask[i, j])
        if extra is not None:
            den += sum(math.exp(q[i] @ h / t) for h in _unit(extra[i]))
        total += -math.log(pos / den)
    return total / len(q)


# ---------------------------------------------------------------- data


def _random_pair(n=12, d=6, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    z1 = torch.randn(n, d, generator=g, dtype=dtype)
    return z1, z1 + 0.7 * torch.randn(n, d, generator=g, dtype=dtype)


def _photo_pair(n=24, d=16):
    """Real embeddings: 8x8 RGB patches of skimage's astronaut and the same patches shifted by
    two pixels (a crop jitter), projected by a fixed random matrix."""
    from skimage import data

    image = data.astronaut().astype(np.float64) / 255.0
    rng = np.random.default_rng(0)
    ys, xs = rng.integers(0, 500, n), rng.integers(0, 500, n)
    patch = lambda dy: np.stack([image[y + dy : y + dy + 8, x : x + 8].ravel() for y, x in zip(ys, xs)])
    projection = rng.standard_normal((192, d))
    return torch.from_numpy(patch(0) @ projection), torch.from_numpy(patch(2) @ projection)


def _read_idx(path: Path, count: int) -> np.ndarray:
    with gzip.open(path) as f:
        header = np.frombuffer(f.read(4), dtype=">u4")[0]
        dims = np.frombuffer(f.read(4 * (header & 0xFF)), dtype=">u4")
        per_item = int(np.prod(dims[1:])) if len(dims) > 1 else 1
        return np.frombuffer(f.read(count * per_item), dtype=np.uint8).reshape(count, *dims[1:])


@pytest.fixture(scope="module")
def fashion_pair():
    """Real embeddings with real labels: Fashion-MNIST test images and the same images shifted by
    one pixel, projected to 16-D by a fixed random matrix."""
    if not (FASHION_MNIST / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip("Debian package dataset-fashion-mnist is not installed")
    images = _read_idx(FASHION_MNIST / "t10k-images-idx3-ubyte.gz", 20).astype(np.float64) / 255.0
    labels = _read_idx(FASHION_MNIST / "t10k-labels-idx1-ubyte.gz", 20).astype(np.int64)
    projection = np.random.default_rng(1).standard_normal((784, 16))
    shifted = np.roll(images, 1, axis=2)
    z1 = torch.from_numpy(images.reshape(20, -1) @ projection)
    z2 = torch.from_numpy(shifted.reshape(20, -1) @ projection)
    return z1, z2, torch.from_numpy(labels)


def _label_mask(n, seed=0):
    labels = torch.randint(0, 4, (n,), generator=torch.Generator().manual_seed(seed))
    return labels, negatives.negative_mask(labels=labels)


# ---------------------------------------------------------------- values vs references


@pytest.mark.parametrize("t", [0.1, 0.5])
def test_info_nce_matches_reference(t):
    z1, z2 = _random_pair()
    assert float(losses.info_nce(z1, z2, t)) == pytest.approx(ref_info_nce(z1, z2, t), abs=1e-5)
    labels, mask = _label_mask(12)
    got = float(losses.info_nce(z1, z2, t, negative_mask=mask))
    assert got == pytest.approx(ref_info_nce(z1, z2, t, mask.numpy()), abs=1e-5)


@pytest.mark.parametrize("tau_plus,t", [(0.1, 0.5), (0.3, 0.2), (0.05, 1.0)])
def test_debiased_matches_reference(tau_plus, t):
    z1, z2 = _random_pair(seed=1)
    got = float(losses.debiased_info_nce(z1, z2, tau_plus, t))
    assert got == pytest.approx(ref_debiased(z1, z2, tau_plus, t), abs=1e-5)
    _, mask = _label_mask(12, seed=1)
    got = float(losses.debiased_info_nce(z1, z2, tau_plus, t, negative_mask=mask))
    assert got == pytest.approx(ref_debiased(z1, z2, tau_plus, t, mask.numpy()), abs=1e-5)


def test_debiased_clamp_binds_and_matches():
    """A large tau_plus and aligned views push the corrected sum below M e^(-1/t): the clamp decides."""
    z1, _ = _random_pair(seed=2)
    z2 = z1 + 1e-3
    got = float(losses.debiased_info_nce(z1, z2, tau_plus=0.9, temperature=0.5))
    assert got == pytest.approx(ref_debiased(z1, z2, 0.9, 0.5), abs=1e-5)
    m = 2 * len(z1) - 2
    pos = 1 / 0.5
    assert got == pytest.approx(-math.log(math.exp(pos) / (math.exp(pos) + m * math.exp(-2))), abs=1e-4)


@pytest.mark.parametrize("beta,tau_plus,t", [(1.0, 0.1, 0.5), (0.5, 0.0, 0.2), (2.0, 0.2, 0.5)])
def test_hard_negative_matches_reference(beta, tau_plus, t):
    z1, z2 = _random_pair(seed=3)
    got = float(losses.hard_negative_info_nce(z1, z2, beta, tau_plus, t))
    assert got == pytest.approx(ref_debiased(z1, z2, tau_plus, t, beta=beta), abs=1e-5)
    _, mask = _label_mask(12, seed=3)
    got = float(losses.hard_negative_info_nce(z1, z2, beta, tau_plus, t, negative_mask=mask))
    assert got == pytest.approx(ref_debiased(z1, z2, tau_plus, t, mask.numpy(), beta=beta), abs=1e-5)


def test_supervised_contrastive_matches_reference():
    z1, z2 = _random_pair(seed=4)
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 3, -1, -1, 3, 1])
    got = float(losses.supervised_contrastive(z1, z2, labels, temperature=0.1))
    assert got == pytest.approx(ref_supcon(z1, z2, labels.numpy(), 0.1), abs=1e-5)
    mask = negatives.negative_mask(sources=torch.arange(12) % 5)
    got = float(losses.supervised_contrastive(z1, z2, labels, 0.2, negative_mask=mask))
    assert got == pytest.approx(ref_supcon(z1, z2, labels.numpy(), 0.2, mask.numpy()), abs=1e-5)
    by_mask = losses.supervised_contrastive(z1, z2, positive_mask=negatives.positive_mask(labels=labels))
    assert float(by_mask) == pytest.approx(ref_supcon(z1, z2, labels.numpy(), 0.1), abs=1e-5)


@pytest.mark.parametrize("mode", ["attraction", "elimination"])
@pytest.mark.parametrize("aggregate", ["max", "mean"])
def test_false_negative_cancellation_matches_reference(mode, aggregate):
    z1, z2 = _random_pair(n=10, d=4, seed=5)
    support = [z1 + 0.5 * torch.randn(10, 4, generator=torch.Generator().manual_seed(9), dtype=torch.float64)]
    views = [z1.numpy(), z2.numpy(), support[0].numpy()]
    kwargs = dict(temperature=0.2, top_k=3, threshold=0.3, mode=mode, aggregate=aggregate)
    got = float(losses.false_negative_cancellation(z1, z2, support, **kwargs))
    assert got == pytest.approx(ref_fnc(views, 0.2, 3, 0.3, mode, aggregate), abs=1e-5)
    mask = negatives.negative_mask(labels=torch.arange(10) % 4, n_views=3)
    got = float(losses.false_negative_cancellation(z1, z2, support, negative_mask=mask, **kwargs))
    assert got == pytest.approx(ref_fnc(views, 0.2, 3, 0.3, mode, aggregate, mask.numpy()), abs=1e-5)


def test_false_negative_detection_matches_reference():
    z1, z2 = _random_pair(n=10, d=4, seed=6)
    views = [z1, z2, z1.flip(1)]
    z = torch.cat(views)
    own = torch.arange(30)[None, :] % 10 == torch.arange(10)[:, None]
    found = negatives.detect_false_negatives(views, z, top_k=4, threshold=0.1, exclude=own)
    expected = ref_false_negatives([v.numpy() for v in views], 4, 0.1, "max", np.ones((30, 30), dtype=bool))
    np.testing.assert_array_equal(found.numpy(), expected)
    assert found.sum(1).max() <= 4 and found.any()


def test_moco_without_mixing_matches_reference():
    g = torch.Generator().manual_seed(7)
    q, k, queue = (torch.randn(s, 6, generator=g, dtype=torch.float64) for s in (5, 5, 20))
    got = float(losses.mochi_info_nce(q, k, queue, 0.2, n_mix=0, n_query_mix=0))
    assert got == pytest.approx(ref_moco(q, k, queue, 0.2), abs=1e-5)
    mask = negatives.queue_negative_mask(labels=(torch.arange(5) % 3, torch.arange(20) % 3))
    got = float(losses.mochi_info_nce(q, k, queue, 0.2, n_mix=0, n_query_mix=0, negative_mask=mask))
    assert got == pytest.approx(ref_moco(q, k, queue, 0.2, mask=mask.numpy()), abs=1e-5)


def test_mochi_synthetic_points_are_the_papers_mixes():
    """Each h is the normalised a n_i + (1 - a) n_j of two of the query's n_hard hardest allowed
    negatives (a in [0, 1]); each h' is b q + (1 - b) n_j with b in [0, 0.5]; the loss is MoCo's
    InfoNCE with them appended."""
    g = torch.Generator().manual_seed(8)
    q, k, queue = (torch.randn(s, 5, generator=g, dtype=torch.float64) for s in (3, 3, 30))
    mask = negatives.queue_negative_mask(indices=(torch.arange(3), torch.arange(30) % 10))
    kwargs = dict(n_hard=4, n_mix=6, n_query_mix=5, negative_mask=mask)
    synthetic, valid = losses.mix_hard_negatives(q, queue, generator=torch.Generator().manual_seed(1), **kwargs)
    assert synthetic.shape == (3, 11, 5) and valid.all()
    qn, bank = _unit(q), _unit(queue)
    for i in range(3):
        sims = [(float(qn[i] @ bank[j]), j) for j in range(30) if mask[i, j]]
        hard = [bank[j] for _, j in sorted(sims, reverse=True)[:4]]
        for h in synthetic[i, :6].numpy():
            assert any(_is_normalised_mix(h, a, b, 0.0, 1.0) for a in hard for b in hard)
        for h in synthetic[i, 6:].numpy():
            assert any(_is_normalised_mix(h, qn[i], b, 0.0, 0.5) for b in hard)
    got = losses.mochi_info_nce(q, k, queue, 0.2, generator=torch.Generator().manual_seed(1), **kwargs)
    assert float(got) == pytest.approx(ref_moco(q, k, queue, 0.2, synthetic.numpy(), mask.numpy()), abs=1e-5)


def _is_normalised_mix(h, a, b, low, high):
    """Whether h = normalise(c a + (1 - c) b) for some c in [low, high]."""
    direction = a - b
    if np.linalg.norm(direction) < 1e-12:
        return np.allclose(h, b / np.linalg.norm(b), atol=1e-8)
    # h is parallel to b + c (a - b): solve h * r = b + c (a - b) by least squares for (r, c).
    system = np.stack([h, -direction], axis=1)
    (r, c), *_ = np.linalg.lstsq(system, b, rcond=None)
    return r > 0 and low - 1e-9 <= c <= high + 1e-9 and np.allclose(system @ [r, c], b, atol=1e-8)


# ---------------------------------------------------------------- real embeddings


def test_losses_match_references_on_photo_patches():
    z1, z2 = _photo_pair()
    assert float(losses.info_nce(z1, z2, 0.2)) == pytest.approx(ref_info_nce(z1, z2, 0.2), abs=1e-5)
    got = float(losses.debiased_info_nce(z1, z2, 0.1, 0.5))
    assert got == pytest.approx(ref_debiased(z1, z2, 0.1, 0.5), abs=1e-5)
    got = float(losses.hard_negative_info_nce(z1, z2, 1.0, 0.1, 0.5))
    assert got == pytest.approx(ref_debiased(z1, z2, 0.1, 0.5, beta=1.0), abs=1e-5)


def test_masked_losses_match_references_on_fashion_mnist(fashion_pair):
    z1, z2, labels = fashion_pair
    mask = negatives.negative_mask(labels=labels)
    m = mask.numpy()
    assert float(losses.info_nce(z1, z2, 0.5, mask)) == pytest.approx(ref_info_nce(z1, z2, 0.5, m), abs=1e-5)
    got = float(losses.debiased_info_nce(z1, z2, 0.1, 0.5, mask))
    assert got == pytest.approx(ref_debiased(z1, z2, 0.1, 0.5, m), abs=1e-5)
    got = float(losses.hard_negative_info_nce(z1, z2, 1.0, 0.1, 0.5, mask))
    assert got == pytest.approx(ref_debiased(z1, z2, 0.1, 0.5, m, beta=1.0), abs=1e-5)
    got = float(losses.supervised_contrastive(z1, z2, labels, 0.1))
    assert got == pytest.approx(ref_supcon(z1, z2, labels.numpy(), 0.1), abs=1e-5)
    # Masking same-class negatives removes the pull-apart of same-class pairs: the loss drops.
    assert float(losses.info_nce(z1, z2, 0.5, mask)) < float(losses.info_nce(z1, z2, 0.5))


# ---------------------------------------------------------------- limiting cases


def test_limiting_cases():
    z1, z2 = _random_pair(seed=10)
    info = losses.info_nce(z1, z2, 0.5)
    debiased = losses.debiased_info_nce(z1, z2, 0.1, 0.5)
    torch.testing.assert_close(losses.debiased_info_nce(z1, z2, 0.0, 0.5), info, rtol=0, atol=1e-12)
    torch.testing.assert_close(losses.hard_negative_info_nce(z1, z2, 0.0, 0.1, 0.5), debiased, rtol=0, atol=1e-12)
    torch.testing.assert_close(losses.hard_negative_info_nce(z1, z2, 0.0, 0.0, 0.5), info, rtol=0, atol=1e-12)
    torch.testing.assert_close(losses.supervised_contrastive(z1, z2, temperature=0.5), info, rtol=0, atol=1e-12)
    unique = torch.arange(12)
    torch.testing.assert_close(losses.supervised_contrastive(z1, z2, unique, 0.5), info, rtol=0, atol=1e-12)
    nothing_found = dict(temperature=0.5, threshold=1.5)
    for mode in ("attraction", "elimination"):
        fnc = losses.false_negative_cancellation(z1, z2, mode=mode, **nothing_found)
        torch.testing.assert_close(fnc, info, rtol=0, atol=1e-12)


def test_all_true_mask_gives_unmasked_loss():
    z1, z2 = _random_pair(seed=11)
    full = torch.ones(24, 24, dtype=torch.bool)
    for fn in (
        lambda m: losses.info_nce(z1, z2, 0.5, m),
        lambda m: losses.debiased_info_nce(z1, z2, 0.1, 0.5, m),
        lambda m: losses.hard_negative_info_nce(z1, z2, 1.0, 0.1, 0.5, m),
        lambda m: losses.supervised_contrastive(z1, z2, torch.arange(12) % 3, 0.1, negative_mask=m),
        lambda m: losses.false_negative_cancellation(z1, z2, top_k=2, threshold=0.2, negative_mask=m),
    ):
        torch.testing.assert_close(fn(full), fn(None), rtol=0, atol=1e-12)
    q, k, queue = torch.randn(4, 6, dtype=torch.float64), torch.randn(4, 6, dtype=torch.float64), torch.randn(9, 6)
    mochi = lambda m: losses.mochi_info_nce(q, k, queue, n_hard=3, negative_mask=m, generator=torch.Generator())
    torch.testing.assert_close(mochi(torch.ones(4, 9, dtype=torch.bool)), mochi(None), rtol=0, atol=1e-12)


# ---------------------------------------------------------------- empty negative sets


def test_anchor_without_negatives_gets_zero_loss():
    """Row 0 allows no negative: its loss is 0 (documented), the rest match the reference."""
    z1, z2 = _random_pair(n=6, seed=12)
    mask = torch.ones(12, 12, dtype=torch.bool)
    mask[0] = False
    m = mask.numpy()
    cases = [
        (losses.info_nce(z1, z2, 0.5, mask), ref_info_nce(z1, z2, 0.5, m)),
        (losses.debiased_info_nce(z1, z2, 0.1, 0.5, mask), ref_debiased(z1, z2, 0.1, 0.5, m)),
        (losses.hard_negative_info_nce(z1, z2, 1.0, 0.1, 0.5, mask), ref_debiased(z1, z2, 0.1, 0.5, m, beta=1.0)),
    ]
    for got, expected in cases:
        assert float(got) == pytest.approx(expected, abs=1e-5)


def test_every_negative_shares_the_label():
    """All items share one label: no anchor has a negative; every loss is a finite 0 with zero gradient."""
    z1, z2 = _random_pair(n=5, seed=13)
    z1.requires_grad_(True)
    mask = negatives.negative_mask(labels=torch.zeros(5, dtype=torch.long))
    for fn in (losses.info_nce, losses.debiased_info_nce, losses.hard_negative_info_nce):
        loss = fn(z1, z2, negative_mask=mask)
        (grad,) = torch.autograd.grad(loss, z1)
        assert loss.item() == 0.0 and torch.count_nonzero(grad) == 0
    q = losses.mochi_info_nce(z1, z2, torch.randn(7, 6), negative_mask=torch.zeros(5, 7, dtype=torch.bool))
    assert q.item() == 0.0


# ---------------------------------------------------------------- gradients and precision


def _gradcheck(fn, *inputs):
    inputs = [x.detach().clone().requires_grad_(True) for x in inputs]
    assert torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-5)


def test_gradcheck_float64():
    z1, z2 = _random_pair(n=4, d=3, seed=14)
    labels, mask = _label_mask(4, seed=2)
    mask[0] = False  # an anchor without negatives too
    _gradcheck(lambda a, b: losses.info_nce(a, b, 0.5), z1, z2)
    _gradcheck(lambda a, b: losses.info_nce(a, b, 0.5, mask), z1, z2)
    _gradcheck(lambda a, b: losses.debiased_info_nce(a, b, 0.1, 0.5), z1, z2)
    _gradcheck(lambda a, b: losses.debiased_info_nce(a, b, 0.1, 0.5, mask), z1, z2)
    _gradcheck(lambda a, b: losses.debiased_info_nce(a, b, 0.0, 0.5), z1, z2)
    _gradcheck(lambda a, b: losses.hard_negative_info_nce(a, b, 1.0, 0.1, 0.5), z1, z2)
    _gradcheck(lambda a, b: losses.hard_negative_info_nce(a, b, 0.5, 0.1, 0.5, mask), z1, z2)
    _gradcheck(lambda a, b: losses.supervised_contrastive(a, b, labels, 0.5), z1, z2)
    _gradcheck(lambda a, b, c: losses.false_negative_cancellation(a, b, [c], 0.5, 2, 0.0), z1, z2, z1.flip(0))
    queue = torch.randn(6, 3, dtype=torch.float64)
    mochi = lambda a, b, mixes: losses.mochi_info_nce(a, b, queue, 0.5, 3, 2, mixes, generator=torch.Generator())
    _gradcheck(lambda a, b: mochi(a, b, 0), z1, z2)
    # Mixes with the query are built from the detached query (no gradient through them, as MoCHi).
    _gradcheck(lambda b: mochi(z1, b, 2), z2)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_inputs_are_finite_and_close(dtype):
    z1, z2 = _random_pair(n=64, d=32, seed=15, dtype=torch.float32)
    z1h, z2h = (z.to(dtype).requires_grad_(True) for z in (z1, z2))
    low = dict(z1=z1h, z2=z2h)
    for name, fn in [
        ("info_nce", lambda z1, z2: losses.info_nce(z1, z2, 0.05)),
        ("debiased", lambda z1, z2: losses.debiased_info_nce(z1, z2, 0.1, 0.05)),
        ("hard", lambda z1, z2: losses.hard_negative_info_nce(z1, z2, 1.0, 0.1, 0.05)),
        ("supcon", lambda z1, z2: losses.supervised_contrastive(z1, z2, torch.arange(64) % 5, 0.05)),
        ("fnc", lambda z1, z2: losses.false_negative_cancellation(z1, z2, temperature=0.05, threshold=0.5)),
    ]:
        loss = fn(**low)
        assert loss.dtype == torch.float32, name
        expected = fn(z1h.detach().float(), z2h.detach().float())
        assert loss.item() == pytest.approx(expected.item(), rel=1e-5), name
        (grad,) = torch.autograd.grad(loss, z1h)
        assert grad.dtype == dtype and torch.isfinite(grad).all(), name


def test_autocast_keeps_float32():
    z1, z2 = _random_pair(n=16, d=8, seed=16, dtype=torch.float32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = losses.debiased_info_nce(z1, z2, 0.1, 0.1)
    assert loss.dtype == torch.float32
    assert float(loss) == pytest.approx(float(losses.debiased_info_nce(z1, z2, 0.1, 0.1)), rel=1e-6)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda z1, z2: losses.info_nce(z1, z2[:5]), "same shape"),
        (lambda z1, z2: losses.info_nce(z1[:1], z2[:1]), "N >= 2"),
        (lambda z1, z2: losses.info_nce(z1[0], z2[0]), "2-D"),
        (lambda z1, z2: losses.info_nce(z1.long(), z2.long()), "floating point"),
        (lambda z1, z2: losses.info_nce(z1, z2.index_fill(0, torch.tensor([2]), float("nan"))), "z2 contains NaN"),
        (lambda z1, z2: losses.debiased_info_nce(z1.index_fill(0, torch.tensor([0]), float("inf")), z2), "z1 contains"),
        (lambda z1, z2: losses.info_nce(z1, z2, temperature=0.0), "temperature"),
        (lambda z1, z2: losses.info_nce(z1, z2, negative_mask=torch.ones(12, 12, dtype=torch.bool)), r"\(24, 24\)"),
        (lambda z1, z2: losses.info_nce(z1, z2, negative_mask=torch.ones(24, 24)), "boolean"),
        (lambda z1, z2: losses.debiased_info_nce(z1, z2, tau_plus=1.0), "tau_plus"),
        (lambda z1, z2: losses.hard_negative_info_nce(z1, z2, beta=-1.0), "beta"),
        (lambda z1, z2: losses.supervised_contrastive(z1, z2, torch.arange(5)), "one id per item"),
        (lambda z1, z2: losses.supervised_contrastive(z1, z2, torch.arange(12), positive_mask=torch.eye(24) > 0), "not both"),
        (lambda z1, z2: losses.false_negative_cancellation(z1, z2, mode="cancel"), "mode"),
        (lambda z1, z2: losses.false_negative_cancellation(z1, z2, support=[z1[:3]]), "same shape"),
        (lambda z1, z2: losses.mochi_info_nce(z1, z2, torch.randn(5, 3)), r"queue must be \(K, 6\)"),
        (lambda z1, z2: losses.mochi_info_nce(z1, z2, torch.randn(5, 6), n_hard=0), "n_hard"),
        (lambda z1, z2: losses.mochi_info_nce(z1, z2, torch.randn(5, 6), negative_mask=torch.ones(5, 12) > 0), r"\(12, 5\)"),
    ],
)
def test_bad_input_raises_clear_errors(call, match):
    z1, z2 = _random_pair()
    with pytest.raises(ValueError, match=match):
        call(z1, z2)


def test_non_tensor_input_raises_type_error():
    with pytest.raises(TypeError, match="z1 must be a torch.Tensor"):
        losses.info_nce(np.zeros((4, 3)), torch.zeros(4, 3))


# ---------------------------------------------------------------- modules and registry


def test_modules_equal_functions_and_registry_builds_them():
    z1, z2 = _random_pair(seed=17)
    labels, mask = _label_mask(12, seed=17)
    pairs = [
        (losses.get("info_nce", temperature=0.3), lambda: losses.info_nce(z1, z2, 0.3, mask)),
        (losses.get("dcl", tau_plus=0.2), lambda: losses.debiased_info_nce(z1, z2, 0.2, 0.5, mask)),
        (losses.get("hcl", beta=0.5), lambda: losses.hard_negative_info_nce(z1, z2, 0.5, 0.1, 0.5, mask)),
        (losses.get("fnc", top_k=2, threshold=0.2), lambda: losses.false_negative_cancellation(z1, z2, (), 0.1, 2, 0.2, negative_mask=mask)),
    ]
    for module, function in pairs:
        torch.testing.assert_close(module(z1, z2, negative_mask=mask), function())
    supcon = losses.get("supervised_contrastive", temperature=0.2)
    torch.testing.assert_close(supcon(z1, z2, labels), losses.supervised_contrastive(z1, z2, labels, 0.2))
    queue = torch.randn(10, 6, dtype=torch.float64)
    mochi = losses.get("mochi", n_hard=4, n_mix=3, n_query_mix=2, seed=5)
    expected = losses.mochi_info_nce(z1, z2, queue, 0.2, 4, 3, 2, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(mochi(z1, z2, queue), expected)
    assert "info_nce" in losses.names() and len(losses.names()) == 6
    with pytest.raises(ValueError, match="unknown loss 'simclr'.*info_nce"):
        losses.get("simclr")
    with pytest.raises(ValueError, match="temperature"):
        losses.InfoNCELoss(temperature=-1)
