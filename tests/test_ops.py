"""Every registered view op through one shared test base, each against an independent
reference (torchvision's functional ops, per sample) on real photos; kernels of the ops."""

import numpy as np
import pytest
import torch
import torchvision.transforms.v2.functional as TF

from pairgen.collate import collate_items
from pairgen.crops import CenterCrop
from pairgen.ops import ColorJitter, adjust_hue, apply_affine, channel_means, gaussian_blur, normalize, resized_crop, solarize
from pairgen.ops.fusion import fold_normalize, run_steps
from pairgen.ops.normalize import Normalize
from pairgen.ops.view_op import op_from_dict
from pairgen.registry import OPS
from pairgen.view import ViewSpec

SIZE = 64
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


@pytest.fixture(scope="module")
def images(photos):
    """Four real photos at SIZE x SIZE, uint8."""
    out = [torch.from_numpy(photos[k]).permute(2, 0, 1) for k in ("astronaut", "chelsea", "coffee", "rocket")]
    return torch.stack([TF.resize(x, [SIZE, SIZE], antialias=True) for x in out])


@pytest.fixture(scope="module")
def batch(images):
    """The photos as float views in [0, 1]."""
    return images.float() / 255


def per_sample(fn):
    """A reference applied image by image: ``fn(image, params of that sample)``."""
    def reference(views, params):
        return torch.stack([fn(views[i], {k: v[i] for k, v in params.items()}) for i in range(len(views))])
    return reference


def _jitter_reference(image, p):
    steps = {0: TF.adjust_brightness, 1: TF.adjust_contrast, 2: TF.adjust_saturation, 3: TF.adjust_hue}
    for kind in p["order"].tolist():
        image = steps[kind](image, float(p["factors"][kind]))
    return image


# name -> (op with every sample changed or not at random, reference(views, params) or the test
# file that checks the op against its paper's formula, max abs tolerance)
CASES = {
    "flip": (OPS.get("flip")(p=0.5), per_sample(lambda x, p: TF.horizontal_flip(x) if p["flip"] else x), 0.0),
    "brightness": (OPS.get("brightness")(strength=0.4), per_sample(lambda x, p: TF.adjust_brightness(x, float(p["factor"]))), 1e-5),
    "contrast": (OPS.get("contrast")(strength=0.6), per_sample(lambda x, p: TF.adjust_contrast(x, float(p["factor"]))), 1e-5),
    "saturation": (OPS.get("saturation")(strength=0.8), per_sample(lambda x, p: TF.adjust_saturation(x, float(p["factor"]))), 1e-5),
    "hue": (OPS.get("hue")(strength=0.5, p=0.75), per_sample(lambda x, p: TF.adjust_hue(x, float(p["shift"]))), 2e-6),
    "color_jitter": (OPS.get("color_jitter")(p=0.75, brightness=0.2, contrast=0.2, saturation=0.2, hue=0.2),
                     per_sample(_jitter_reference), 2e-5),
    "grayscale": (OPS.get("grayscale")(p=0.5), per_sample(lambda x, p: TF.rgb_to_grayscale(x, 3) if p["gray"] else x), 1e-6),
    "blur": (OPS.get("blur")(p=0.75), per_sample(
        lambda x, p: TF.gaussian_blur(x, [23, 23], [float(p["sigma"])] * 2) if p["sigma"] > 0 else x), 1e-4),
    "solarize": (OPS.get("solarize")(p=0.5), per_sample(lambda x, p: TF.solarize(x, 0.5) if p["solarize"] else x), 0.0),
    "normalize": (OPS.get("normalize")(MEAN, STD), lambda views, params: TF.normalize(views, list(MEAN), list(STD)), 1e-5),
    "occlusion": (OPS.get("occlusion")(p=0.75), "tests/test_invariance_transforms.py", None),
    "viewpoint": (OPS.get("viewpoint")(p=0.75), "tests/test_invariance_transforms.py", None),
    "illumination": (OPS.get("illumination")(p=0.75), "tests/test_invariance_transforms.py", None),
}


def test_every_registered_op_is_in_the_shared_test_base():
    assert sorted(CASES) == OPS.list()


def sample(op, images, seeds):
    """Params of ``op`` for views that are the whole images (identity crop, no other op)."""
    masks = torch.zeros(len(images), SIZE, SIZE)
    masks[:, 16:48, 12:40] = 1
    batch = collate_items([{"image": x, "mask": m} for x, m in zip(images, masks)], 10_000)
    if isinstance(op, Normalize):
        return {}
    return ViewSpec(size=SIZE, crop=CenterCrop(1.0), ops=(op,)).sample(batch, seeds).ops[0]


@pytest.mark.parametrize("name", sorted(CASES))
def test_op_protocol(name, images, batch):
    """Params replay per sample, both backends give the reference, the engine's fused steps give
    ``apply``, p = 0 is the identity, the input is kept and the settings round-trip."""
    op, reference, tolerance = CASES[name]
    seeds = torch.arange(4, dtype=torch.int64) * 7919 + 1
    params = sample(op, images, seeds)
    for key, value in params.items():
        assert value.shape[0] == 4, key
        again = sample(op, images[2:], seeds[2:])[key]  # a sample's params depend only on its seed
        assert torch.equal(value[2:], again), key
    before = batch.clone()
    out = op.apply(batch, params)
    assert out.shape == batch.shape and out.dtype == torch.float32 and out.isfinite().all()
    assert torch.equal(batch, before)
    torch.testing.assert_close(op.apply(batch, params, backend="cpu"), out, atol=1e-5, rtol=0)
    fused = run_steps(images, fold_normalize(op.steps(params)), scale=255.0)  # uint8 in, as the engine does
    torch.testing.assert_close(fused, out, atol=2e-5, rtol=0)
    if callable(reference):  # on photos squeezed into [0.3, 0.7]: torchvision's per-step clamps change nothing
        mild = 0.3 + 0.4 * batch
        assert (op.apply(mild, params) - reference(mild, params)).abs().max() <= tolerance
    if not isinstance(op, Normalize):
        changed = ~torch.tensor([torch.equal(out[i], batch[i]) for i in range(4)])
        assert changed.any()
        still = type(op)(**_with_p0(op))
        assert torch.equal(still.apply(batch, sample(still, images, seeds)), batch)
    assert op_from_dict(op.to_dict()) == op


def _with_p0(op):
    settings = op.to_dict()
    settings.pop("type")
    settings["p"] = 0.0
    return {k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()}


def test_hue_equals_torchvision_on_uncompressed_photos(photos):
    """HSV hue as torchvision's adjust_hue on PNG-sourced skimage photos, full resolution, at
    SimCLR strength (0.2) and at 0.05 and 0.1 turns."""
    for key in ("astronaut", "coffee", "chelsea"):
        x = torch.from_numpy(photos[key]).permute(2, 0, 1).float() / 255
        for shift in (0.05, 0.1, -0.2):
            ours = adjust_hue(x[None], torch.tensor([shift]))[0]
            assert (ours - TF.adjust_hue(x, shift)).abs().mean() < 1e-6, (key, shift)


def test_cpu_hue_in_place_equals_torchvision(photos):
    """The OpenCV path, image by image in place (the engine's), as torchvision's adjust_hue."""
    x = torch.from_numpy(photos["astronaut"][::4, ::4].copy()).permute(2, 0, 1).float() / 255
    batch = torch.stack([x, x.flip(-1), x.flip(-2)])
    shift = torch.tensor([0.2, 0.0, -0.45])
    expected = torch.stack([TF.adjust_hue(image, float(s)) for image, s in zip(batch, shift)])
    out = adjust_hue(batch, shift, backend="cpu", inplace=True)
    assert out is batch
    assert (out - expected).abs().mean() < 1e-6 and (out - expected).abs().max() < 1e-5


def test_jitter_random_order_against_torchvision_per_sample(images, batch):
    """Each sample's factors in its own order, against torchvision's functions in that order; with
    SimCLR's strength only the single clamp at the end of a fused run differs (documented)."""
    op = ColorJitter(p=1.0, brightness=0.8, contrast=0.8, saturation=0.8, hue=0.2)
    seeds = torch.arange(128, dtype=torch.int64)
    many = TF.resize(images, [24, 24], antialias=True).repeat(32, 1, 1, 1)
    params = sample(op, many, seeds)
    assert len({tuple(o) for o in params["order"].tolist()}) >= 22  # (nearly) every order occurs
    x = many.float() / 255
    ours = op.apply(x, params)
    expected = per_sample(_jitter_reference)(x, params)
    difference = (ours - expected).abs()
    assert difference.mean() < 0.02
    # Where no intermediate value leaves [0, 1] the two are the same.
    mild = 0.35 + 0.3 * x
    gentle = ColorJitter(p=1.0, brightness=0.25, contrast=0.25, saturation=0.25, hue=0.2)
    params = sample(gentle, many, seeds)
    assert (gentle.apply(mild, params) - per_sample(_jitter_reference)(mild, params)).abs().max() < 2e-5


def test_contrast_after_hue_blends_towards_the_mean_of_the_hued_image(batch):
    """Hue splits the fused map: the contrast that follows it uses the actual image's mean."""
    op = ColorJitter(p=1.0)
    params = {"applied": torch.ones(4, dtype=torch.bool), "factors": torch.tensor([[1.0, 0.5, 1.0, 0.3]] * 4),
              "order": torch.tensor([[3, 1, 0, 2]] * 4)}
    hued = TF.adjust_hue(batch, 0.3)
    expected = TF.adjust_contrast(hued, 0.5)
    torch.testing.assert_close(op.apply(batch, params), expected, atol=1e-5, rtol=0)


def test_normalize_folds_into_the_colour_map_before_blur_and_solarize(images, batch):
    spec = ViewSpec(size=SIZE, crop=CenterCrop(1.0), ops=tuple(OPS.get(n)(p=1.0) for n in ("grayscale", "blur", "solarize")))
    seeds = torch.arange(4, dtype=torch.int64)
    collated = collate_items(list(images), 10_000)
    params = spec.sample(collated, seeds)
    views = spec.apply(collated, params, MEAN, STD, backend="batched")
    x = batch
    for op, p in zip(spec.ops, params.ops):
        x = op.apply(x, p)
    torch.testing.assert_close(views, TF.normalize(x, list(MEAN), list(STD)), atol=1e-4, rtol=0)
    steps = [s for op, p in zip(spec.ops, params.ops) for s in op.steps(p)] + Normalize(MEAN, STD).steps({})
    assert fold_normalize(steps)[1] is steps[-1]  # moved right after the gray map


def test_resized_crop_equals_torchvision_resized_crop(photos):
    image = torch.from_numpy(photos["astronaut"]).permute(2, 0, 1)
    boxes = torch.tensor([[0, 0, 512, 512], [100, 50, 300, 350], [300, 300, 340, 330]]).float()
    images = image.expand(3, -1, -1, -1)
    cpu = resized_crop(images, boxes, (96, 96), backend="cpu")
    batched = resized_crop(images.float(), boxes, (96, 96), backend="batched")
    for i, (x1, y1, x2, y2) in enumerate(boxes.int().tolist()):
        assert torch.equal(cpu[i], TF.resized_crop(image, y1, x1, y2 - y1, x2 - x1, [96, 96], antialias=True))
        ref = TF.resized_crop(image.float(), y1, x1, y2 - y1, x2 - x1, [96, 96], antialias=True)
        assert (batched[i] - ref).abs().max() < 1e-2  # the same filter in float32 (gray levels of 255)


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_cpu_crop_of_uint8_planes_equals_torchvision_at_any_channel_count(photos, channels):
    """The CPU kernel merges a uint8 crop's planes into channels-last pixels before resizing: the bytes of
    torchvision's resized_crop of the strided view, for shrinks, enlargements and flips, on a real photo."""
    rgb = torch.from_numpy(photos["chelsea"]).permute(2, 0, 1)
    image = torch.cat([rgb, rgb[:1]])[:channels]
    images = torch.zeros((8, channels, 320, 480), dtype=torch.uint8)  # a canvas wider and taller than the photo
    images[:, :, : image.shape[1], : image.shape[2]] = image
    generator = torch.Generator().manual_seed(channels)
    x1 = torch.randint(0, 400, (8,), generator=generator)
    y1 = torch.randint(0, 250, (8,), generator=generator)
    w = torch.randint(1, 451, (8,), generator=generator).minimum(451 - x1)
    h = torch.randint(1, 301, (8,), generator=generator).minimum(300 - y1)
    boxes = torch.stack([x1, y1, x1 + w, y1 + h], 1).float()
    flip = torch.arange(8) % 2 == 1
    views = resized_crop(images, boxes, (72, 96), flip=flip, backend="cpu")
    for i, (bx1, by1, bx2, by2) in enumerate(boxes.int().tolist()):
        expected = TF.resized_crop(images[i], by1, bx1, by2 - by1, bx2 - bx1, [72, 96], antialias=True)
        assert torch.equal(views[i], expected.flip(-1) if flip[i] else expected), (i, (bx1, by1, bx2, by2))


def test_crop_kernels_agree_on_fractional_and_outside_boxes(photos):
    image = torch.from_numpy(photos["coffee"]).permute(2, 0, 1)
    images = image.expand(4, -1, -1, -1).contiguous()
    boxes = torch.tensor([[0.3, 0.2, 600, 400], [120.5, 40.25, 376.7, 296.1], [-20, -10, 74, 74], [10, 10, 74, 74]])
    flip = torch.tensor([False, True, False, True])
    cpu = resized_crop(images, boxes, (64, 64), flip=flip, backend="cpu").float()
    batched = resized_crop(images, boxes, (64, 64), flip=flip, backend="batched", out_dtype=torch.float32)
    assert (cpu - batched).abs().max() <= 0.5 + 1e-3  # uint8 rounding only
    assert torch.equal(cpu[3], image[:, 10:74, 10:74].flip(-1).float())  # a box the size of the output: a copy
    outside = resized_crop(images[:1].float(), torch.tensor([[-100.0, -100.0, -50.0, -50.0]]), (8, 8))
    assert torch.equal(outside, torch.zeros_like(outside))


def test_blur_backends_agree_and_kernel_size_is_fixed(batch):
    sigma = torch.tensor([0.1, 0.8, 2.0, 0.0])
    batched = gaussian_blur(batch, sigma, 17, backend="batched")
    cpu = gaussian_blur(batch, sigma, 17, backend="cpu")
    assert torch.allclose(batched, cpu, atol=1e-5)
    assert torch.equal(batched[3], batch[3]) and torch.equal(cpu[3], batch[3])
    assert OPS.get("blur")(sigma=(0.1, 2.0)).taps == 17


def test_solarize_runs_after_normalisation(batch):
    flags = torch.tensor([True, False, True, True])
    out = solarize(batch, flags)
    mean, std = torch.tensor(MEAN), torch.tensor(STD)
    late = solarize(normalize(batch, MEAN, STD), flags, threshold=(0.5 - mean) / std, bound=(1 - 2 * mean) / std)
    assert torch.allclose(late, normalize(out, MEAN, STD), atol=1e-5)


def test_affine_and_channel_means_equal_numpy_on_uint8_and_float(batch):
    """Both kernels (one image at a time, uint8 converted per image; batched) against numpy."""
    u8 = (batch * 255).round().to(torch.uint8)
    generator = torch.Generator().manual_seed(0)
    matrix = torch.rand(4, 3, 3, generator=generator) / 100
    offset = torch.rand(4, 3, generator=generator) - 0.5
    low, high = torch.tensor([-0.2, -0.1, 0.0]), torch.tensor([0.9, 1.0, 1.1])
    pixels = u8.numpy().astype(np.float64).reshape(4, 3, -1)
    reference = np.einsum("bij,bjp->bip", matrix.double().numpy(), pixels) + offset.double().numpy()[:, :, None]
    for backend in ("cpu", "batched"):
        for images in (u8, u8.float()):
            out = apply_affine(images, matrix, offset, low, high, backend=backend)
            assert out.dtype == torch.float32 and out.shape == images.shape
            expected = np.clip(reference, low.numpy()[None, :, None], high.numpy()[None, :, None]).reshape(out.shape)
            np.testing.assert_allclose(out.numpy(), expected, atol=1e-5)
            scalar = apply_affine(images, matrix, offset, -0.1, 0.8, backend=backend).numpy()
            np.testing.assert_allclose(scalar, np.clip(reference, -0.1, 0.8).reshape(out.shape), atol=1e-5)
            np.testing.assert_allclose(channel_means(images, backend).numpy(), pixels.mean(2), rtol=1e-5)
    assert torch.equal(u8, (batch * 255).round().to(torch.uint8))  # input untouched
    expected = np.clip(reference, low.numpy()[None, :, None], high.numpy()[None, :, None]).reshape(u8.shape)
    work = u8.float()  # cpu: in place through one image of scratch, and rounded into uint8
    assert apply_affine(work, matrix, offset, low, high, out=work, backend="cpu") is work
    np.testing.assert_allclose(work.numpy(), expected, atol=1e-5)
    levels = torch.empty_like(u8)
    apply_affine(u8, matrix * 255, offset * 255, 0.0, 255.0, out=levels, backend="cpu")
    rounded = np.round(np.clip(reference * 255, 0, 255)).reshape(u8.shape)
    assert np.abs(levels.numpy().astype(np.float64) - rounded).max() <= 1


def test_bad_arguments_are_named(batch):
    with pytest.raises(ValueError, match="boxes"):
        resized_crop(batch, torch.zeros(3, 4), (8, 8))
    with pytest.raises(ValueError, match="images"):
        resized_crop(batch[0], torch.zeros(1, 4), (8, 8))
    with pytest.raises(ValueError, match="mode"):
        resized_crop(batch, torch.zeros(4, 4), (8, 8), mode="cubic")
    with pytest.raises(ValueError, match="sigma"):
        gaussian_blur(batch, torch.zeros(2), 5)
    with pytest.raises(ValueError, match="kernel_size"):
        gaussian_blur(batch, torch.ones(4), kernel_size=4)
    with pytest.raises(ValueError, match="flags"):
        solarize(batch, torch.ones(3, dtype=torch.bool))
    with pytest.raises(ValueError, match="shift"):
        adjust_hue(batch, torch.zeros(3))
    with pytest.raises(ValueError, match="color_jitter.hue"):
        ColorJitter(hue=0.7)
    with pytest.raises(ValueError, match="flip.p"):
        op_from_dict({"type": "flip", "p": 2})
