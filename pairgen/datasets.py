"""Small offline datasets for examples and tests.

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

import numpy as np

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


def fashion_mnist(split: str = "train", root: str | Path = FASHION_MNIST, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST images ``(N, 28, 28)`` uint8 and labels ``(N,)`` int64.

    Args:
        split: ``"train"`` (60000 items) or ``"test"`` (10000).
        root: folder with the four ``*-idx?-ubyte.gz`` files.
        limit: keep only the first ``limit`` items.

    Raises:
        ValueError: for an unknown ``split``.
        FileNotFoundError: naming the file and the Debian package when the files are missing.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    prefix = "train" if split == "train" else "t10k"
    paths = [Path(root) / f"{prefix}-{kind}-ubyte.gz" for kind in ("images-idx3", "labels-idx1")]
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found (apt-get install dataset-fashion-mnist, or pass root=)")
    images, labels = (read_idx(path, limit) for path in paths)
    return images, labels.astype(np.int64)
