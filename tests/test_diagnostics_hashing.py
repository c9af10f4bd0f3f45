"""Near-duplicate detection: planted copies among real photos, and grouping against brute force."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from diagnostics_data import PHOTOS, jpeg_bytes, photo

from pairgen.diagnostics.decode import decode_bytes
from pairgen.diagnostics.hashing import dhash, exact_hash, hamming, near_duplicate_groups, phash


def hashes_of(encoded: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    grays = [cv2.cvtColor(decode_bytes(b, name="x.jpg").rgb, cv2.COLOR_RGB2GRAY) for b in encoded]
    return (np.array([phash(g) for g in grays], dtype=np.uint64), np.array([dhash(g) for g in grays], dtype=np.uint64))


def test_planted_resized_and_recompressed_copies_are_found_and_nothing_else():
    originals = [photo(name) for name in PHOTOS]
    # Distinct but similar images too: two different crops of the same photo are not duplicates.
    astronaut = photo("astronaut")
    originals += [astronaut[:256, :256], astronaut[256:, 256:]]
    encoded = [jpeg_bytes(image) for image in originals]
    planted = {}
    for source in (0, 1, 7):  # astronaut, chelsea, camera
        image = originals[source]
        half = cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_AREA)
        planted[source] = [len(encoded), len(encoded) + 1]
        encoded += [jpeg_bytes(half, quality=70), jpeg_bytes(image, quality=40)]
    ph, dh = hashes_of(encoded)
    groups = near_duplicate_groups(ph, dh)
    assert groups == sorted([source] + copies for source, copies in planted.items())


def test_grouping_equals_brute_force_on_random_hashes():
    rng = np.random.default_rng(3)
    base = rng.integers(0, 2**63, size=300, dtype=np.uint64) * np.uint64(2) + rng.integers(0, 2, 300, dtype=np.uint64)
    flips = [np.uint64(1) << np.uint64(b) for b in range(64)]
    near = []
    for i in range(40):  # copies of random items with 1..8 random bits flipped (some beyond the radius)
        h = base[rng.integers(0, len(base))]
        for bit in rng.choice(64, size=rng.integers(1, 9), replace=False):
            h ^= flips[bit]
        near.append(h)
    ph = np.concatenate([base, near]).astype(np.uint64)
    dh = ph ^ np.uint64(0xFF)  # same distances on both hashes
    radius = 6
    distance = hamming(ph[:, None], ph[None, :])
    adjacency = distance <= radius
    # Brute-force connected components by repeated boolean matrix products.
    reach = adjacency.copy()
    for _ in range(len(ph)):
        grown = (reach.astype(np.int32) @ adjacency.astype(np.int32)) > 0
        if (grown == reach).all():
            break
        reach = grown
    expected = sorted({tuple(np.flatnonzero(row)) for row in reach if row.sum() > 1})
    assert near_duplicate_groups(ph, dh, radius) == [list(g) for g in expected]
    assert len(expected) > 10


def test_hamming_and_exact_hash():
    a = np.array([0, 0xFFFF_FFFF_FFFF_FFFF, 0b1011], dtype=np.uint64)
    b = np.array([0, 0, 0b0001], dtype=np.uint64)
    assert hamming(a, b).tolist() == [0, 64, 2]
    assert exact_hash(b"abc") == exact_hash(b"abc") != exact_hash(b"abd")
    with pytest.raises(ValueError, match="max_distance"):
        near_duplicate_groups(a, a, max_distance=64)
