import pytest
import torch

from pairgen.random import derive_seeds, new_seeds, normal, uniform, uniform_streams, worker_seeds


def test_uniform_moments_and_range():
    u = uniform(torch.arange(4), stream=3, count=50_000)
    assert u.min() >= 0 and u.max() < 1
    assert torch.allclose(u.mean(1), torch.full((4,), 0.5), atol=0.01)
    assert torch.allclose(u.std(1), torch.full((4,), (1 / 12) ** 0.5), atol=0.01)
    # Histogram close to flat (chi-square-like bound over 20 bins).
    counts = torch.histc(u.flatten(), bins=20, min=0, max=1)
    assert (counts / counts.mean() - 1).abs().max() < 0.05


def test_streams_and_seeds_are_independent():
    seeds = torch.arange(2000)
    a, b = uniform(seeds, 1)[:, 0], uniform(seeds, 2)[:, 0]
    assert abs(torch.corrcoef(torch.stack([a, b]))[0, 1]) < 0.06
    neighbours = torch.corrcoef(torch.stack([a[:-1], a[1:]]))[0, 1]
    assert abs(neighbours) < 0.06


def test_values_depend_only_on_the_sample_seed():
    seeds = torch.tensor([5, 17, 99, 1 << 61])
    batch = uniform(seeds, 4, 6)
    for i, seed in enumerate(seeds):
        assert torch.equal(uniform(seed.view(1), 4, 6)[0], batch[i])


def test_normal_moments():
    z = normal(torch.arange(2), 0, 50_000)
    assert torch.allclose(z.mean(1), torch.zeros(2), atol=0.02)
    assert torch.allclose(z.std(1), torch.ones(2), atol=0.02)
    assert torch.isfinite(z).all()


def test_seed_sources():
    g1, g2 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    assert torch.equal(new_seeds(g1, 8), new_seeds(g2, 8))
    assert (new_seeds(g1, 8) >= 0).all()
    assert not torch.equal(worker_seeds(0, 0, 8), worker_seeds(0, 1, 8))
    assert not torch.equal(worker_seeds(0, 0, 8), worker_seeds(1, 0, 8))
    assert torch.equal(worker_seeds(3, 2, 8), worker_seeds(3, 2, 8))
    assert len(set(derive_seeds(torch.zeros(4, dtype=torch.int64), 0).tolist())) == 1
    assert len(set(derive_seeds(torch.arange(100), 7).tolist())) == 100


def _splitmix64(x: int) -> int:
    """SplitMix64's finaliser on Python ints (an independent reference for the int64 tensor code)."""
    mask = (1 << 64) - 1
    x &= mask
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & mask
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & mask
    return x ^ (x >> 31)


def test_uniform_streams_equal_separate_draws_and_python_splitmix64():
    golden, mask = 0x9E3779B97F4A7C15, (1 << 64) - 1
    seeds = torch.tensor([0, 7, 123456789, (1 << 62) - 1])
    counts = {1: 1, 4: 4, 9: 3, 2: 0}
    together = uniform_streams(seeds, counts)
    assert list(together) == [1, 4, 9, 2] and together[2].shape == (4, 0)
    for stream, count in counts.items():
        assert torch.equal(together[stream], uniform(seeds, stream, count))
        for i, seed in enumerate(seeds.tolist()):
            for k in range(count):
                key = _splitmix64(((stream << 20) + k) * golden + 1)
                expected = (_splitmix64((seed * golden + key) & mask) >> 40) / (1 << 24)
                assert together[stream][i, k].item() == expected
    with pytest.raises(ValueError, match="counts"):
        uniform_streams(seeds, {1: -1})
    with pytest.raises(ValueError, match="seeds"):
        uniform_streams(seeds.int(), {1: 1})
