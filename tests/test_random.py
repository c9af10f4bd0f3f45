import torch

from pairgen.random import derive_seeds, new_seeds, normal, uniform, worker_seeds


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
