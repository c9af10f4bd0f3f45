"""The CPU stage: dataset items to an :class:`~pairgen.batch.ImageBatch`.

Only per-image work happens here (decoding to RGB uint8, shrinking very large
images, placing them on a shared canvas); everything random happens later,
batched.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import cv2
import numpy as np
import torch
from PIL import Image

from pairgen.batch import ImageBatch, host_maps
from pairgen.errors import InputError

ITEM_KEYS = ("image", "saliency", "mask", "boxes", "keypoints", "label", "source", "time", "index")


def to_rgb_uint8(image: Any, name: str = "image") -> np.ndarray:
    """Convert a PIL image, HWC/HW numpy array or CHW/HW tensor to an HWC RGB uint8 array.

    Gray, gray+alpha, RGBA (alpha dropped), palette, 1-bit, 16-bit and float
    images are converted; 16-bit values are scaled by 1/257 and floats are read as
    ``[0, 1]``.

    Raises:
        TypeError / InputError naming ``name`` for anything else.
    """
    if isinstance(image, Image.Image):
        if image.mode in ("I;16", "I;16B", "I;16L", "I"):
            array = np.asarray(image).astype(np.float64)
            array = array / (65535.0 if image.mode.startswith("I;16") or array.max() > 255 else 255.0)
            return to_rgb_uint8(array, name)
        if image.mode == "F":
            return to_rgb_uint8(np.asarray(image, dtype=np.float32), name)
        if image.mode == "P" and "transparency" in image.info:
            image = image.convert("RGBA")
        return np.array(image.convert("RGB"))
    if isinstance(image, torch.Tensor):
        if image.dim() == 3 and image.shape[0] in (1, 2, 3, 4):
            image = image.permute(1, 2, 0)  # tensors are CHW
        image = image.detach().cpu().numpy()
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{name} must be a PIL image, numpy array or torch tensor, got {type(image).__name__}")
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 2, 3, 4) or 0 in image.shape[:2]:
        raise InputError(f"{name} must be HxW or HxWxC with C in 1-4 and non-empty sides, got shape {image.shape}")
    if image.dtype == np.uint16:
        image = (image.astype(np.float64) / 65535.0)
    if image.dtype.kind == "f":
        if not np.isfinite(image).all():
            raise InputError(f"{name} has NaN or infinite values")
        image = np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)
    elif image.dtype == np.bool_:
        image = image.astype(np.uint8) * 255
    elif image.dtype != np.uint8:
        raise InputError(f"{name} must be uint8, uint16, bool or float, got {image.dtype}")
    channels = image.shape[2]
    if channels in (1, 2):
        image = np.repeat(image[:, :, :1], 3, axis=2)
    elif channels == 4:
        image = image[:, :, :3]
    return np.ascontiguousarray(image)


def _to_map(value: Any, name: str) -> np.ndarray:
    """A saliency map or mask as a 2-D float32 array (not resized)."""
    if isinstance(value, Image.Image):
        value = np.asarray(value.convert("F") if value.mode not in ("L", "1") else value)
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    value = np.asarray(value)
    value = value.squeeze()
    if value.ndim != 2:
        raise InputError(f"{name} must be a 2-D map (HxW, 1xHxW or HxWx1), got shape {np.shape(value)}")
    return value.astype(np.float32)


def stable_id(value: Any) -> int:
    """An int64 id for a source (int, or any value by its string), equal across processes."""
    if isinstance(value, (int, np.integer)) or (isinstance(value, torch.Tensor) and value.numel() == 1):
        return int(value)
    digest = hashlib.blake2b(str(value).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & ((1 << 62) - 1)


def collate_items(items: Sequence[Any], max_side: int) -> ImageBatch:
    """Collate dataset items into an :class:`ImageBatch`.

    Items whose saliency map is empty (no positive value) are reported here, once per
    batch with a warning, where the maps are still on the host; the device stage
    only flags their crops (``fallback_used``), never reading the device to warn.

    Args:
        items: images, or mappings with ``"image"`` and optional ``"saliency"``
            (any resolution; resized bilinearly to the image), ``"mask"`` (resized by
            nearest neighbour; nonzero = object; when no ``"boxes"`` are given, the
            boxes of its connected components become the item's boxes), ``"boxes"`` (``(n, 4)`` xyxy source
            pixels, or ``tv_tensors.BoundingBoxes`` in any axis-aligned format; clipped to
            the image, degenerate ones dropped), ``"keypoints"`` (``(K, 2)`` x, y source
            pixels, or ``tv_tensors.KeyPoints``), ``"label"``,
            ``"source"`` (frames of one video, crops of one file...), ``"time"``,
            ``"index"``. Tuples ``(image, label)`` as torchvision datasets give are
            accepted too.
        max_side: images whose longer side exceeds it are shrunk (area filter).
    """
    records = [_record(item, i) for i, item in enumerate(items)]
    n = len(records)
    if n == 0:
        empty = torch.zeros((0, 3, 1, 1), dtype=torch.uint8)
        return ImageBatch(empty, torch.zeros((0, 2), dtype=torch.int64), torch.ones((0, 2)), extents=())
    sizes, scales, canvases = [], [], []
    for record in records:
        image = record["image"]
        h, w = image.shape[:2]
        factor = min(1.0, max_side / max(h, w))
        if factor < 1.0:
            image = cv2.resize(image, (max(1, round(w * factor)), max(1, round(h * factor))), interpolation=cv2.INTER_AREA)
        sizes.append((h, w))
        scales.append((image.shape[0] / h, image.shape[1] / w))
        canvases.append(image)
    height = max(c.shape[0] for c in canvases)
    width = max(c.shape[1] for c in canvases)
    images = np.zeros((n, 3, height, width), dtype=np.uint8)
    for i, canvas in enumerate(canvases):  # HWC -> CHW by cv2.split into the planes: half numpy's strided copy
        cv2.split(canvas, [images[i, c, : canvas.shape[0], : canvas.shape[1]] for c in range(3)])
    fields: dict[str, Any] = {
        "images": torch.from_numpy(images),
        "sizes": torch.tensor(sizes, dtype=torch.int64),
        "scales": torch.tensor(scales, dtype=torch.float32),
        "extents": tuple((int(c.shape[0]), int(c.shape[1])) for c in canvases),
    }
    shapes = [c.shape[:2] for c in canvases]
    if any("saliency" in r for r in records):
        fields["saliency"] = _stack_maps(records, "saliency", shapes, (height, width), None)
        given = np.array(["saliency" in r for r in records])
        if not given.all():  # None: every item brought its map
            fields["saliency_given"] = torch.from_numpy(given)
        empty = int((given & ~(fields["saliency"].flatten(1).amax(1) > 0).numpy()).sum())
        if empty:
            warnings.warn(f"{empty} of the batch's {n} saliency maps are empty (zero, negative or NaN): those samples "
                          "fall back to uniform crops (fallback_used)", stacklevel=2)
    if any("mask" in r for r in records):
        fields["masks"] = _stack_maps(records, "mask", shapes, (height, width), cv2.INTER_NEAREST).to(torch.uint8)
    for record in records:
        if "mask" in record and "boxes" not in record:
            record["boxes"] = mask_component_boxes(record["mask"], record["image"].shape[:2])
    if any("boxes" in r for r in records):
        fields["boxes"], fields["box_valid"] = _stack_boxes(records, sizes)
    if any("keypoints" in r for r in records):
        fields["keypoints"], fields["keypoint_valid"] = _pad_rows([r.get("keypoints", torch.zeros(0, 2)) for r in records])
    for key, target, dtype in (("label", "labels", torch.int64), ("source", "sources", torch.int64),
                               ("index", "index", torch.int64), ("time", "times", torch.float64)):
        present = [key in r for r in records]
        if any(present):
            if not all(present):
                raise InputError(f"'{key}' is given for some items of the batch but not all")
            values = [stable_id(r[key]) if key == "source" else float(r[key]) if key == "time" else int(r[key])
                      for r in records]
            fields[target] = torch.tensor(values, dtype=dtype)
    return ImageBatch(**fields)


def _record(item: Any, position: int) -> dict:
    if isinstance(item, Mapping):
        if "image" not in item:
            raise InputError(f"item {position} is a mapping without an 'image' key (keys: {sorted(item)})")
        record = {k: item[k] for k in ITEM_KEYS if k in item and item[k] is not None}
    elif isinstance(item, tuple) and len(item) == 2:
        record = {"image": item[0], "label": item[1]}
    else:
        record = {"image": item}
    record["image"] = to_rgb_uint8(record["image"], f"item {position} image")
    for key in ("saliency", "mask"):
        if key in record:
            record[key] = _to_map(record[key], f"item {position} {key}")
    if "mask" in record:
        labels = record["mask"]
        if labels.min() < 0 or labels.max() > 255:
            raise InputError(f"item {position} mask must hold labels in [0, 255] (0 = background), "
                             f"got values in [{labels.min():g}, {labels.max():g}]")
    if "boxes" in record:
        record["boxes"] = xyxy_boxes(record["boxes"], f"item {position} boxes")
    if "keypoints" in record:
        points = torch.as_tensor(np.asarray(record["keypoints"], dtype=np.float32))
        if points.dim() != 2 or points.shape[1] != 2:
            raise InputError(f"item {position} keypoints must be (K, 2) x, y source pixels, got shape "
                             f"{tuple(points.shape)}")
        record["keypoints"] = points
    return record


def xyxy_boxes(boxes: Any, name: str = "boxes") -> np.ndarray:
    """``(n, 4)`` xyxy float32 boxes from an array, or from ``tv_tensors.BoundingBoxes`` in any
    axis-aligned format (XYXY, XYWH, CXCYWH)."""
    from torchvision import tv_tensors
    from torchvision.ops import box_convert

    if isinstance(boxes, tv_tensors.BoundingBoxes):
        fmt = boxes.format.name.lower()
        if fmt not in ("xyxy", "xywh", "cxcywh"):
            raise InputError(f"{name}: rotated boxes ({boxes.format.name}) are not supported; give axis-aligned boxes")
        plain = boxes.as_subclass(torch.Tensor).reshape(-1, 4).float()
        return box_convert(plain, fmt, "xyxy").detach().cpu().numpy()
    if isinstance(boxes, torch.Tensor):
        boxes = boxes.detach().cpu().numpy()
    return np.asarray(boxes, dtype=np.float32)


def mask_component_boxes(mask: np.ndarray, size: tuple[int, int], min_fraction: float = 0.01) -> np.ndarray:
    """Boxes ``(n, 4)`` xyxy, in pixels of an image of ``size``, of the 8-connected
    components of a mask's nonzero pixels that cover at least ``min_fraction`` of it."""
    binary = (mask > 0).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    sy, sx = size[0] / mask.shape[0], size[1] / mask.shape[1]
    boxes = [
        (x * sx, y * sy, (x + w) * sx, (y + h) * sy)
        for x, y, w, h, area in stats[1:]
        if area >= min_fraction * mask.size
    ]
    return np.asarray(boxes, dtype=np.float32).reshape(-1, 4)


def _stack_maps(records, key, shapes, canvas, interpolation) -> torch.Tensor:
    out = host_maps((len(records), 1, *canvas), zeroed=True)
    for i, (record, (h, w)) in enumerate(zip(records, shapes)):
        value = record.get(key)
        if value is None:
            continue
        if value.shape != (h, w):
            # Smooth maps shrink with an area filter, as the images do; masks take the nearest pixel.
            smooth = cv2.INTER_AREA if value.shape[0] > h else cv2.INTER_LINEAR
            value = cv2.resize(value, (w, h), interpolation=interpolation if interpolation is not None else smooth)
        value = np.nan_to_num(value, nan=0.0, posinf=0.0, neginf=0.0)
        out[i, 0, :h, :w] = torch.from_numpy(np.maximum(value, 0))
    return out


def _stack_boxes(records, sizes) -> tuple[torch.Tensor, torch.Tensor]:
    per_item = []
    for position, (record, (h, w)) in enumerate(zip(records, sizes)):
        boxes = torch.as_tensor(np.asarray(record.get("boxes", np.zeros((0, 4)))), dtype=torch.float32)
        if boxes.numel() == 0:
            boxes = boxes.reshape(0, 4)
        elif boxes.dim() == 1:
            boxes = boxes[None]
        if boxes.dim() != 2 or boxes.shape[1] != 4:
            raise InputError(f"item {position} boxes must be (n, 4) xyxy, got shape {tuple(boxes.shape)}")
        boxes = boxes.nan_to_num(nan=-1.0)
        boxes = torch.stack([boxes[:, 0].clamp(0, w), boxes[:, 1].clamp(0, h),
                             boxes[:, 2].clamp(0, w), boxes[:, 3].clamp(0, h)], 1)
        keep = (boxes[:, 2] - boxes[:, 0] >= 1) & (boxes[:, 3] - boxes[:, 1] >= 1)
        per_item.append(boxes[keep])
    return _pad_rows(per_item)


def _pad_rows(per_item: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """``(n_i, D)`` rows per item -> ``(B, max n_i, D)`` zero-padded and a ``(B, max n_i)`` valid mask."""
    most = max(1, max(len(rows) for rows in per_item))
    padded = torch.zeros((len(per_item), most, per_item[0].shape[1]))
    valid = torch.zeros((len(per_item), most), dtype=torch.bool)
    for i, rows in enumerate(per_item):
        padded[i, : len(rows)] = rows
        valid[i, : len(rows)] = True
    return padded, valid
