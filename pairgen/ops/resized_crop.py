"""Batched crop-and-resize: every view of a batch in one ``roi_align`` call."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def resized_crop(
    images: torch.Tensor,
    boxes: torch.Tensor,
    size: tuple[int, int],
    flip: torch.Tensor | None = None,
    backend: str = "auto",
) -> torch.Tensor:
    """Crop ``boxes`` out of ``images`` and resize each crop to ``size``.

    Two kernels, the same geometry. ``"batched"``: one ``roi_align`` call for the
    whole batch, bilinear with ``ceil(box / size)`` samples averaged per output
    pixel, which anti-aliases downscaling like an area filter (the GPU path).
    ``"resize"``: each box rounded to whole pixels and resized by torch's SIMD uint8
    antialiased bilinear ``interpolate``, several times faster on CPUs. ``"auto"``
    takes ``"resize"`` on the CPU for each sample whose box lies inside the image and
    ``"batched"`` for the others (the choice is per sample, so a view never depends on
    the other boxes of its batch), and images and the maps replayed with them share a
    kernel. Boxes may reach outside the image; outside pixels read as zero.
    Images smaller than ``size`` are upsampled.

    Args:
        images: ``(B, C, H, W)`` uint8 or floating tensor.
        boxes: ``(B, 4)`` boxes ``x1, y1, x2, y2`` in ``images``' pixel coordinates
            (pixel ``i`` spans ``[i, i + 1)``).
        size: output ``(height, width)``.
        flip: optional ``(B,)`` bool; flagged crops are mirrored left-right.
        backend: ``"auto"``, ``"batched"`` or ``"resize"``.

    Returns:
        ``(B, C, height, width)``, the dtype and device of ``images`` (uint8 is rounded).

    Example:
        >>> x = torch.rand(2, 3, 64, 64)
        >>> resized_crop(x, torch.tensor([[0, 0, 32, 32], [8, 8, 64, 40.]]), (16, 16)).shape
        torch.Size([2, 3, 16, 16])
    """
    if images.dim() != 4:
        raise ValueError(f"images must be (B, C, H, W), got shape {tuple(images.shape)}")
    if boxes.shape != (images.shape[0], 4):
        raise ValueError(f"boxes must be ({images.shape[0]}, 4), got {tuple(boxes.shape)}")
    if backend not in ("auto", "batched", "resize"):
        raise ValueError(f"backend must be 'auto', 'batched' or 'resize', got {backend!r}")
    height, width = size
    if images.shape[0] == 0:
        return images.new_zeros((0, images.shape[1], height, width))
    rows = torch.zeros(len(boxes), dtype=torch.bool, device=boxes.device)  # samples for "resize"
    if backend != "batched" and images.device.type == "cpu":
        whole = boxes.round().long()
        inside = (whole[:, :2] >= 0).all(1) & (whole[:, 2] <= images.shape[-1]) & (whole[:, 3] <= images.shape[-2])
        inside &= (whole[:, 2:] > whole[:, :2]).all(1)
        rows = torch.ones_like(inside) if backend == "resize" else inside  # "auto": chosen per sample
        if bool(rows.all()):
            return _resize_each(images, whole, size, flip)
    out = images.new_empty((images.shape[0], images.shape[1], height, width))
    if bool(rows.any()):
        out[rows] = _resize_each(images, whole, size, flip, rows.nonzero()[:, 0])
    others = (~rows).nonzero()[:, 0]
    dtype = images.dtype if images.is_floating_point() else torch.float32
    if dtype in (torch.float16, torch.bfloat16) and images.device.type == "cpu":
        dtype = torch.float32
    # One zero row and column past the canvas: a box at an image's far edge then reads the
    # same zeros whether or not that image is the batch's largest.
    work = images.new_zeros((len(others), images.shape[1], images.shape[2] + 1, images.shape[3] + 1), dtype=dtype)
    work[..., :-1, :-1] = images if len(others) == len(images) else images[others]
    index = torch.arange(len(others), device=images.device, dtype=dtype)[:, None]
    rois = torch.cat([index, boxes[others].to(dtype)], dim=1)
    # Imported on use: torchvision.ops pulls in torch._dynamo (seconds, 160 MB).
    from torchvision.ops import roi_align

    crops = roi_align(work, rois, output_size=(height, width), spatial_scale=1.0, sampling_ratio=-1, aligned=True)
    if flip is not None and bool(flip[others].any()):
        mirrored = flip[others]
        crops[mirrored] = crops[mirrored].flip(-1)
    out[others] = crops.round_().clamp_(0, 255).to(torch.uint8) if images.dtype == torch.uint8 else crops.to(images.dtype)
    return out


def _resize_each(images, boxes, size, flip, rows=None):
    """``"resize"`` for the samples ``rows`` (default all), in that order."""
    rows = torch.arange(images.shape[0]) if rows is None else rows
    out = images.new_empty((len(rows), images.shape[1], *size))
    for k, i in enumerate(rows.tolist()):
        x1, y1, x2, y2 = boxes[i].tolist()
        crop = images[i : i + 1, :, max(y1, 0) : max(y2, y1 + 1), max(x1, 0) : max(x2, x1 + 1)]
        out[k : k + 1] = F.interpolate(crop, size=size, mode="bilinear", antialias=True, align_corners=False)
    if flip is not None and bool(flip[rows].any()):
        mirrored = flip[rows]
        out[mirrored] = out[mirrored].flip(-1)
    return out
