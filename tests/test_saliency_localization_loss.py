import numpy as np
import pytest
import torch
from saliency_reference import area_resize
from skimage import data

from pairgen.saliency import cast_localization_loss


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a.ravel() @ b.ravel() / (np.linalg.norm(a) * np.linalg.norm(b)))


def real_maps():
    """A 'Grad-CAM' and a saliency crop from skimage's coins at different resolutions."""
    coins = data.coins().astype(np.float64) / 255.0  # 303 x 384
    crops = np.stack([coins[:280, :280], coins[20:300, 100:380]])
    cams = np.stack([area_resize(c, 7, 7) for c in crops]) ** 2
    saliency = (crops > 0.5).astype(np.float64)
    return cams, saliency


def test_matches_numpy_reference_with_resizing():
    cams, saliency = real_maps()
    expected = [1 - cosine(cams[b], area_resize(saliency[b], 7, 7)) for b in range(2)]
    got = cast_localization_loss(torch.from_numpy(cams)[:, None], torch.from_numpy(saliency)[:, None], reduction="none")
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-12)
    mean = cast_localization_loss(torch.from_numpy(cams)[:, None], torch.from_numpy(saliency)[:, None])
    np.testing.assert_allclose(float(mean), np.mean(expected), atol=1e-12)
    # CAST's released code: one cosine over the whole flattened batch.
    small = np.stack([area_resize(s, 7, 7) for s in saliency])
    batch = cast_localization_loss(torch.from_numpy(cams)[:, None], torch.from_numpy(saliency)[:, None], reduction="batch")
    np.testing.assert_allclose(float(batch), 1 - cosine(cams, small), atol=1e-12)


def test_identical_and_disjoint_maps():
    mask = torch.zeros(3, 1, 8, 8)
    mask[..., :4, :] = 1.0
    assert float(cast_localization_loss(mask * 0.3, mask)) == pytest.approx(0.0, abs=1e-6)
    assert float(cast_localization_loss(1 - mask, mask)) == pytest.approx(1.0, abs=1e-6)


def test_gradient_matches_the_cosine_derivative_and_zero_maps_stay_finite():
    cams, saliency = real_maps()
    g = torch.from_numpy(cams)[:1, None].clone().requires_grad_(True)
    s = torch.from_numpy(area_resize(saliency[0], 7, 7))[None, None]
    cast_localization_loss(g, s).backward()
    a, b = cams[0], s[0, 0].numpy()
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    expected = -(b / (na * nb) - (a * (a * b).sum()) / (na**3 * nb))
    np.testing.assert_allclose(g.grad[0, 0].numpy(), expected, atol=1e-10)
    zero = torch.zeros(2, 1, 7, 7, requires_grad=True)
    loss = cast_localization_loss(zero, torch.zeros(2, 1, 7, 7))
    loss.backward()
    assert float(loss.detach()) == 1.0 and torch.isfinite(zero.grad).all()


def test_bad_input_names_the_argument():
    good = torch.rand(2, 1, 7, 7)
    with pytest.raises(ValueError, match="gradcam_maps"):
        cast_localization_loss(torch.rand(2, 7, 7), good)
    with pytest.raises(ValueError, match="saliency_crops"):
        cast_localization_loss(good, torch.rand(2, 3, 7, 7))
    with pytest.raises(ValueError, match="batch size"):
        cast_localization_loss(good, torch.rand(3, 1, 7, 7))
    with pytest.raises(ValueError, match="reduction"):
        cast_localization_loss(good, good, reduction="sum")
    with pytest.raises(ValueError, match="saliency_crops.*NaN"):
        cast_localization_loss(good, torch.full((2, 1, 7, 7), float("nan")))
