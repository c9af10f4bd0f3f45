"""Near-duplicate detection: planted copies among real photos, and grouping against brute force."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from diagnostics_data import PHOTOS, jpeg_bytes, photo

from pairgen.diagnostics.decode import decode_bytes
from pairgen.diagnostics.hashing import DuplicateIndex, dhash, exact_hash, hamming, near_duplicate_groups, phash
from pairgen.diagnostics.records import ImageRecord


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


def brute_force_groups(ph: np.ndarray, dh: np.ndarray, radius: int) -> list[list[int]]:
    """Connected components of "both Hamming distances <= radius", by Python's popcount and a flood fill."""
    ph, dh = [int(h) for h in ph], [int(h) for h in dh]
    n = len(ph)
    neighbours = [[j for j in range(n) if j != i and (ph[i] ^ ph[j]).bit_count() <= radius
                   and (dh[i] ^ dh[j]).bit_count() <= radius] for i in range(n)]
    seen, groups = set(), []
    for i in range(n):
        if i in seen or not neighbours[i]:
            continue
        group, todo = {i}, [i]
        while todo:
            for j in neighbours[todo.pop()]:
                if j not in group:
                    group.add(j)
                    todo.append(j)
        seen |= group
        groups.append(sorted(group))
    return sorted(groups)


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
    expected = brute_force_groups(ph, dh, radius)
    assert near_duplicate_groups(ph, dh, radius) == expected
    assert len(expected) > 10


@pytest.mark.parametrize(("radius", "phash_bits", "dhash_bits"), [(0, 8, 4), (2, 10, 10), (4, 13, 18)])
def test_grouping_equals_brute_force_when_bands_collide(radius, phash_bits, dhash_bits):
    """pHashes that differ only in their low bits share every higher band: long runs of equal band
    values, compared at every offset; the dHashes decide which of the pHash neighbours join."""
    rng = np.random.default_rng(radius)
    ph = np.uint64(0xABCD_0000_0000_0000) | rng.integers(0, 1 << phash_bits, size=400).astype(np.uint64)
    dh = rng.integers(0, 1 << dhash_bits, size=400).astype(np.uint64)
    expected = brute_force_groups(ph, dh, radius)
    assert near_duplicate_groups(ph, dh, radius) == expected
    assert len(expected) >= 20 and max(len(g) for g in expected) > 2


def test_duplicate_index_groups_follow_every_added_record():
    index = DuplicateIndex(max_distance=4)

    def add(key: str, phash: int, digest: str) -> None:
        index.add(ImageRecord(key=key, ordinal=len(index.keys), status="ok", phash=f"{phash:016x}",
                              dhash=f"{phash:016x}", exact_hash=digest))

    add("a", 0b0000, "da")
    add("b", 0xFFFF_0000_0000_0000, "db")
    assert index.near_groups() == [] and index.groups() == []
    add("c", 0b0011, "dc")  # 2 bits from a
    assert index.near_groups() == [[0, 2]]
    add("d", 0b0011, "dc")  # an exact copy of c: one content to the near search, in the group as a copy
    assert index.near_groups() == [[0, 2]]
    assert index.groups() == [("near", [0, 2, 3])]
    index.near_groups()[0].append(99)  # the caller's list, not the index's
    assert index.near_groups() == [[0, 2]]


def test_hamming_and_exact_hash():
    a = np.array([0, 0xFFFF_FFFF_FFFF_FFFF, 0b1011], dtype=np.uint64)
    b = np.array([0, 0, 0b0001], dtype=np.uint64)
    assert hamming(a, b).tolist() == [0, 64, 2]
    assert exact_hash(b"abc") == exact_hash(b"abc") != exact_hash(b"abd")
    with pytest.raises(ValueError, match="max_distance"):
        near_duplicate_groups(a, a, max_distance=64)
