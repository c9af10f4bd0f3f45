"""Offline datasets: image folders (with sidecar saliency maps) and Fashion-MNIST.

Fashion-MNIST (Xiao, Rasul, Vollgraf, "Fashion-MNIST: a Novel Image Dataset for
Benchmarking Machine Learning Algorithms", 2017): 70000 gray 28 x 28 photos of
clothes in 10 classes, read from the idx files that the Debian package
``dataset-fashion-mnist`` installs (or any folder holding them).

Example:
    >>> images, labels = fashion_mnist("test", limit=4)   # doctest: +SKIP
    >>> images.shape, images.dtype, labels.tolist()       # doctest: +SKIP
    ((4, 28, 28), dtype('uint8'), [9, 2, 1, 1])
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from pairgen.optional_data import optional_path
from pairgen.saliency.sidecar import is_sidecar_stem, load_saliency

FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)


def read_idx(path: str | Path, limit: int | None = None) -> np.ndarray:
    """The uint8 array of an idx file (the MNIST format), plain or gzip-compressed.

    Args:
        path: the ``.gz`` or uncompressed idx file.
        limit: read only the first ``limit`` items.

    Raises:
        ValueError: naming ``path`` when the file is not a uint8 idx file or is truncated.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        header = f.read(4)
        if len(header) != 4 or header[:2] != b"\0\0" or header[2] != 0x08:
            raise ValueError(f"{path} is not a uint8 idx file (header {header!r})")
        dims = np.frombuffer(f.read(4 * header[3]), dtype=">u4").astype(np.int64)
        count = int(dims[0]) if limit is None else min(int(dims[0]), limit)
        per_item = int(np.prod(dims[1:]))
        raw = f.read(count * per_item)
    if len(raw) != count * per_item:
        raise ValueError(f"{path} is truncated: expected {count * per_item} bytes of data, got {len(raw)}")
    return np.frombuffer(bytearray(raw), dtype=np.uint8).reshape(count, *dims[1:].tolist())


def fashion_mnist(split: str = "train", root: str | Path | None = None, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST images ``(N, 28, 28)`` uint8 and labels ``(N,)`` int64.

    Args:
        split: ``"train"`` (60000 items) or ``"test"`` (10000).
        root: folder with the four ``*-idx?-ubyte.gz`` files (default
            :data:`FASHION_MNIST`, hidden by ``PAIRGEN_NO_OPTIONAL_DATA=1``, see
            :mod:`pairgen.optional_data`).
        limit: keep only the first ``limit`` items.

    Raises:
        ValueError: for an unknown ``split``.
        FileNotFoundError: naming the file and the Debian package when the files are missing.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    prefix = "train" if split == "train" else "t10k"
    root = optional_path(FASHION_MNIST) if root is None else Path(root)
    paths = [root / f"{prefix}-{kind}-ubyte.gz" for kind in ("images-idx3", "labels-idx1")]
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found (apt-get install dataset-fashion-mnist, or pass root=)")
    images, labels = (read_idx(path, limit) for path in paths)
    return images, labels.astype(np.int64)


IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


class ImageFolder(Dataset):
    """The images under ``root`` (recursive, sorted, hidden files skipped) as items.

    Items are dicts with ``"image"`` (PIL RGB), ``"index"``, ``"label"`` (the index of
    the image's first-level subfolder when ``root`` has class subfolders) and
    ``"saliency"`` when a sidecar map exists (naming rule: :mod:`pairgen.saliency.sidecar`).

    Args:
        root: folder of images.
        saliency_dir: optional parallel folder of saliency maps.
        extensions: image file suffixes (lower case).

    Raises:
        FileNotFoundError: ``root`` does not exist or holds no image.
        OSError: an image cannot be read (the message names the file).

    Example:
        >>> dataset = ImageFolder("photos/")
        >>> sampler = PairSampler("cast")
        >>> loader = DataLoader(dataset, batch_size=64, collate_fn=sampler.collate)
    """

    def __init__(self, root: str | Path, saliency_dir: str | Path | None = None, extensions: tuple[str, ...] = IMAGE_EXTENSIONS):
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"root is not a folder: {self.root}")
        self.saliency_dir = saliency_dir
        self.files = sorted(
            p for p in self.root.rglob("*")
            if p.suffix.lower() in extensions and p.is_file() and not is_sidecar_stem(p.stem)
            and not any(part.startswith(".") for part in p.relative_to(self.root).parts)
        )
        if not self.files:
            raise FileNotFoundError(f"no images with suffixes {extensions} under {self.root}")
        classes = sorted({p.relative_to(self.root).parts[0] for p in self.files if len(p.relative_to(self.root).parts) > 1})
        self.classes = classes if classes and all(len(p.relative_to(self.root).parts) > 1 for p in self.files) else []
        self._class_index = {name: i for i, name in enumerate(self.classes)}

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> dict[str, Any]:
        path = self.files[index]
        try:
            with Image.open(path) as image:
                image.load()
                item: dict[str, Any] = {"image": image.convert("RGB") if image.mode not in ("I;16", "I") else image, "index": index}
        except (OSError, UnidentifiedImageError) as error:
            raise OSError(f"cannot read image {path}: {error}") from error
        if self.classes:
            item["label"] = self._class_index[path.relative_to(self.root).parts[0]]
        saliency = load_saliency(path, saliency_dir=self.saliency_dir, image_root=self.root)
        if saliency is not None:
            item["saliency"] = saliency
        return item


#: Scene-centric scenes with true masks and boxes (:mod:`pairgen.scenes`), exported here.
SCENE_EXPORTS = ("SceneFolder", "SceneSettings", "Scenes", "background_photos", "make_scenes", "render_scenes", "write_scene_folder")


def __getattr__(name: str):
    # Lazy, because pairgen.scenes builds on this module.
    if name in SCENE_EXPORTS:
        from pairgen import scenes

        return getattr(scenes, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
