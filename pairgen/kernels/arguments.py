"""The arguments of the fused render, checked once for the reference and the Triton kernels.

Both implementations of :func:`render_views` and :func:`view_means` take the same
arguments and call :func:`render_arguments`, so they agree on shapes, defaults and
errors. The checks read only shapes, dtypes and devices: nothing here waits for the
device.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

#: ITU-R 601-2 luma weights (torchvision's ``rgb_to_grayscale``).
LUMA = (0.2989, 0.587, 0.114)

#: Output dtypes the kernels write.
DTYPES = (torch.float32, torch.bfloat16, torch.uint8)


@dataclass(frozen=True)
class RenderArguments:
    """Checked arguments; optional per-view tensors stay ``None`` when absent."""

    canvas: torch.Tensor
    boxes: torch.Tensor  # (N, 4) float32
    size: tuple[int, int]
    index: torch.Tensor | None  # (N,) int64
    flip: torch.Tensor | None  # (N,) bool
    affine1: torch.Tensor | None  # (N, 3, 4) float32
    hue: torch.Tensor | None  # (N,) float32
    affine2: torch.Tensor | None  # (N, 3, 4) float32
    grayscale: torch.Tensor | None  # (N,) bool
    solarize: torch.Tensor | None  # (N,) float32
    blur_sigma: torch.Tensor | None  # (N,) float32
    blur_kernel_size: int | None
    mean: tuple[float, float, float] | None
    std: tuple[float, float, float] | None
    dtype: torch.dtype
    channels_last: bool

    @property
    def views(self) -> int:
        return self.boxes.shape[0]

    def blur_half(self) -> int:
        """Half the blur kernel, shrunk below the view's shorter side (reflect padding needs it)."""
        return min(self.blur_kernel_size // 2, min(self.size) - 1)


def _per_view(name: str, value: torch.Tensor | None, n: int, device, dtype, shape=()) -> torch.Tensor | None:
    if value is None:
        return None
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a tensor on the canvas's device, got {type(value).__name__}")
    if tuple(value.shape) != (n, *shape):
        raise ValueError(f"{name} must have shape {(n, *shape)}, got {tuple(value.shape)}")
    if value.device != device:
        raise ValueError(f"{name} must be on {device} (the canvas's device), got {value.device}")
    if dtype == torch.bool and value.dtype != torch.bool:
        raise TypeError(f"{name} must be a bool tensor, got {value.dtype}")
    return value.to(dtype).contiguous()


def _channels(name: str, value: Sequence[float] | None) -> tuple[float, float, float] | None:
    if value is None:
        return None
    values = tuple(float(v) for v in value)
    if len(values) != 3:
        raise ValueError(f"{name} must have 3 values (R, G, B), got {len(values)}")
    return values


def render_arguments(
    canvas: torch.Tensor,
    boxes: torch.Tensor,
    size: int | tuple[int, int],
    *,
    index: torch.Tensor | None = None,
    flip: torch.Tensor | None = None,
    affine1: torch.Tensor | None = None,
    hue: torch.Tensor | None = None,
    affine2: torch.Tensor | None = None,
    grayscale: torch.Tensor | None = None,
    solarize: torch.Tensor | None = None,
    blur_sigma: torch.Tensor | None = None,
    blur_kernel_size: int | None = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    dtype: torch.dtype = torch.float32,
    channels_last: bool = False,
) -> RenderArguments:
    """Check and normalise the arguments of :func:`pairgen.kernels.reference.render_views`."""
    if not isinstance(canvas, torch.Tensor) or canvas.dim() != 4 or canvas.shape[1] != 3:
        shape = tuple(canvas.shape) if isinstance(canvas, torch.Tensor) else type(canvas).__name__
        raise ValueError(f"canvas must be a (B, 3, H, W) tensor, got {shape}")
    if canvas.dtype != torch.uint8 and not canvas.is_floating_point():
        raise TypeError(f"canvas must be uint8 or floating (0-255 values), got {canvas.dtype}")
    size = (size, size) if isinstance(size, int) else tuple(int(s) for s in size)
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"size must be a positive int or (height, width), got {size}")
    if not isinstance(boxes, torch.Tensor) or boxes.dim() != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes must be an (N, 4) tensor x1, y1, x2, y2, got "
                         f"{tuple(boxes.shape) if isinstance(boxes, torch.Tensor) else type(boxes).__name__}")
    n, device = boxes.shape[0], canvas.device
    if boxes.device != device:
        raise ValueError(f"boxes must be on {device} (the canvas's device), got {boxes.device}")
    if index is None and n != canvas.shape[0]:
        raise ValueError(f"boxes has {n} rows but the canvas {canvas.shape[0]} images: pass index= "
                         "(the canvas image of each view)")
    if index is not None and index.is_floating_point():
        raise TypeError(f"index must be an integer tensor, got {index.dtype}")
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {[str(d) for d in DTYPES]}, got {dtype}")
    mean, std = _channels("mean", mean), _channels("std", std)
    if (mean is None) != (std is None):
        raise ValueError("mean and std must be given together (or neither)")
    if std is not None and min(std) <= 0:
        raise ValueError(f"std must be positive, got {std}")
    if dtype == torch.uint8 and mean is not None:
        raise ValueError("uint8 views hold round(255 x) of [0, 1] values: normalise them on the model's "
                         "device (mean and std must be None)")
    if blur_sigma is not None:
        if blur_kernel_size is None:
            raise ValueError("blur_kernel_size is required with blur_sigma (from the recipe's sigma range; "
                             "deriving it from sigma would wait for the device)")
        if not isinstance(blur_kernel_size, int) or blur_kernel_size < 1 or blur_kernel_size % 2 == 0:
            raise ValueError(f"blur_kernel_size must be a positive odd int, got {blur_kernel_size!r}")
    f32 = torch.float32
    return RenderArguments(
        canvas=canvas,
        boxes=_per_view("boxes", boxes, n, device, f32, (4,)),
        size=size,
        index=_per_view("index", index, n, device, torch.int64),
        flip=_per_view("flip", flip, n, device, torch.bool),
        affine1=_per_view("affine1", affine1, n, device, f32, (3, 4)),
        hue=_per_view("hue", hue, n, device, f32),
        affine2=_per_view("affine2", affine2, n, device, f32, (3, 4)),
        grayscale=_per_view("grayscale", grayscale, n, device, torch.bool),
        solarize=_per_view("solarize", solarize, n, device, f32),
        blur_sigma=_per_view("blur_sigma", blur_sigma, n, device, f32),
        blur_kernel_size=blur_kernel_size if blur_sigma is not None else None,
        mean=mean,
        std=std,
        dtype=dtype,
        channels_last=bool(channels_last),
    )
