"""Per-sample affine colour maps ``x -> clamp(A x + b)``: the kernels of colour fusion."""

from __future__ import annotations

import cv2
import torch

from pairgen.ops.constants import constant

#: ITU-R 601-2 luma weights, as torchvision's ``rgb_to_grayscale``.
LUMA = (0.2989, 0.587, 0.114)


def luma(device) -> torch.Tensor:
    """:data:`LUMA` as a float32 tensor on ``device``."""
    return constant(LUMA, device)


def to_gray(device) -> torch.Tensor:
    """``(3, 3)`` matrix setting every channel to the luma."""
    return constant((LUMA, LUMA, LUMA), device)


def channel_means(images: torch.Tensor, backend: str = "batched") -> torch.Tensor:
    """``(B, C)`` float32 mean of each channel of each image of a ``(B, C, H, W)`` batch.

    Never copies a uint8 batch whole to float: ``"cpu"`` plane by plane (OpenCV's sum
    for uint8), ``"batched"`` one reduction with a float32 accumulator.

    Example:
        >>> channel_means(torch.full((2, 3, 4, 4), 7, dtype=torch.uint8)).tolist()[0]
        [7.0, 7.0, 7.0]
    """
    n, c = images.shape[:2]
    if backend != "cpu" or n == 0:
        return images.sum((2, 3), dtype=torch.float32) / (images.shape[2] * images.shape[3])
    if images.dtype == torch.uint8 and images.is_contiguous():  # OpenCV's exact SIMD sum, no float copy
        return torch.tensor([[cv2.mean(plane)[0] for plane in image] for image in images.numpy()], dtype=torch.float32)
    return torch.stack([image.reshape(c, -1).float().mean(1) for image in images])


def apply_affine(
    images: torch.Tensor,
    matrix: torch.Tensor,
    offset: torch.Tensor,
    low: float | torch.Tensor = 0.0,
    high: float | torch.Tensor = 1.0,
    out: torch.Tensor | None = None,
    backend: str = "batched",
) -> torch.Tensor:
    """``clamp(A x + b, low, high)`` per pixel, float32 (or uint8, rounded, into a uint8 ``out``).

    ``"batched"``: one batched matrix product. ``"cpu"``: one small product per image,
    converting that image (uint8 stays uint8 until then) and clamping it while it is
    in cache, through one image of scratch: ``out`` may then be ``images`` itself
    (in place) or uint8. A batch-wide float copy, product and clamp each stream the
    whole batch through memory, and every fresh batch-sized tensor is page-faulted
    in on first touch: several times slower there.

    Args:
        images: ``(B, 3, H, W)`` float, or uint8 read as is (fold ``1/255`` into ``matrix``).
        matrix: ``(B, 3, 3)``.
        offset: ``(B, 3)``.
        low: lower clamp bound, a scalar or a per-channel ``(3,)`` tensor.
        high: upper clamp bound, likewise.
        out: optional contiguous tensor of the result's shape and device to write into:
            float32, or on ``"cpu"`` also uint8 (values rounded) or ``images`` itself.
    """
    n, c, h, w = images.shape
    dtypes = (torch.float32, torch.uint8) if backend == "cpu" else (torch.float32,)
    if out is not None and (out.shape != images.shape or out.dtype not in dtypes or out.device != images.device
                            or not out.is_contiguous()):
        raise ValueError(f"out must be a contiguous {' or '.join(map(str, dtypes))} tensor of shape "
                         f"{tuple(images.shape)} on {images.device}, got {out.dtype} {tuple(out.shape)} on {out.device}")
    matrix, offset = matrix.float(), offset.float()
    per_channel = isinstance(low, torch.Tensor)
    if backend == "cpu":
        out = torch.empty((n, c, h, w), dtype=torch.float32, device=images.device) if out is None else out
        if per_channel:
            low, high = low.view(-1, 1), high.view(-1, 1)
        direct = out.dtype == torch.float32 and out.untyped_storage().data_ptr() != images.untyped_storage().data_ptr()
        scratch = None if direct else torch.empty((c, h * w), dtype=torch.float32, device=images.device)
        for i in range(n):
            source, plane = images[i].reshape(c, h * w), out[i].view(c, h * w)
            result = plane if direct else scratch
            torch.addmm(offset[i, :, None], matrix[i], source if source.dtype == torch.float32 else source.float(),
                        out=result)
            if per_channel:  # maximum/minimum in place: several times faster than clamp_ with tensor bounds
                torch.maximum(result, low, out=result)
                torch.minimum(result, high, out=result)
            else:
                result.clamp_(low, high)
            if not direct:
                plane.copy_(result.round_() if out.dtype == torch.uint8 else result)
        return out
    flat = torch.baddbmm(offset[:, :, None], matrix, images.reshape(n, c, h * w).float())
    if per_channel:
        flat = torch.minimum(torch.maximum(flat, low.view(1, -1, 1)), high.view(1, -1, 1))
    else:
        flat = flat.clamp(low, high)
    if out is None:
        return flat.view(n, c, h, w)
    out.view(n, c, h * w).copy_(flat)
    return out
