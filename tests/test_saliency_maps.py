"""The saliency helpers against independent references: skimage's Lab, torch's adaptive pooling."""

import numpy as np
import pytest
import skimage.color
import torch
import torch.nn.functional as F
from saliency_reference import area_resize
from skimage import data

from pairgen.saliency._maps import resize_maps, rgb_to_lab


def _edge_colours() -> np.ndarray:
    """Every gray level, pure primaries and near-black colours on both sides of the two thresholds."""
    levels = np.arange(256) / 255.0
    gray = np.repeat(levels[:, None], 3, axis=1)
    dark = np.array([[0.04045, 0.0, 0.0], [0.04046, 0.001, 0.0], [0.0, 0.0, 0.03], [0.02, 0.05, 0.1]])
    primaries = np.eye(3)
    return np.concatenate([gray, dark, primaries])[None]  # (1, N, 3)


@pytest.mark.parametrize("rgb", [data.chelsea() / 255.0, data.astronaut()[::4, ::4] / 255.0, _edge_colours()],
                         ids=["chelsea", "astronaut", "edge-colours"])
def test_rgb_to_lab_matches_skimage(rgb):
    expected = skimage.color.rgb2lab(rgb)
    tensor = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None]
    got = rgb_to_lab(tensor.double())[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-9)
    got32 = rgb_to_lab(tensor.float())
    assert got32.dtype == torch.float32
    np.testing.assert_allclose(got32[0].permute(1, 2, 0).numpy(), expected, atol=2e-4)


@pytest.mark.parametrize(("shape", "size"), [((2, 3, 128, 128), (64, 64)), ((1, 3, 256, 192), (64, 48)),
                                              ((3, 1, 90, 60), (30, 60)), ((2, 3, 100, 70), (43, 30))],
                         ids=["x2", "x4", "x3-by-1", "uneven"])
def test_shrinking_equals_adaptive_pooling_and_the_area_reference(shape, size):
    maps = torch.rand(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(sum(shape)))
    got = resize_maps(maps, size)
    torch.testing.assert_close(got, F.adaptive_avg_pool2d(maps, size), atol=1e-12, rtol=0)
    expected = area_resize(maps[0].permute(1, 2, 0).numpy(), *size)
    np.testing.assert_allclose(got[0].permute(1, 2, 0).numpy(), expected, atol=1e-12)


def test_whole_factor_shrinking_leaves_its_input_alone_and_passes_gradients():
    maps = torch.rand(2, 1, 8, 6, dtype=torch.float64, requires_grad=True)
    before = maps.detach().clone()
    resize_maps(maps, (4, 3)).sum().backward()
    assert torch.equal(maps.detach(), before)
    torch.testing.assert_close(maps.grad, torch.full_like(maps, 0.25))
