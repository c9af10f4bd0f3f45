"""The fused render (pairgen.kernels): the torch reference against torchvision and pairgen's
batched ops, and the Triton kernels against both, on real photos. Without a GPU the kernels
run in Triton's interpreter (TRITON_INTERPRET=1, set here before they are imported)."""

from __future__ import annotations

import os

import pytest
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

from pairgen.kernels import reference, triton_available
from pairgen.kernels.arguments import LUMA
from pairgen.ops.blur import gaussian_blur
from pairgen.ops.color import apply_affine, channel_means, color_affine
from pairgen.ops.normalize import IMAGENET_MEAN, IMAGENET_STD, normalize
from pairgen.ops.resized_crop import resized_crop
from pairgen.ops.solarize import solarize

if triton_available() and not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")
fused = None
if triton_available():
    try:
        from pairgen.kernels import fused
    except Exception:  # a Triton that cannot import here (no driver, broken install)
        fused = None
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
needs_triton = pytest.mark.skipif(
    fused is None or (DEVICE == "cpu" and not fused.INTERPRETED),
    reason="Triton cannot import here, or its kernels were imported without TRITON_INTERPRET=1 and no GPU")

TOLERANCE = 2e-3
SYNC_OPS = ("_local_scalar_dense", "item", "nonzero", "is_nonzero", "masked_select")


@pytest.fixture(scope="module")
def canvas(photos) -> torch.Tensor:
    """Three real photos, area-shrunk to 40 x 56, on a zero-padded 48 x 64 uint8 canvas (as collate builds)."""
    out = torch.zeros(3, 3, 48, 64, dtype=torch.uint8)
    for i, name in enumerate(("astronaut", "coffee", "chelsea")):
        image = torch.from_numpy(photos[name]).permute(2, 0, 1)[None].float()
        out[i, :, :40, :56] = F.interpolate(image, size=(40, 56), mode="area")[0].round().byte()
    return out.to(DEVICE)


def _identity(n):
    return torch.eye(3, 4).repeat(n, 1, 1)


def _params(n: int, seed: int) -> dict:
    """Per-view params: boxes from 6 to 40 px (some past the canvas's edge, one degenerate),
    random colour maps, hue shifts (some 0), flips, grayscale and solarize thresholds."""
    g = torch.Generator().manual_seed(seed)
    u = lambda *shape: torch.rand(*shape, generator=g)  # noqa: E731
    corner = u(n, 2) * torch.tensor([50.0, 36.0]) - 4
    boxes = torch.cat([corner, corner + 6 + u(n, 2) * 34], 1)
    boxes[-1, 2] = boxes[-1, 0]  # zero width: roi_align renders zeros
    brightness = 0.6 + 0.8 * u(n, 1, 1)
    affine1 = _identity(n) * brightness
    affine1[:, :, 3] = 0.1 * (u(n, 3) - 0.5)
    saturation = 2 * u(n, 1, 1)
    affine2 = _identity(n)
    affine2[:, :, :3] = saturation * torch.eye(3) + (1 - saturation) * torch.tensor(LUMA)[None, None, :]
    affine2[:, :, 3] = 0.05 * (u(n, 3) - 0.5)
    hue = torch.where(u(n) < 0.25, 0.0, u(n) - 0.5)
    solarize_at = torch.where(u(n) < 0.5, 2.0, u(n))
    return {"index": torch.arange(n) % 3, "boxes": boxes, "flip": u(n) < 0.5, "affine1": affine1, "hue": hue,
            "affine2": affine2, "grayscale": u(n) < 0.3, "solarize": solarize_at, "blur_sigma": 2 * u(n) * (u(n) < 0.7)}


def _on(device, params: dict) -> dict:
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in params.items()}


def _split(params: dict) -> tuple[torch.Tensor, dict]:
    params = dict(params)
    return params.pop("boxes"), params


class SyncCounter(TorchDispatchMode):
    """Counts the aten ops that make the host wait for the device."""

    def __init__(self):
        super().__init__()
        self.syncs = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.__name__.split(".")[0]
        if name in SYNC_OPS:
            self.syncs.append(name)
        return func(*args, **(kwargs or {}))


# --------------------------------------------------------------------------- the reference


def test_reference_hue_is_torchvisions_adjust_hue(photos):
    from torchvision.transforms.functional import adjust_hue

    shifts = torch.tensor([-0.5, -0.31, -0.1, -0.01, 0.02, 0.17, 0.33, 0.5])
    for name in ("astronaut", "coffee", "chelsea"):
        image = torch.from_numpy(photos[name][::4, ::4].copy()).permute(2, 0, 1).float() / 255
        got = reference.adjust_hue(image.expand(len(shifts), -1, -1, -1), shifts)
        for k, shift in enumerate(shifts.tolist()):
            assert (got[k] - adjust_hue(image, shift)).abs().max() < 1e-5, (name, shift)


def test_reference_blur_is_pairgens_batched_blur(canvas):
    views = reference.render_views(canvas, torch.tensor([[0.0, 0, 56, 40]] * 3, device=DEVICE), (30, 42))
    sigma = torch.tensor([0.0, 0.7, 2.0], device=DEVICE)
    want = gaussian_blur(views, sigma, kernel_size=17, backend="batched")
    got = reference._blur(views, sigma, 8)
    assert (got - want).abs().max() < 1e-5
    assert torch.equal(got[0], views[0])  # sigma 0 keeps the view


def _batched_path(canvas, params, size):
    """pairgen's current batched ops on the same params: roi_align crops (of the canvas as
    float: a uint8 canvas would round the crops), the fused YIQ colour map, blur, solarize,
    normalize. Returns the views and (A1, solarize thresholds) for the kernels."""
    index = params["index"]
    crops = resized_crop(canvas.float()[index], params["boxes"], size, flip=params["flip"], backend="batched")
    g = torch.Generator().manual_seed(3)
    n = len(index)
    low, high = torch.tensor([0.2, 0.2, 0.2, -0.2]), torch.tensor([1.8, 1.8, 1.8, 0.2])
    jitter = (low + torch.rand(n, 4, generator=g) * (high - low)).to(canvas.device)
    order = torch.rand(n, 4, generator=g).argsort(1).to(canvas.device)
    matrix, offset = color_affine(jitter, order, params["grayscale"], channel_means(crops) / 255)
    views = apply_affine(crops / 255, matrix, offset)
    views = gaussian_blur(views, params["blur_sigma"], kernel_size=17, backend="batched")
    flags = params["solarize"] <= 1
    views = normalize(solarize(views, flags, 0.5), IMAGENET_MEAN, IMAGENET_STD)
    affine1 = torch.cat([matrix, offset[:, :, None]], 2)
    return views, affine1, torch.where(flags, 0.5, 2.0)


def _kernel_args(params, affine1, thresholds):
    return {"index": params["index"], "flip": params["flip"], "affine1": affine1, "solarize": thresholds,
            "blur_sigma": params["blur_sigma"], "blur_kernel_size": 17, "mean": IMAGENET_MEAN, "std": IMAGENET_STD}


def test_reference_matches_pairgens_batched_ops(canvas):
    params = _on(DEVICE, _params(8, seed=1))
    want, affine1, thresholds = _batched_path(canvas, params, (16, 20))
    got = reference.render_views(canvas, params["boxes"], (16, 20), **_kernel_args(params, affine1, thresholds))
    assert (got - want).abs().max() < 1e-4


def test_reference_view_means_are_the_crops_means(canvas):
    params = _on(DEVICE, _params(8, seed=2))
    crops = resized_crop(canvas.float()[params["index"]], params["boxes"], (16, 20), backend="batched") / 255
    got = reference.view_means(canvas, params["boxes"], (16, 20), index=params["index"])
    assert (got - crops.mean((2, 3))).abs().max() < 1e-6
    # With affine1 and hue: the mean of what the hue step returns.
    shifted = reference.adjust_hue(torch.einsum("nij,njhw->nihw", params["affine1"][:, :, :3], crops).add(
        params["affine1"][:, :, 3, None, None]).clamp(0, 1), params["hue"])
    got = reference.view_means(canvas, params["boxes"], (16, 20), index=params["index"], affine1=params["affine1"],
                               hue=params["hue"])
    moved = params["hue"] != 0
    assert (got[moved] - shifted[moved].mean((2, 3))).abs().max() < 1e-5


def test_reference_dtypes_and_layout(canvas):
    boxes, options = _split(_on(DEVICE, _params(6, seed=4)))
    options.update(blur_kernel_size=9)
    plain = reference.render_views(canvas, boxes, (12, 16), **options)
    as_uint8 = reference.render_views(canvas, boxes, (12, 16), dtype=torch.uint8, **options)
    assert as_uint8.dtype == torch.uint8
    assert torch.equal(as_uint8, torch.floor(plain * 255 + 0.5).to(torch.uint8))
    normalized = reference.render_views(canvas, boxes, (12, 16), mean=IMAGENET_MEAN, std=IMAGENET_STD, **options)
    bf16 = reference.render_views(canvas, boxes, (12, 16), mean=IMAGENET_MEAN, std=IMAGENET_STD,
                                  dtype=torch.bfloat16, channels_last=True, **options)
    assert bf16.dtype == torch.bfloat16 and bf16.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(bf16, normalized.to(torch.bfloat16))


def test_reference_makes_no_host_sync(canvas):
    boxes, options = _split(_on(DEVICE, _params(6, seed=5)))
    with SyncCounter() as counter:
        reference.render_views(canvas, boxes, (12, 16), blur_kernel_size=9, mean=IMAGENET_MEAN, std=IMAGENET_STD,
                               **options)
        reference.view_means(canvas, boxes, (12, 16), index=options["index"], affine1=options["affine1"],
                             hue=options["hue"])
    assert counter.syncs == []


@pytest.mark.parametrize("change, message", [
    ({"canvas": torch.zeros(2, 4, 8, 8, dtype=torch.uint8)}, "canvas must be a \\(B, 3, H, W\\)"),
    ({"canvas": torch.zeros(2, 3, 8, 8, dtype=torch.int32)}, "canvas must be uint8 or floating"),
    ({"boxes": torch.zeros(2, 3)}, "boxes must be an \\(N, 4\\)"),
    ({"boxes": torch.zeros(3, 4)}, "pass index="),
    ({"size": (0, 4)}, "size must be a positive"),
    ({"flip": torch.zeros(2)}, "flip must be a bool tensor"),
    ({"affine1": torch.zeros(2, 3, 3)}, "affine1 must have shape \\(2, 3, 4\\)"),
    ({"hue": [0.1, 0.2]}, "hue must be a tensor"),
    ({"blur_sigma": torch.ones(2)}, "blur_kernel_size is required"),
    ({"blur_sigma": torch.ones(2), "blur_kernel_size": 4}, "blur_kernel_size must be a positive odd"),
    ({"mean": (0.5, 0.5, 0.5)}, "mean and std must be given together"),
    ({"mean": (0.5,) * 3, "std": (0.0, 1.0, 1.0)}, "std must be positive"),
    ({"mean": (0.5,) * 3, "std": (0.2,) * 3, "dtype": torch.uint8}, "normalise them on the model's device"),
    ({"dtype": torch.float16}, "dtype must be one of"),
])
def test_arguments_are_checked(change, message):
    call = {"canvas": torch.zeros(2, 3, 8, 8, dtype=torch.uint8), "boxes": torch.zeros(2, 4), "size": (4, 4)}
    call.update(change)
    for render in [reference.render_views] + ([fused.render_views] if fused is not None else []):
        with pytest.raises((ValueError, TypeError), match=message):
            render(call["canvas"], call["boxes"], call["size"],
                   **{k: v for k, v in call.items() if k not in ("canvas", "boxes", "size")})


# --------------------------------------------------------------------------- the Triton kernels


def _max_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.float() - b.float()).abs().max())


@needs_triton
def test_fused_equals_the_reference(canvas):
    boxes, options = _split(_on(DEVICE, _params(8, seed=11)))
    del options["blur_sigma"]
    for size in ((16, 20), (24, 24)):  # 24 x 24: two pixel blocks per view
        want = reference.render_views(canvas, boxes, size, mean=IMAGENET_MEAN, std=IMAGENET_STD, **options)
        got = fused.render_views(canvas, boxes, size, mean=IMAGENET_MEAN, std=IMAGENET_STD, **options)
        assert got.shape == want.shape and got.dtype == torch.float32
        assert _max_difference(got, want) <= TOLERANCE


@pytest.mark.slow
@needs_triton
def test_fused_blur_equals_the_reference(canvas):
    boxes, options = _split(_on(DEVICE, _params(6, seed=12)))
    options["blur_sigma"][:2] = torch.tensor([0.0, 2.0])
    for size, kernel_size in (((14, 18), 17), ((6, 8), 17)):  # 6 x 8: the kernel shrinks below the view
        want = reference.render_views(canvas, boxes, size, blur_kernel_size=kernel_size, mean=IMAGENET_MEAN,
                                      std=IMAGENET_STD, **options)
        got = fused.render_views(canvas, boxes, size, blur_kernel_size=kernel_size, mean=IMAGENET_MEAN,
                                 std=IMAGENET_STD, **options)
        assert _max_difference(got, want) <= TOLERANCE


@needs_triton
def test_fused_matches_pairgens_batched_ops(canvas):
    params = _on(DEVICE, _params(8, seed=13))
    want, affine1, thresholds = _batched_path(canvas, params, (16, 20))
    got = fused.render_views(canvas, params["boxes"], (16, 20), **_kernel_args(params, affine1, thresholds))
    assert _max_difference(got, want) <= TOLERANCE


@needs_triton
def test_fused_output_dtypes_and_channels_last(canvas):
    boxes, options = _split(_on(DEVICE, _params(6, seed=14)))
    options["blur_kernel_size"] = 9
    want = reference.render_views(canvas, boxes, (12, 16), **options)
    as_uint8 = fused.render_views(canvas, boxes, (12, 16), dtype=torch.uint8, channels_last=True, **options)
    assert as_uint8.dtype == torch.uint8 and as_uint8.is_contiguous(memory_format=torch.channels_last)
    assert _max_difference(as_uint8, torch.floor(want * 255 + 0.5)) <= 1
    normalized = normalize(want, IMAGENET_MEAN, IMAGENET_STD)
    bf16 = fused.render_views(canvas, boxes, (12, 16), dtype=torch.bfloat16, mean=IMAGENET_MEAN, std=IMAGENET_STD,
                              **options)
    assert bf16.dtype == torch.bfloat16
    # bfloat16 keeps 8 significant bits: GPUs round to nearest (half a unit in the last place),
    # Triton 3.8's interpreter truncates (a whole unit).
    assert ((bf16.float() - normalized).abs() <= normalized.abs() * 2**-7 + TOLERANCE).all()


@needs_triton
def test_fused_view_means_equal_the_reference(canvas):
    params = _on(DEVICE, _params(8, seed=15))
    for extra in ({}, {"affine1": params["affine1"], "hue": params["hue"]}):
        want = reference.view_means(canvas, params["boxes"], (16, 20), index=params["index"], **extra)
        got = fused.view_means(canvas, params["boxes"], (16, 20), index=params["index"], **extra)
        assert _max_difference(got, want) <= 1e-5


@needs_triton
def test_fused_reads_any_canvas_layout_and_dtype(canvas):
    boxes, options = _split(_on(DEVICE, _params(3, seed=17)))
    del options["index"], options["blur_sigma"]  # one view per canvas image
    want = reference.render_views(canvas, boxes, (8, 12), **options)
    larger = torch.zeros(3, 3, 56, 72, dtype=torch.uint8, device=DEVICE)
    larger[:, :, 4:52, 2:66] = canvas
    for layout in (canvas.contiguous(memory_format=torch.channels_last), canvas.float(), larger[:, :, 4:52, 2:66]):
        assert _max_difference(fused.render_views(layout, boxes, (8, 12), **options), want) <= TOLERANCE


@needs_triton
def test_fused_launches_make_no_host_sync(canvas):
    boxes, options = _split(_on(DEVICE, _params(4, seed=16)))
    with SyncCounter() as counter:
        fused.render_views(canvas, boxes, (8, 8), blur_kernel_size=5, mean=IMAGENET_MEAN, std=IMAGENET_STD,
                           **options)
        fused.view_means(canvas, boxes, (8, 8), index=options["index"], hue=options["hue"])
    assert counter.syncs == []

