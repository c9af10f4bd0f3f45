"""Batched crop-and-resize with antialiasing: every view of a batch, box by box.

The filter is torch's ``interpolate(mode="bilinear", antialias=True)`` of the crop
(torchvision's ``resized_crop`` with ``antialias=True``, PIL's bilinear): a triangle
of half-width ``max(1, box / output)`` input pixels, normalised over the box's pixels.
It is separable, so a view is ``Wy @ crop @ Wx^T`` with two small weight matrices
per sample computed from its box.
"""

from __future__ import annotations

import cv2
import torch
import torch.nn.functional as F

#: Images converted to float at once by the batched kernel (bounds its extra memory).
CHUNK = 32
BACKENDS = ("auto", "batched", "cpu")


def resized_crop(
    images: torch.Tensor,
    boxes: torch.Tensor,
    size: tuple[int, int],
    flip: torch.Tensor | None = None,
    backend: str = "auto",
    mode: str = "bilinear",
    out_dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Crop ``boxes`` out of ``images`` and resize each crop to ``size``.

    Two kernels, the same filter. ``"batched"``: the separable weight matrices of
    every box applied with two batched matrix products (no host sync; uint8 images
    are converted to float :data:`CHUNK` images at a time, never whole). ``"cpu"``:
    per sample, a box of whole pixels inside the image is resized by torch's SIMD
    uint8 antialiased ``interpolate``; any other box by the weight matrices. The
    choice depends on the sample's box only, never on the rest of the batch. Pixels
    outside ``images`` are left out of the filter (the canvas padding reads as zero).
    ``mode="nearest"`` takes the pixel under each output pixel's centre, keeping
    label values (masks).

    Args:
        images: ``(B, C, H, W)`` uint8 or floating tensor.
        boxes: ``(B, 4)`` boxes ``x1, y1, x2, y2`` in ``images``' pixel coordinates
            (pixel ``i`` spans ``[i, i + 1)``).
        size: output ``(height, width)``.
        flip: optional ``(B,)`` bool; flagged crops are mirrored left-right.
        backend: ``"auto"`` (``"cpu"`` for CPU tensors), ``"batched"`` or ``"cpu"``.
        mode: ``"bilinear"`` (antialiased) or ``"nearest"``.
        out_dtype: dtype of the result (default ``images``' dtype; uint8 is rounded).

    Returns:
        ``(B, C, height, width)`` on the device of ``images``.

    Example:
        >>> x = torch.rand(2, 3, 64, 64)
        >>> resized_crop(x, torch.tensor([[0, 0, 32, 32], [8, 8, 64, 40.]]), (16, 16)).shape
        torch.Size([2, 3, 16, 16])
    """
    if images.dim() != 4:
        raise ValueError(f"images must be (B, C, H, W), got shape {tuple(images.shape)}")
    if boxes.shape != (images.shape[0], 4):
        raise ValueError(f"boxes must be ({images.shape[0]}, 4), got {tuple(boxes.shape)}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if mode not in ("bilinear", "nearest"):
        raise ValueError(f"mode must be 'bilinear' or 'nearest', got {mode!r}")
    out_dtype = images.dtype if out_dtype is None else out_dtype
    height, width = size
    if images.shape[0] == 0:
        return images.new_zeros((0, images.shape[1], height, width), dtype=out_dtype)
    boxes = boxes.float()
    if mode == "nearest":
        return _nearest(images, boxes, size, flip).to(out_dtype)
    if backend == "cpu" or (backend == "auto" and images.device.type == "cpu"):
        return _cpu(images, boxes, size, flip, out_dtype)
    return _finish(_separable(images, boxes, size, flip), out_dtype)


def axis_weights(start: torch.Tensor, length: torch.Tensor, out_size: int, in_size: int) -> torch.Tensor:
    """``(B, out_size, in_size)`` antialiased bilinear weights resampling ``[start, start + length)``
    of an axis of ``in_size`` pixels to ``out_size`` (torch's ``antialias=True`` filter)."""
    scale = (length / out_size).clamp_min(1e-6)
    support = scale.clamp_min(1.0)
    steps = torch.arange(out_size, device=start.device, dtype=torch.float32) + 0.5
    centres = start[:, None] + scale[:, None] * steps[None, :]
    pixels = torch.arange(in_size, device=start.device, dtype=torch.float32) + 0.5
    distance = (pixels[None, None, :] - centres[:, :, None]).abs() / support[:, None, None]
    inside = (pixels[None, :] > start[:, None]) & (pixels[None, :] < (start + length)[:, None])
    weights = (1 - distance).clamp_min(0) * inside[:, None, :]
    return weights / weights.sum(-1, keepdim=True).clamp_min(1e-12)


def _separable(images, boxes, size, flip):
    n, _, in_h, in_w = images.shape
    wy = axis_weights(boxes[:, 1], boxes[:, 3] - boxes[:, 1], size[0], in_h)
    wx = axis_weights(boxes[:, 0], boxes[:, 2] - boxes[:, 0], size[1], in_w)
    if flip is not None:
        wx = torch.where(flip.view(-1, 1, 1), wx.flip(1), wx)
    wx = wx.transpose(1, 2)[:, None]
    wy = wy[:, None]
    work = torch.float64 if images.dtype == torch.float64 else torch.float32
    parts = [wy[i : i + CHUNK].to(work) @ images[i : i + CHUNK].to(work) @ wx[i : i + CHUNK].to(work)
             for i in range(0, n, CHUNK)]
    return parts[0] if len(parts) == 1 else torch.cat(parts)


def _finish(out: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    if dtype == torch.uint8:
        return out.round().clamp(0, 255).to(torch.uint8)
    return out.to(dtype)


def _cpu(images, boxes, size, flip, out_dtype):
    n, _, in_h, in_w = images.shape
    out = torch.empty((n, images.shape[1], *size), dtype=out_dtype)
    whole = boxes.round()
    aligned = ((whole - boxes).abs() < 1e-4).all(1) & (whole[:, :2] >= 0).all(1) & (whole[:, 2] <= in_w)
    aligned &= (whole[:, 3] <= in_h) & (whole[:, 2:] > whole[:, :2]).all(1)
    flips = flip.tolist() if flip is not None else [False] * n
    for i, ((x1, y1, x2, y2), fast, mirrored) in enumerate(zip(whole.long().tolist(), aligned.tolist(), flips)):
        if fast:
            crop = images[i, :, y1:y2, x1:x2]
            crop = channels_last(crop) if crop.dtype == torch.uint8 else crop[None]
            crop = F.interpolate(crop, size=size, mode="bilinear", antialias=True, align_corners=False)
            crop = crop.flip(-1) if mirrored else crop
            out[i : i + 1] = crop if crop.dtype == out_dtype else _finish(crop.float(), out_dtype)
        else:
            mirror = None if flip is None else flip[i : i + 1]
            out[i : i + 1] = _finish(_separable(images[i : i + 1], boxes[i : i + 1], size, mirror), out_dtype)
    return out


def channels_last(planes: torch.Tensor) -> torch.Tensor:
    """``(1, C, h, w)`` channels-last copy of a CPU uint8 ``(C, h, w)`` view (any strides).

    torch's uint8 antialiased ``interpolate`` is SIMD on channels-last pixels only; merging
    the planes first (``cv2.merge``) gives the same bytes as resizing the strided view, in
    less time: 0.86 -> 0.65 ms for a 224-px view of a 512-px canvas; SimCLR's CPU pipeline
    7-23% more views per CPU-second (``benchmarks/RESULTS.md``, SimCLR pipeline).
    """
    if planes.shape[0] == 1:
        return planes[None]
    return torch.from_numpy(cv2.merge(list(planes.numpy()))).permute(2, 0, 1)[None]


def _nearest(maps, boxes, size, flip):
    n, _, in_h, in_w = maps.shape
    height, width = size

    def index(start, length, count, limit):
        steps = torch.arange(count, device=maps.device, dtype=torch.float32) + 0.5
        position = torch.floor(start[:, None] + length[:, None] / count * steps[None, :]).long()
        return position.clamp(0, limit - 1), (position >= 0) & (position < limit)

    iy, valid_y = index(boxes[:, 1], boxes[:, 3] - boxes[:, 1], height, in_h)
    ix, valid_x = index(boxes[:, 0], boxes[:, 2] - boxes[:, 0], width, in_w)
    if flip is not None:
        ix = torch.where(flip[:, None], ix.flip(1), ix)
        valid_x = torch.where(flip[:, None], valid_x.flip(1), valid_x)
    rows = torch.arange(n, device=maps.device)[:, None, None]
    out = maps[rows, :, iy[:, :, None], ix[:, None, :]].permute(0, 3, 1, 2)
    valid = (valid_y[:, :, None] & valid_x[:, None, :])[:, None]
    return torch.where(valid, out, torch.zeros_like(out))
