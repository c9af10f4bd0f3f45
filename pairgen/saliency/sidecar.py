"""The user's own saliency maps: a ``"saliency"`` entry of the dataset item, or sidecar
files next to the images.

Naming rule. For the image ``DIR/NAME.EXT`` the first existing file of these is used:

1. ``DIR/NAME.saliency.png``, ``DIR/NAME.saliency.npy``, ``DIR/NAME.saliency.tif``,
   ``DIR/NAME.saliency.tiff``;
2. ``DIR/NAME_saliency.png``, ``DIR/NAME_saliency.npy``, ``DIR/NAME_saliency.tif``,
   ``DIR/NAME_saliency.tiff``;
3. with ``saliency_dir`` (a parallel folder): ``saliency_dir/REL/NAME.png`` (then
   ``.npy``, ``.tif``, ``.tiff``), where ``REL`` is the image's folder relative to
   ``image_root`` (empty when ``image_root`` is not given).

Values. 8-bit maps are divided by 255, 16-bit maps by 65535, booleans become 0/1; float
maps (``.npy`` or float TIFF) must already lie in [0, 1]. A map of any resolution is
accepted; pass ``size=(H, W)`` to resize it bilinearly (area-averaged when shrinking)
to the image. Grey maps saved as RGB (equal channels) and maps with an alpha channel
are read as their grey level; colour heat-map renderings are refused.

Example:
    >>> load_saliency("img/cat.jpg")  # img/cat.saliency.png if present, else None
    >>> to_saliency_map(torch.tensor([[0, 255]], dtype=torch.uint8))
    tensor([[0., 1.]])
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from pairgen.saliency._maps import resize_maps

#: Key of a saliency map in a dataset item (a dict).
SALIENCY_KEY = "saliency"

#: Sidecar file extensions, in the order they are tried.
SIDECAR_EXTENSIONS = (".png", ".npy", ".tif", ".tiff")

#: Sidecar name infixes next to the image, in the order they are tried.
SIDECAR_INFIXES = (".saliency", "_saliency")


def is_sidecar_stem(stem: str) -> bool:
    """Whether a file of stem ``stem`` is itself a sidecar map (rules 1 and 2), not an image."""
    return stem.endswith(SIDECAR_INFIXES)


def sidecar_names(stem: str) -> list[str]:
    """The names of the sidecars next to an image of stem ``stem`` (rules 1 and 2), in order."""
    return [stem + infix + ext for infix in SIDECAR_INFIXES for ext in SIDECAR_EXTENSIONS]


def saliency_dir_candidates(
    image_path: str | Path, saliency_dir: str | Path, image_root: str | Path | None = None
) -> list[Path]:
    """The paths of rule 3 for ``image_path``, in order."""
    image_path = Path(image_path)
    folder = Path(saliency_dir)
    if image_root is not None:
        try:
            folder = folder / image_path.parent.relative_to(image_root)
        except ValueError as error:
            raise ValueError(f"image_root {str(image_root)!r} does not contain image {str(image_path)!r}") from error
    return [folder / (image_path.stem + ext) for ext in SIDECAR_EXTENSIONS]


def sidecar_candidates(
    image_path: str | Path, saliency_dir: str | Path | None = None, image_root: str | Path | None = None
) -> list[Path]:
    """The paths :func:`load_saliency` tries for ``image_path``, in order."""
    image_path = Path(image_path)
    candidates = [image_path.with_name(name) for name in sidecar_names(image_path.stem)]
    if saliency_dir is not None:
        candidates += saliency_dir_candidates(image_path, saliency_dir, image_root)
    return candidates


def load_saliency(
    image_path: str | Path,
    saliency_dir: str | Path | None = None,
    image_root: str | Path | None = None,
    size: tuple[int, int] | None = None,
) -> torch.Tensor | None:
    """Read the sidecar saliency map of an image (naming rule in the module docstring).

    Args:
        image_path: the image file (it need not exist).
        saliency_dir: optional parallel folder of maps.
        image_root: the folder ``saliency_dir`` mirrors; default: none (flat folder).
        size: ``(H, W)`` to resize the map to, or ``None`` to keep its resolution.

    Returns:
        A float32 ``(H, W)`` tensor in [0, 1], or ``None`` when no sidecar exists.

    Raises:
        ValueError: the sidecar exists but is unreadable, not a single-channel map, NaN,
            or out of range; the message names the file.
    """
    for candidate in sidecar_candidates(image_path, saliency_dir, image_root):
        if candidate.is_file():
            return to_saliency_map(_read_array(candidate), size=size, source=str(candidate))
    return None


def to_saliency_map(
    value: torch.Tensor | np.ndarray, size: tuple[int, int] | None = None, source: str = SALIENCY_KEY
) -> torch.Tensor:
    """Validate and convert a user map to a float32 ``(H, W)`` tensor in [0, 1].

    Args:
        value: ``(H, W)``, ``(1, H, W)`` or ``(H, W, 1)`` tensor or array: bool, uint8
            (0..255), uint16 (0..65535) or float in [0, 1].
        size: ``(H, W)`` to resize to, or ``None``.
        source: what to name in error messages (a file or a dataset key).
    """
    array = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
    if array.ndim == 3 and 1 in (array.shape[0], array.shape[-1]):
        array = array.reshape(array.shape[1:] if array.shape[0] == 1 else array.shape[:2])
    if array.ndim != 2 or array.size == 0:
        raise ValueError(f"{source}: a saliency map must be a non-empty (H, W) array, got shape {array.shape}")
    if array.dtype == np.bool_:
        result = array.astype(np.float32)
    elif array.dtype == np.uint8:
        result = array.astype(np.float32) / 255.0
    elif array.dtype == np.uint16:
        result = array.astype(np.float32) / 65535.0
    elif np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise ValueError(f"{source}: saliency map contains NaN or infinite values")
        low, high = float(array.min()), float(array.max())
        if low < 0.0 or high > 1.0:
            raise ValueError(f"{source}: float saliency values must lie in [0, 1], got [{low:g}, {high:g}]")
        result = array.astype(np.float32)
    else:
        raise ValueError(f"{source}: saliency map dtype must be bool, uint8, uint16 or float, got {array.dtype}")
    tensor = torch.from_numpy(np.ascontiguousarray(result))
    if size is not None and tuple(tensor.shape) != tuple(size):
        tensor = resize_maps(tensor[None, None], tuple(size))[0, 0].clamp_(0.0, 1.0)
    return tensor


def _read_array(path: Path) -> np.ndarray:
    """The raw map in ``path`` as a 2-D array (``.npy`` via numpy, images via OpenCV)."""
    if path.suffix.lower() == ".npy":
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise ValueError(f"{path}: cannot read saliency map ({error})") from error
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError(f"{path}: cannot read saliency map (not a readable image)")
    if image.ndim == 3:
        channels = image[..., :3] if image.shape[2] >= 3 else image[..., :1]
        if not (channels == channels[..., :1]).all():
            raise ValueError(f"{path}: saliency map must be single-channel (grey), got {image.shape[2]} differing channels")
        image = channels[..., 0]
    return image
