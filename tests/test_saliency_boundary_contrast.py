import numpy as np
import pytest
import torch
from PIL import Image
from saliency_reference import (
    binarise_2xmean,
    boundary_contrast_reference,
    iou,
    photos_dev_names,
)
from skimage import data

from pairgen.registry import SALIENCY
from pairgen.saliency import DEFAULT_METHOD, boundary_contrast, builtin_saliency, spectral_residual


def as_batch(*images: np.ndarray) -> torch.Tensor:
    return torch.stack([torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1) for image in images])


def test_matches_numpy_reference_on_a_real_photo():
    cat = data.chelsea()
    expected = boundary_contrast_reference(cat)
    got = boundary_contrast(as_batch(cat).double() / 255.0)
    np.testing.assert_allclose(got[0, 0].numpy(), expected, atol=1e-9)
    got32 = boundary_contrast(as_batch(cat))
    assert got32.dtype == torch.float32
    np.testing.assert_allclose(got32[0, 0].numpy(), expected, atol=1e-4)


@pytest.mark.parametrize("crop", [(128, 128), (256, 192), (192, 256)])
def test_matches_numpy_reference_when_the_working_size_divides_the_image(crop):
    # 2x or 4x whole-factor shrinks, which resize_maps does by strided sums.
    photo = data.astronaut()[: crop[0], : crop[1]]
    expected = boundary_contrast_reference(photo)
    np.testing.assert_allclose(boundary_contrast(as_batch(photo).double() / 255.0)[0, 0].numpy(), expected, atol=1e-9)
    np.testing.assert_allclose(boundary_contrast(as_batch(photo))[0, 0].numpy(), expected, atol=1e-4)


def test_the_object_is_more_salient_than_the_border_region():
    # skimage's coffee: the cup sits in the middle of a plain table.
    coffee = data.coffee()
    saliency = boundary_contrast(as_batch(coffee))[0, 0]
    h, w = saliency.shape
    centre = saliency[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4].mean()
    border = torch.cat([saliency[: h // 10].flatten(), saliency[-h // 10 :].flatten()]).mean()
    assert centre > 3 * border


def test_batched_equals_per_image_and_uint8_equals_float():
    images = as_batch(data.chelsea()[:256, :320], data.astronaut()[:256, :320], data.coffee()[:256, :320])
    batched = boundary_contrast(images)
    for index in range(len(images)):
        torch.testing.assert_close(batched[index : index + 1], boundary_contrast(images[index : index + 1]), atol=1e-5, rtol=0)
    torch.testing.assert_close(boundary_contrast(images.float() / 255.0), batched, atol=1e-4, rtol=0)
    gray = images[:, :1]
    assert torch.isfinite(boundary_contrast(gray)).all()


def test_batch_saliency_on_the_cpu_is_each_image_resized_from_its_canvas_slice(monkeypatch):
    """The CPU path merges each image's planes before the antialiased resize and resizes the maps back
    by OpenCV into the canvas: the maps must be those of resizing the canvas's own CHW slice, image by
    image, with the float64 bilinear map back, on six real photos (four extents, one shared by three).
    New arrays start filled with 7, so that a padding left unwritten cannot pass as the OS's zeroed pages."""
    import torch.nn.functional as F

    empty = np.empty

    def filled(*args, **kwargs):
        array = empty(*args, **kwargs)
        array.fill(7)
        return array

    monkeypatch.setattr(np, "empty", filled)

    from pairgen.collate import collate_items
    from pairgen.saliency import batch_saliency

    photos = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket(), data.chelsea()[40:, 100:], data.coffee()]
    batch = collate_items(photos, 448)
    maps = batch_saliency(batch)
    assert len(set(batch.host_extents())) == 4
    for i, (h, w) in enumerate(batch.host_extents()):
        work = F.interpolate(batch.images[i:i + 1, :, :h, :w], size=(128, 128), mode="bilinear", antialias=True)
        expected = F.interpolate(builtin_saliency(work).double(), size=(h, w), mode="bilinear", align_corners=False)
        torch.testing.assert_close(maps[i:i + 1, :, :h, :w].double(), expected, atol=3e-7, rtol=0)
        assert not maps[i, :, h:].any() and not maps[i, :, :, w:].any(), i


def test_batch_saliency_maps_back_by_bilinear_at_any_extent():
    """Extents above, below and equal to the 128-px work size, one pixel wide or tall, odd ratios: each
    image's map is the float64 bilinear resize of its 128-px map (OpenCV's exact 2x shrink included)."""
    import torch.nn.functional as F

    from pairgen.collate import collate_items
    from pairgen.saliency import batch_saliency

    photo = data.astronaut()
    extents = [(300, 450), (128, 128), (64, 64), (1, 90), (77, 1), (200, 33), (512, 500)]
    batch = collate_items([np.ascontiguousarray(photo[:h, :w]) for h, w in extents], 512)
    maps = batch_saliency(batch)
    assert batch.host_extents() == tuple(extents)
    for i, (h, w) in enumerate(extents):
        work = F.interpolate(batch.images[i:i + 1, :, :h, :w], size=(128, 128), mode="bilinear", antialias=True)
        expected = F.interpolate(builtin_saliency(work).double(), size=(h, w), mode="bilinear", align_corners=False)
        torch.testing.assert_close(maps[i:i + 1, :, :h, :w].double(), expected, atol=3e-7, rtol=0, msg=str((h, w)))
        assert not maps[i, :, h:].any() and not maps[i, :, :, w:].any(), (h, w)


def test_batch_saliency_device_path_agrees_with_the_host_path():
    """The GPU code path (float resize rounded to uint8 levels, maps grouped by extent), run here on CPU
    tensors: the same maps as the CPU path up to the two resizes' rounding, zero padding, on real photos."""
    from pairgen.collate import collate_items
    from pairgen.saliency.batch import _on_device, _on_host

    photos = [data.astronaut(), data.chelsea(), data.coffee(), data.chelsea()[40:, 100:], data.coffee()]
    batch = collate_items(photos, 320)
    host, device = _on_host(batch, "boundary_contrast", 128), _on_device(batch, "boundary_contrast", 128)
    for i, (h, w) in enumerate(batch.host_extents()):
        assert float((host[i, :, :h, :w] - device[i, :, :h, :w]).abs().mean()) < 2e-3, i
        torch.testing.assert_close(device[i, :, :h, :w], host[i, :, :h, :w], atol=0.05, rtol=0)
        assert not device[i, :, h:].any() and not device[i, :, :, w:].any(), i


def test_constant_images_give_uniform_maps_and_flat_borders_stay_finite():
    assert torch.equal(boundary_contrast(torch.full((2, 3, 30, 50), 9, dtype=torch.uint8)), torch.ones(2, 1, 30, 50))
    letterbox = torch.zeros(1, 3, 60, 80, dtype=torch.uint8)
    letterbox[..., 20:40, 30:50] = 200
    maps = boundary_contrast(letterbox)
    assert torch.isfinite(maps).all() and float(maps.min()) == 0.0 and float(maps.max()) == 1.0
    assert maps[0, 0, 30, 40] > 0.9 and maps[0, 0, 2, 2] < 0.01


def test_bad_arguments_are_named():
    images = torch.rand(1, 3, 20, 20)
    for kwargs, name in (({"size": 8}, "size"), ({"border": 0.6}, "border"), ({"centre_sigma": 0.0}, "centre_sigma")):
        with pytest.raises(ValueError, match=name):
            boundary_contrast(images, **kwargs)
    with pytest.raises(ValueError, match="method"):
        builtin_saliency(images, method="nope")


def test_builtin_dispatches_to_the_default_method():
    images = as_batch(data.coffee()[:128, :128])
    assert DEFAULT_METHOD == "boundary_contrast" and set(SALIENCY.list()) >= {"boundary_contrast", "spectral_residual"}
    torch.testing.assert_close(builtin_saliency(images), boundary_contrast(images))
    torch.testing.assert_close(builtin_saliency(images, method="spectral_residual", sigma=4.0), spectral_residual(images, sigma=4.0))


def test_iou_against_photos_dev_masks_beats_spectral_residual(photos_dev):
    root = photos_dev
    default, residual = [], []
    for name in photos_dev_names(root):
        image = as_batch(np.array(Image.open(root / "images" / f"{name}.jpg").convert("RGB")))
        mask = np.array(Image.open(root / "masks" / f"{name}.png").convert("L")) > 127
        default.append(iou(binarise_2xmean(builtin_saliency(image)[0, 0].numpy()), mask))
        residual.append(iou(binarise_2xmean(spectral_residual(image)[0, 0].numpy()), mask))
    # Measured 0.471 and 0.208 (benchmarks/RESULTS.md).
    assert np.mean(default) >= 0.44
    assert np.mean(default) >= np.mean(residual) + 0.15
