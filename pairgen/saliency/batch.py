"""Built-in saliency for a collated batch, image by image inside the shared canvas."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from pairgen.batch import ImageBatch
from pairgen.ops.resized_crop import resized_crop
from pairgen.saliency.builtin import DEFAULT_METHOD, builtin_saliency


def batch_saliency(batch: ImageBatch, method: str = DEFAULT_METHOD, size: int = 128) -> torch.Tensor:
    """``(B, 1, H, W)`` built-in saliency maps on the batch's canvas (zero outside each image).

    Each image's own region of the canvas (not the padding, which would fake a border)
    is resized to ``size x size``, all maps are computed in one batched call on the
    canvas's device, and one ``grid_sample`` call maps them back onto the canvas.
    """
    n, _, height, width = batch.images.shape
    if n == 0:
        return torch.zeros((0, 1, height, width), device=batch.images.device)
    valid = (batch.sizes.to(batch.images.device).double() * batch.scales.to(batch.images.device).double()).round()
    boxes = torch.cat([torch.zeros_like(valid), valid.flip(1)], 1).float()  # xyxy of each image on the canvas
    work = resized_crop(batch.images, boxes, (size, size))
    maps = builtin_saliency(work, method=method).float()
    theta = torch.zeros((n, 2, 3), device=maps.device)
    theta[:, 0, 0] = width / valid[:, 1].float()
    theta[:, 1, 1] = height / valid[:, 0].float()
    theta[:, 0, 2] = theta[:, 0, 0] - 1
    theta[:, 1, 2] = theta[:, 1, 1] - 1
    grid = F.affine_grid(theta, (n, 1, height, width), align_corners=False)
    return F.grid_sample(maps, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
