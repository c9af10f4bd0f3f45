"""The batched device stage compiles as one graph (torch.compile, fullgraph=True), same views.

All slow: dynamo alone takes 8-16 s on the shared 2-core machine, inductor 1-2 minutes."""

import pytest
import torch

from pairgen import PairSampler

#: Every built-in op kind of SimCLR and BYOL in one small view (fused colour with hue, blur, solarize).
RECIPE = {"name": "tiny", "views": [{"count": 1, "size": 8, "ops": [
    {"type": "flip"}, {"type": "color_jitter", "p": 1.0}, {"type": "grayscale"},
    {"type": "blur", "p": 1.0, "sigma": [0.1, 1.0]}, {"type": "solarize", "p": 0.5}]}]}


@pytest.fixture(scope="module")
def batch(photos):
    image = torch.from_numpy(photos["astronaut"]).permute(2, 0, 1)
    return PairSampler(RECIPE, max_side=32, mode="device").collate([image, image[:, :300, :200]] * 2)


#: The smallest view: crop, folded flip, one fused colour map with the normalisation.
SMALL = {"name": "small", "views": [{"count": 1, "size": 8, "ops": [{"type": "flip"}, {"type": "grayscale"}]}]}


@pytest.mark.slow
@pytest.mark.parametrize("recipe", [SMALL, RECIPE], ids=["small", "tiny"])
def test_render_traces_as_one_graph(recipe, batch):
    """Dynamo traces the whole render with no graph break (its eager backend: no code generation)."""
    sampler = PairSampler(recipe, seed=0, mode="device", backend="batched", max_side=32)
    params = sampler.sample(batch, torch.arange(4, dtype=torch.int64))
    compiled = torch.compile(sampler.render, fullgraph=True, backend="eager")
    for a, b in zip(compiled(batch, params, [None]), sampler.render(batch, params, [None])):
        assert torch.equal(a, b)


@pytest.mark.slow
def test_compile_true_gives_the_same_views_with_inductor(batch):
    """``compile=True``: inductor on the CPU (about a minute on 2 cores), the eager views to 1e-5."""
    kwargs = {"seed": 0, "mode": "device", "backend": "batched", "max_side": 32}
    compiled, eager = PairSampler(RECIPE, compile=True, **kwargs), PairSampler(RECIPE, **kwargs)
    seeds = torch.arange(4, dtype=torch.int64)
    for a, b in zip(compiled.generate(batch, seeds).views, eager.generate(batch, seeds).views):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
