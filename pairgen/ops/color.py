"""Colour jitter and grayscale as one per-sample affine colour map.

torchvision's ``ColorJitter`` applies brightness, contrast, saturation and hue in a
random order, clamping to ``[0, 1]`` after each step. Brightness, contrast and
saturation are affine maps of RGB, so pairgen composes them in each sample's own
order into one ``3 x 3`` matrix and offset, applied in a single batched matrix
product and clamped once. Two documented differences from torchvision:

* clamping happens once at the end, not after every step (identical whenever no
  intermediate value leaves ``[0, 1]``);
* hue is a rotation of the chroma plane in YIQ space (as NVIDIA DALI's ``Hue``)
  instead of a shift of the HSV hue channel: same angle and direction, but luma is
  kept where HSV keeps the maximum channel (``tests/test_ops.py`` bounds the
  difference on photos).

Grayscale (ITU-R 601 luma, as torchvision) is one more matrix in the product.
"""

from __future__ import annotations

import math

import torch

#: ITU-R 601-2 luma weights, as torchvision's ``rgb_to_grayscale``.
LUMA = (0.2989, 0.587, 0.114)

_RGB_TO_YIQ = torch.tensor(
    [[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]],
    dtype=torch.float64,
)
_YIQ_TO_RGB = torch.linalg.inv(_RGB_TO_YIQ)  # once here: on a GPU the inverse checks its result with a sync

BRIGHTNESS, CONTRAST, SATURATION, HUE = range(4)


def _luma(device, dtype) -> torch.Tensor:
    return torch.tensor(LUMA, device=device, dtype=dtype)


def _hue_matrices(hue: torch.Tensor) -> torch.Tensor:
    """``(B, 3, 3)`` rotations by ``hue`` turns about the gray axis, in YIQ space."""
    yiq, rgb = _RGB_TO_YIQ.to(hue.device), _YIQ_TO_RGB.to(hue.device)
    angle = hue.double() * (-2 * math.pi)  # HSV hue turns red towards green; so does -angle in IQ
    cos, sin = torch.cos(angle), torch.sin(angle)
    rot = torch.zeros(len(hue), 3, 3, dtype=torch.float64, device=hue.device)
    rot[:, 0, 0] = 1
    rot[:, 1, 1], rot[:, 1, 2] = cos, -sin
    rot[:, 2, 1], rot[:, 2, 2] = sin, cos
    return (rgb @ rot @ yiq).to(hue.dtype)


def color_affine(
    jitter: torch.Tensor,
    order: torch.Tensor,
    grayscale: torch.Tensor,
    mean_rgb: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The per-sample affine colour map ``x -> A x + b`` of jitter then grayscale.

    Args:
        jitter: ``(B, 4)`` brightness, contrast, saturation factors and hue shift (turns).
        order: ``(B, 4)`` permutation of ``BRIGHTNESS, CONTRAST, SATURATION, HUE``.
        grayscale: ``(B,)`` bool.
        mean_rgb: ``(B, 3)`` mean colour of each input image in ``[0, 1]`` (contrast
            blends towards the mean gray of the image it is applied to).

    Returns:
        ``A`` ``(B, 3, 3)`` and ``b`` ``(B, 3)``, float32.
    """
    n, device = len(jitter), jitter.device
    jitter = jitter.float()
    eye = torch.eye(3, device=device).expand(n, 3, 3)
    luma = _luma(device, torch.float32)
    to_gray = torch.ones(3, 1, device=device) * luma[None, :]  # every channel <- luma
    matrix, offset = eye.clone(), torch.zeros(n, 3, device=device)
    hue = _hue_matrices(jitter[:, HUE])
    for step in range(4):
        kind = order[:, step]
        # Every sample takes its own step: compute each candidate map, keep the chosen one.
        b = jitter[:, BRIGHTNESS, None, None]
        s = jitter[:, SATURATION, None, None]
        c = jitter[:, CONTRAST, None, None]
        step_matrix = torch.where(
            (kind == BRIGHTNESS)[:, None, None],
            b * eye,
            torch.where(
                (kind == SATURATION)[:, None, None],
                s * eye + (1 - s) * to_gray,
                torch.where((kind == CONTRAST)[:, None, None], c * eye, hue),
            ),
        )
        gray_mean = (matrix @ mean_rgb.float()[:, :, None])[:, :, 0] + offset
        gray_mean = (gray_mean * luma).sum(1, keepdim=True)
        step_offset = torch.where((kind == CONTRAST)[:, None], (1 - c[:, :, 0]) * gray_mean, 0.0)
        matrix = step_matrix @ matrix
        offset = (step_matrix @ offset[:, :, None])[:, :, 0] + step_offset
    gray = grayscale.bool()[:, None, None]
    matrix = torch.where(gray, to_gray @ matrix, matrix)
    offset = torch.where(gray[:, :, 0], (to_gray @ offset[:, :, None])[:, :, 0], offset)
    return matrix, offset


def channel_means(images: torch.Tensor) -> torch.Tensor:
    """``(B, C)`` float32 mean of each channel of each image of a ``(B, C, H, W)`` batch.

    On CPUs image by image, so a uint8 batch is never copied whole to float.

    Example:
        >>> channel_means(torch.full((2, 3, 4, 4), 7, dtype=torch.uint8)).tolist()[0]
        [7.0, 7.0, 7.0]
    """
    n, c = images.shape[:2]
    if images.device.type != "cpu" or n == 0:
        return images.float().mean((2, 3))
    return torch.stack([image.reshape(c, -1).float().mean(1) for image in images])


def apply_affine(
    images: torch.Tensor,
    matrix: torch.Tensor,
    offset: torch.Tensor,
    low: float | torch.Tensor = 0.0,
    high: float | torch.Tensor = 1.0,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """``clamp(A x + b, low, high)`` per pixel.

    On GPUs one batched matrix product. On CPUs one small product per image,
    converting that image (uint8 stays uint8 until then) and clamping it while it
    is in cache: a batch-wide float copy, product and clamp each stream the whole
    batch through memory, several times slower there.

    Args:
        images: ``(B, 3, H, W)`` float (or uint8, read as is: fold ``1/255`` into ``matrix``).
        matrix: ``(B, 3, 3)``; offset: ``(B, 3)``.
        low, high: clamp bounds, scalars or per-channel ``(3,)`` tensors.
        out: optional contiguous tensor of the result's shape, dtype and device to
            write into (for example one in shared memory).

    Returns:
        A float tensor (the input's dtype when it is floating, else float32): ``out``
        when given, else a new one.
    """
    n, c, h, w = images.shape
    dtype = images.dtype if images.is_floating_point() else torch.float32
    if out is None:
        out = torch.empty((n, c, h, w), dtype=dtype, device=images.device)
    elif out.shape != images.shape or out.dtype != dtype or out.device != images.device or not out.is_contiguous():
        raise ValueError(f"out must be a contiguous {dtype} tensor of shape {tuple(images.shape)} on "
                         f"{images.device}, got {out.dtype} {tuple(out.shape)} on {out.device}")
    matrix, offset = matrix.to(dtype), offset.to(dtype)
    if images.device.type == "cpu":
        return _apply_affine_each(images, matrix, offset, low, high, out)
    flat = images.reshape(n, c, h * w).to(dtype)
    torch.baddbmm(offset[:, :, None], matrix, flat, out=out.view(n, c, h * w))
    if isinstance(low, torch.Tensor):
        low, high = low.to(out).view(1, -1, 1, 1), high.to(out).view(1, -1, 1, 1)
    return out.clamp_(low, high)


def _apply_affine_each(images, matrix, offset, low, high, out):
    n, c, h, w = images.shape
    dtype = out.dtype
    per_channel = isinstance(low, torch.Tensor)
    if per_channel:
        low, high = low.to(dtype).view(-1, 1), high.to(dtype).view(-1, 1)
    for i in range(n):
        plane = out[i].view(c, h * w)
        torch.addmm(offset[i, :, None], matrix[i], images[i].reshape(c, h * w).to(dtype), out=plane)
        if per_channel:  # maximum/minimum in place: several times faster than clamp_ with tensor bounds
            torch.maximum(plane, low, out=plane)
            torch.minimum(plane, high, out=plane)
        else:
            plane.clamp_(low, high)
    return out


def color_jitter(
    images: torch.Tensor,
    jitter: torch.Tensor,
    order: torch.Tensor,
    grayscale: torch.Tensor | None = None,
) -> torch.Tensor:
    """Colour-jitter (and optionally gray) a float batch in ``[0, 1]``.

    Example:
        >>> x = torch.rand(2, 3, 8, 8)
        >>> identity = torch.tensor([[1.0, 1.0, 1.0, 0.0]] * 2)
        >>> order = torch.arange(4).expand(2, 4)
        >>> torch.allclose(color_jitter(x, identity, order), x, atol=1e-6)
        True
    """
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"images must be (B, 3, H, W), got shape {tuple(images.shape)}")
    if grayscale is None:
        grayscale = torch.zeros(len(images), dtype=torch.bool, device=images.device)
    matrix, offset = color_affine(jitter, order, grayscale, images.float().mean((2, 3)))
    return apply_affine(images, matrix, offset)
