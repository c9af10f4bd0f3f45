"""The idx reader against files written by hand, and Fashion-MNIST's known facts."""

import gzip
import struct

import numpy as np
import pytest

from pairgen.datasets import fashion_mnist, read_idx
from conftest import FASHION_MNIST


def _write_idx(path, array, compress=True):
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    opener = gzip.open if compress else open
    with opener(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.mark.parametrize("compress", [True, False])
def test_read_idx_round_trips_and_limits(tmp_path, compress):
    array = np.random.default_rng(0).integers(0, 256, (5, 3, 4), dtype=np.uint8)
    path = tmp_path / ("x.idx.gz" if compress else "x.idx")
    _write_idx(path, array, compress)
    np.testing.assert_array_equal(read_idx(path), array)
    np.testing.assert_array_equal(read_idx(path, limit=2), array[:2])
    assert read_idx(path).flags.writeable


def test_read_idx_rejects_bad_files(tmp_path):
    bad = tmp_path / "bad.gz"
    with gzip.open(bad, "wb") as f:
        f.write(b"\x00\x00\x0d\x01" + struct.pack(">I", 3) + b"\x00" * 12)  # float idx: not uint8
    with pytest.raises(ValueError, match="bad.gz is not a uint8 idx file"):
        read_idx(bad)
    short = tmp_path / "short.gz"
    with gzip.open(short, "wb") as f:
        f.write(struct.pack(">HBB", 0, 8, 1) + struct.pack(">I", 10) + b"\x01\x02")
    with pytest.raises(ValueError, match="short.gz is truncated"):
        read_idx(short)


def test_fashion_mnist_errors(tmp_path):
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        fashion_mnist("valid")
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist"):
        fashion_mnist("test", root=tmp_path)


def test_fashion_mnist_known_facts():
    if not (FASHION_MNIST / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip("Debian package dataset-fashion-mnist is not installed")
    images, labels = fashion_mnist("test")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8 and labels.dtype == np.int64
    assert np.bincount(labels).tolist() == [1000] * 10          # balanced test set
    assert labels[:4].tolist() == [9, 2, 1, 1]                    # ankle boot, pullover, trouser, trouser
    first, first_labels = fashion_mnist("test", limit=4)
    np.testing.assert_array_equal(first, images[:4])
    np.testing.assert_array_equal(first_labels, labels[:4])
    # Clothes on a black background: the side columns are darker than the centre.
    assert images[:, :, :2].mean() < 10 < images[:, 10:18, 10:18].mean()
