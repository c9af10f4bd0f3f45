"""Exact and near-duplicate detection.

* Exact duplicates: equal BLAKE2b-128 digests of the file bytes.
* Near duplicates (resized, recompressed, slightly edited copies): two 64-bit
  perceptual hashes, dHash (gradient signs of a 9x8 thumbnail; Krawetz, "Kind of Like
  That", 2013) and pHash (signs of the 8x8 lowest DCT coefficients of a 32x32
  thumbnail against their median; Zauner, "Implementation and Benchmarking of
  Perceptual Image Hash Functions", 2010). Two images are near duplicates when both
  Hamming distances are at most ``max_distance``; groups are the connected components.

Grouping is bounded by multi-index hashing (Norouzi et al., "Fast Search in Hamming
Space with Multi-Index Hashing", CVPR 2012): the pHash is cut into ``max_distance + 1``
bands, and by the pigeonhole principle two hashes within distance ``max_distance``
agree exactly on at least one band. Only images that share a band value are compared,
which for well-spread hashes costs about ``N^2 / 2^(64 / (max_distance + 1))``
comparisons instead of ``N^2``; identical hashes are collapsed first, so a thousand
blank images cost one comparison, not a million.

Example:
    >>> import numpy as np
    >>> h = np.array([0b1011, 0b1010, 0xFFFF_0000_0000_0000], dtype=np.uint64)
    >>> near_duplicate_groups(h, h, max_distance=2)
    [[0, 1]]
"""

from __future__ import annotations

import hashlib

import cv2
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .labels import false_negative_rates

#: Default Hamming radius (of 64 bits) for near duplicates, for both hashes: resized and recompressed
#: copies of photos stay within 4 bits, distinct photos are 12 or more apart (benchmarks/RESULTS.md).
NEAR_DUPLICATE_DISTANCE = 4
#: How many groups of each kind the report lists in full.
MAX_LISTED_GROUPS = 1000
_BLOCK = 4096  # rows compared at once within one band bucket


def exact_hash(data: bytes) -> str:
    """BLAKE2b-128 hex digest of ``data``."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def dhash(gray: np.ndarray) -> int:
    """64-bit difference hash of a uint8 grayscale image."""
    thumb = cv2.resize(gray, (9, 8), interpolation=cv2.INTER_AREA).astype(np.int16)
    return _pack(thumb[:, 1:] > thumb[:, :-1])


def phash(gray: np.ndarray) -> int:
    """64-bit DCT hash of a uint8 grayscale image."""
    thumb = cv2.resize(gray, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    low = cv2.dct(thumb)[:8, :8]
    return _pack(low > np.median(low.ravel()[1:]))  # median of the AC terms; DC excluded


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bitwise Hamming distance between uint64 arrays (broadcasting)."""
    x = np.bitwise_xor(a, b)
    return np.unpackbits(x.view(np.uint8).reshape(*x.shape, 8), axis=-1).sum(axis=-1)


def near_duplicate_groups(phashes: np.ndarray, dhashes: np.ndarray,
                          max_distance: int = NEAR_DUPLICATE_DISTANCE) -> list[list[int]]:
    """Groups (lists of indices, each of size >= 2) of near-duplicate images.

    Args:
        phashes, dhashes: uint64 arrays ``(N,)``.
        max_distance: largest Hamming distance (0..63) on both hashes.

    Returns:
        Groups sorted by their smallest index; indices within a group ascending.
    """
    if not 0 <= max_distance < 64:
        raise ValueError(f"max_distance must be in [0, 63], got {max_distance}")
    phashes = np.asarray(phashes, dtype=np.uint64)
    dhashes = np.asarray(dhashes, dtype=np.uint64)
    n = len(phashes)
    if n < 2:
        return []
    # Collapse identical (pHash, dHash) pairs: those are near duplicates already.
    pairs = np.stack([phashes, dhashes], axis=1)
    unique, inverse = np.unique(pairs, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    rows, cols = _close_pairs(unique[:, 0], unique[:, 1], max_distance)
    m = len(unique)
    graph = coo_matrix((np.ones(len(rows) + n, bool),
                        (np.concatenate([rows, inverse]), np.concatenate([cols, m + np.arange(n)]))),
                       shape=(m + n, m + n))
    _, component = connected_components(graph, directed=False)
    image_component = component[m:]
    order = np.argsort(image_component, kind="stable")
    sorted_components = image_component[order]
    starts = np.flatnonzero(np.r_[True, sorted_components[1:] != sorted_components[:-1]])
    sizes = np.diff(np.r_[starts, n])
    groups = [sorted(order[s:s + k].tolist()) for s, k in zip(starts, sizes) if k > 1]
    return sorted(groups)


def _close_pairs(ph: np.ndarray, dh: np.ndarray, max_distance: int) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs ``(i < j)`` of distinct hashes within ``max_distance`` on both."""
    n_bands = max_distance + 1
    edges = np.linspace(0, 64, n_bands + 1).round().astype(int)
    found_rows, found_cols = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for lo, hi in zip(edges[:-1], edges[1:]):
        band = (ph >> np.uint64(lo)) & np.uint64((1 << (hi - lo)) - 1)
        order = np.argsort(band, kind="stable")
        keys = band[order]
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        sizes = np.diff(np.r_[starts, len(keys)])
        for start, size in zip(starts[sizes > 1], sizes[sizes > 1]):
            members = order[start:start + size]
            for block in range(0, size, _BLOCK):
                a = members[block:block + _BLOCK]
                close = (hamming(ph[a][:, None], ph[members][None, :]) <= max_distance) & \
                        (hamming(dh[a][:, None], dh[members][None, :]) <= max_distance)
                i, j = np.nonzero(close)
                keep = a[i] < members[j]
                found_rows.append(a[i][keep])
                found_cols.append(members[j][keep])
    return np.concatenate(found_rows), np.concatenate(found_cols)


class DuplicateIndex:
    """Collects hashes record by record; groups them at the end.

    Memory is about 100 bytes per image (key, two hashes and a digest), the only
    part of the diagnostics that grows with the dataset.
    """

    def __init__(self, max_distance: int = NEAR_DUPLICATE_DISTANCE):
        self.max_distance = max_distance
        self.keys: list[str] = []
        self._phash: list[int] = []
        self._dhash: list[int] = []
        self._first: dict[str, int] = {}
        self._exact: dict[int, list[int]] = {}

    def add(self, record) -> None:
        if record.status != "ok" or record.phash is None:
            return
        index = len(self.keys)
        self.keys.append(record.key)
        self._phash.append(int(record.phash, 16))
        self._dhash.append(int(record.dhash, 16))
        first = self._first.setdefault(record.exact_hash, index)
        if first != index:
            self._exact.setdefault(first, [first]).append(index)

    def exact_groups(self) -> list[list[int]]:
        return sorted(self._exact.values())

    def near_groups(self) -> list[list[int]]:
        return near_duplicate_groups(np.array(self._phash, dtype=np.uint64),
                                     np.array(self._dhash, dtype=np.uint64), self.max_distance)

    def result(self, batch_size: int) -> dict:
        """Groups, and the near duplicates an anchor meets as negatives at ``batch_size``."""
        exact, near = self.exact_groups(), self.near_groups()
        n = len(self.keys)
        return {
            "max_distance": self.max_distance,
            "images": n,
            "exact": _summary(exact, self.keys),
            "near": _summary(near, self.keys),
            "false_negatives": false_negative_rates([len(g) for g in near], batch_size, total=n) if n >= 2 else None,
        }


def _summary(groups: list[list[int]], keys: list[str]) -> dict:
    return {
        "groups": len(groups),
        "images_in_groups": sum(len(g) for g in groups),
        "redundant_images": sum(len(g) - 1 for g in groups),
        "listed": [[keys[i] for i in g] for g in groups[:MAX_LISTED_GROUPS]],
    }


def _pack(bits: np.ndarray) -> int:
    return int.from_bytes(np.packbits(bits.ravel()).tobytes(), "big")
