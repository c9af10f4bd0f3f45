import numpy as np
import pytest
import torch
from PIL import Image
from saliency_reference import (
    binarise_2xmean,
    iou,
    photos_dev_names,
    spectral_residual_reference,
)
from skimage import data

from pairgen.saliency import spectral_residual


def as_batch(*images: np.ndarray) -> torch.Tensor:
    return torch.stack([torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1) for image in images])


def test_matches_numpy_reference_on_a_real_photo():
    cat = data.chelsea()
    expected = spectral_residual_reference(cat)
    got64 = spectral_residual(as_batch(cat).double() / 255.0)
    assert got64.dtype == torch.float64
    np.testing.assert_allclose(got64[0, 0].numpy(), expected, atol=1e-6)
    got32 = spectral_residual(as_batch(cat))
    assert got32.dtype == torch.float32 and got32.shape == (1, 1, *cat.shape[:2])
    np.testing.assert_allclose(got32[0, 0].numpy(), expected, atol=2e-3)


def test_other_sigma_and_size_match_reference():
    image = data.coffee()
    expected = spectral_residual_reference(image, size=32, sigma=4.0)
    got = spectral_residual(as_batch(image).double(), size=32, sigma=4.0)
    np.testing.assert_allclose(got[0, 0].numpy(), expected, atol=1e-6)


def test_batched_equals_per_image_and_uint8_equals_float():
    images = as_batch(data.chelsea()[:256, :320], data.astronaut()[:256, :320], data.coffee()[:256, :320])
    batched = spectral_residual(images)
    for index in range(len(images)):
        single = spectral_residual(images[index : index + 1])
        torch.testing.assert_close(batched[index : index + 1], single, atol=1e-5, rtol=0)
    torch.testing.assert_close(spectral_residual(images.float() / 255.0), batched, atol=1e-4, rtol=0)
    half = spectral_residual(images.half() / 255.0)
    assert half.dtype == torch.float16
    torch.testing.assert_close(half.float(), batched, atol=2e-2, rtol=0)


def test_range_and_input_untouched():
    images = as_batch(data.astronaut())
    before = images.clone()
    maps = spectral_residual(images)
    assert torch.equal(images, before)
    assert float(maps.min()) == 0.0 and float(maps.max()) == 1.0
    assert torch.isfinite(maps).all()


@pytest.mark.parametrize("value", [0, 7, 255])
def test_constant_images_give_uniform_maps(value):
    images = torch.full((2, 3, 40, 70), value, dtype=torch.uint8)
    maps = spectral_residual(images)
    assert torch.equal(maps, torch.ones(2, 1, 40, 70))
    assert torch.equal(spectral_residual(torch.zeros(1, 1, 9, 9)), torch.ones(1, 1, 9, 9))


def test_tiny_and_one_pixel_features_stay_finite():
    image = torch.zeros(1, 1, 3, 5)
    image[0, 0, 1, 2] = 1.0
    maps = spectral_residual(image)
    assert maps.shape == (1, 1, 3, 5) and torch.isfinite(maps).all() and float(maps.max()) == 1.0


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="images"):
        spectral_residual(torch.zeros(3, 40, 40))
    with pytest.raises(ValueError, match="images"):
        spectral_residual(torch.zeros(1, 2, 40, 40))
    bad = torch.rand(1, 3, 20, 20)
    bad[0, 0, 3, 3] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        spectral_residual(bad)
    with pytest.raises(ValueError, match="size"):
        spectral_residual(torch.rand(1, 3, 20, 20), size=4)
    with pytest.raises(ValueError, match="sigma"):
        spectral_residual(torch.rand(1, 3, 20, 20), sigma=float("nan"))


def test_iou_against_photos_dev_masks(photos_dev):
    root = photos_dev
    scores = []
    for name in photos_dev_names(root):
        image = np.array(Image.open(root / "images" / f"{name}.jpg").convert("RGB"))
        mask = np.array(Image.open(root / "masks" / f"{name}.png").convert("L")) > 127
        saliency = spectral_residual(as_batch(image))[0, 0].numpy()
        scores.append(iou(binarise_2xmean(saliency), mask))
    # Measured 0.208 (benchmarks/RESULTS.md); the centre prior alone gives 0.133.
    assert np.mean(scores) >= 0.18
