"""The cpu and batched backends render the same views from the same params.

Stated tolerance: the CPU crop kernel rounds crops to uint8 (torch's SIMD path), the batched
one keeps them in float; that half gray level, times the colour gain of the jitter and divided
by the normalisation's std, bounds the difference. SimCLR's strongest colour maps amplify it
up to ~10 times, so normalised float32 views differ by at most 0.12 (mean under 5e-3) and uint8
views by at most 6 gray levels, over 1 level for under 2% of the pixels.
"""

import pytest
import torch

from pairgen import PairSampler
from pairgen.pair_sampler import resolve_backend

RECIPES = ("simclr", "byol", "multicrop", "cast", "ccrop", "objaware", "simccrop")


@pytest.fixture(scope="module")
def items(photos):
    images = [torch.from_numpy(photos[k]).permute(2, 0, 1) for k in ("astronaut", "chelsea", "coffee", "rocket")]
    return images + [images[0][:, 100:400, 50:250], images[2][:, :120, :]]


@pytest.mark.parametrize("recipe", RECIPES)
def test_backends_give_the_same_views(recipe, items):
    samplers = {backend: PairSampler(recipe, size=32, seed=0, mode="device", backend=backend, max_side=160) for backend in ("cpu", "batched")}
    batch = samplers["cpu"].collate(items)
    seeds = torch.arange(len(items), dtype=torch.int64) * 101
    cpu, batched = (s.generate(batch, seeds) for s in samplers.values())
    for a, b, pa, pb in zip(cpu.views, batched.views, cpu.params, batched.params):
        assert torch.equal(pa.boxes, pb.boxes) and all(torch.equal(x[k], y[k]) for x, y in zip(pa.ops, pb.ops) for k in x)
        difference = (a - b).abs()
        assert difference.max() <= 0.12 and difference.mean() < 5e-3
    for backend, sampler in samplers.items():
        sampler.dtype = torch.uint8
    cpu, batched = (s.generate(batch, seeds) for s in samplers.values())
    for a, b in zip(cpu.views, batched.views):
        assert a.dtype == b.dtype == torch.uint8
        levels = (a.int() - b.int()).abs()
        assert levels.max() <= 6 and (levels > 1).float().mean() < 0.02


def test_uint8_views_normalise_to_the_float_views(items):
    """uint8 output is the view before normalisation; normalising it on the model's device gives
    the float32 view up to the rounding to 256 levels."""
    kwargs = {"size": 32, "seed": 0, "mode": "device", "backend": "batched", "max_side": 160}
    floats = PairSampler("byol", **kwargs)
    ints = PairSampler("byol", dtype=torch.uint8, **kwargs)
    batch = floats.collate(items)
    seeds = torch.arange(len(items), dtype=torch.int64)
    for a, b in zip(floats.generate(batch, seeds).views, ints.generate(batch, seeds).views):
        assert (ints.normalize(b) - a).abs().max() <= 0.5 / 255 / 0.224 + 1e-4


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_low_precision_and_channels_last_outputs(dtype, items):
    kwargs = {"size": 32, "seed": 0, "mode": "device", "backend": "batched", "max_side": 160}
    exact = PairSampler("simclr", **kwargs)
    low = PairSampler("simclr", dtype=dtype, channels_last=True, **kwargs)
    batch = exact.collate(items)
    seeds = torch.arange(len(items), dtype=torch.int64)
    for a, b in zip(exact.generate(batch, seeds).views, low.generate(batch, seeds).views):
        assert b.dtype == dtype and b.is_contiguous(memory_format=torch.channels_last)
        assert (b.float() - a).abs().max() <= 0.02 * a.abs().max()


def test_backend_choice():
    assert resolve_backend("auto", torch.device("cpu")) == "cpu"
    assert resolve_backend("auto", torch.device("mps")) == "batched"
    assert PairSampler("simclr").backend == "cpu"
    with pytest.raises(ValueError, match="backend must be one of"):
        PairSampler("simclr", backend="gpu")
    with pytest.raises(ValueError, match="compile=True needs the batched backend"):
        PairSampler("simclr", backend="cpu", compile=True)
    with pytest.raises(ValueError, match="dtype must be one of"):
        PairSampler("simclr", dtype=torch.int32)


def test_fused_kernel_arguments_render_the_batched_views(items):
    """The triton backend's arguments (affine1 / hue / affine2, blur, solarize, normalize), given to
    the kernels' torch reference (their Triton twin equals it, tests/test_kernels.py), give the
    batched views. Views that are whole images (the two crop filters then agree exactly) isolate
    the colour, blur and solarize arguments: 1e-4; the kernels' roi_align crops differ from the
    antialiased triangle of the other backends on real crops (mean abs under 0.05 normalised)."""
    from pairgen.kernels import reference
    from torchvision.transforms.v2.functional import resize

    ops = [{"type": "flip"}, {"type": "color_jitter", "p": 0.8, "brightness": 0.8, "contrast": 0.8, "saturation": 0.8,
            "hue": 0.2}, {"type": "grayscale"}, {"type": "blur", "p": 0.5}, {"type": "solarize", "p": 0.5}]
    whole = {"name": "whole", "views": [{"count": 2, "size": 32, "crop": {"type": "center"}, "ops": ops}]}
    small = [resize(image, [32, 32], antialias=True) for image in items]
    for recipe, images, bound in ((whole, small, None), ("byol", items, 0.05)):
        sampler = PairSampler(recipe, size=32, seed=0, mode="device", backend="batched", max_side=160)
        batch = sampler.collate(images)
        pairs = sampler.generate(batch, torch.arange(len(images), dtype=torch.int64))
        for spec, params, view in zip(sampler.views, pairs.params, pairs.views):
            fused = spec.render_fused(batch, params, reference, sampler.recipe.mean, sampler.recipe.std)
            difference = (fused - view).abs()
            assert difference.max() < 1e-4 if bound is None else difference.mean() < bound


def test_fused_backend_refuses_views_it_cannot_render(items):
    from pairgen.kernels import reference

    recipe = {"name": "v", "views": [{"size": 16, "ops": [{"type": "viewpoint"}]}]}
    sampler = PairSampler(recipe, seed=0, mode="device", backend="batched")
    batch = sampler.collate(items[:2])
    params = sampler.sample(batch, torch.arange(2, dtype=torch.int64))
    with pytest.raises(ValueError, match="use backend='batched'"):
        sampler.views[0].render_fused(batch, params[0], reference)
