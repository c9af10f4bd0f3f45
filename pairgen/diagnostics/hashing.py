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

Exact copies are one image to the near-duplicate search (a group of exact copies is
not reported again as near duplicates); identical files under different labels are
*label conflicts*. ``duplicates.csv`` gives every image in a group (exact or near) its
group id, for ``pairgen.negatives.negative_mask(groups=...)``.

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

from .labels import false_negative_rates
from .page import HTML_ROWS, escape, pct, table, thumb
from .section import Measured, Section, add

#: Thumbnails shown: groups, and images per group.
THUMB_GROUPS, THUMB_PER_GROUP = 20, 5
#: The file of group ids written next to report.json.
DUPLICATES_FILE = "duplicates.csv"

#: Default Hamming radius (of 64 bits) for near duplicates, for both hashes: resized and recompressed
#: copies of photos stay within 4 bits, distinct photos are 12 or more apart (benchmarks/RESULTS.md).
NEAR_DUPLICATE_DISTANCE = 4
#: How many groups of each kind the report lists in full.
MAX_LISTED_GROUPS = 1000


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
    return np.bitwise_count(np.bitwise_xor(a, b))


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
    image_component = _components(len(unique), rows, cols)[inverse]
    order = np.argsort(image_component, kind="stable")
    sorted_components = image_component[order]
    starts = np.flatnonzero(np.r_[True, sorted_components[1:] != sorted_components[:-1]])
    sizes = np.diff(np.r_[starts, n])
    groups = [sorted(order[s:s + k].tolist()) for s, k in zip(starts, sizes) if k > 1]
    return sorted(groups)


def _components(n: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``(n,)`` connected-component label (its smallest node) of each node of an undirected edge list.

    Union-find by vectorised pointer jumping: each round links every edge's larger root
    to its smaller one, then flattens the trees, until no edge joins two roots.
    """
    parent = np.arange(n)
    rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
    while True:
        a, b = parent[rows], parent[cols]
        joined = a != b
        if not joined.any():
            return parent
        low, high = np.minimum(a[joined], b[joined]), np.maximum(a[joined], b[joined])
        np.minimum.at(parent, high, low)
        while True:  # flatten: every node points at its root
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand


def _close_pairs(ph: np.ndarray, dh: np.ndarray, max_distance: int) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs ``(i < j)`` of distinct hashes within ``max_distance`` on both (a pair may repeat).

    Per band, the hashes are sorted by the band's value; every position is compared with the
    one ``offset`` places later for offset 1, 2, ... while that one is still in its run of
    equal values: each pair of a run once, all runs of a band in one vectorised step per offset.
    """
    n_bands = max_distance + 1
    edges = np.linspace(0, 64, n_bands + 1).round().astype(int)
    found_rows, found_cols = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for lo, hi in zip(edges[:-1], edges[1:]):
        band = (ph >> np.uint64(lo)) & np.uint64((1 << (hi - lo)) - 1)
        order = np.argsort(band, kind="stable")
        keys = band[order]
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        ends = np.repeat(np.r_[starts[1:], len(keys)], np.diff(np.r_[starts, len(keys)]))  # each run's end
        offset, position = 1, np.flatnonzero(ends - np.arange(len(keys)) > 1)
        while position.size:
            a, b = order[position], order[position + offset]
            close = (hamming(ph[a], ph[b]) <= max_distance) & (hamming(dh[a], dh[b]) <= max_distance)
            found_rows.append(np.minimum(a, b)[close])
            found_cols.append(np.maximum(a, b)[close])
            offset += 1
            position = position[position + offset < ends[position]]
    return np.concatenate(found_rows), np.concatenate(found_cols)


class DuplicateIndex:
    """Collects hashes record by record; groups them at the end.

    Memory is about 100 bytes per image (key, label, two hashes and a digest), the
    only part of the diagnostics that grows with the dataset.
    """

    def __init__(self, max_distance: int = NEAR_DUPLICATE_DISTANCE):
        self.max_distance = max_distance
        self.keys: list[str] = []
        self.labels: list[str | None] = []
        self._phash: list[int] = []
        self._dhash: list[int] = []
        self._first: dict[str, int] = {}
        self._exact: dict[int, list[int]] = {}
        self._unique: list[int] = []  # the first image of every distinct content
        self._near: list[list[int]] | None = None  # near_groups(), until the next add

    def add(self, record) -> None:
        if record.status != "ok" or record.phash is None:
            return
        self._near = None
        index = len(self.keys)
        self.keys.append(record.key)
        self.labels.append(record.label)
        first = self._first.setdefault(record.exact_hash, index)
        if first != index:
            self._exact.setdefault(first, [first]).append(index)
            return
        self._unique.append(index)
        self._phash.append(int(record.phash, 16))
        self._dhash.append(int(record.dhash, 16))

    def exact_groups(self) -> list[list[int]]:
        return sorted(self._exact.values())

    def near_groups(self) -> list[list[int]]:
        """Groups of distinct contents (each named by its first image) within the Hamming radius;
        computed once for the report, the HTML and ``duplicates.csv`` (again after an ``add``)."""
        if self._near is None:
            groups = near_duplicate_groups(np.array(self._phash, dtype=np.uint64),
                                           np.array(self._dhash, dtype=np.uint64), self.max_distance)
            self._near = [[self._unique[i] for i in group] for group in groups]
        return [list(group) for group in self._near]

    def groups(self) -> list[tuple[str, list[int]]]:
        """Every image in a group, as ``(kind, indices)``: a near group with its exact copies, or an exact group."""
        near = self.near_groups()
        out, covered = [], set()
        for group in near:
            members = sorted(i for first in group for i in self._exact.get(first, [first]))
            out.append(("near", members))
            covered.update(group)
        out.extend(("exact", g) for g in self.exact_groups() if g[0] not in covered)
        return sorted(out, key=lambda kind_group: kind_group[1][0])

    def label_conflicts(self) -> list[dict]:
        conflicts = []
        for group in self.exact_groups():
            labels = sorted({self.labels[i] for i in group if self.labels[i] is not None})
            if len(labels) > 1:
                conflicts.append({"labels": labels, "images": [[self.keys[i], self.labels[i]] for i in group]})
        return conflicts

    def result(self, settings: dict) -> dict:
        """Groups, label conflicts, and the copies an anchor meets as negatives at the batch size."""
        exact, near, groups = self.exact_groups(), self.near_groups(), self.groups()
        n = len(self.keys)
        conflicts = self.label_conflicts()
        return {
            "max_distance": self.max_distance,
            "images": n,
            "exact": _summary(exact, self.keys),
            "near": _summary(near, self.keys),
            "label_conflicts": {"count": len(conflicts), "listed": conflicts[:MAX_LISTED_GROUPS]},
            "groups_file": DUPLICATES_FILE if groups else None,
            "false_negatives": false_negative_rates([len(g) for _, g in groups], settings["batch_size"], total=n)
            if n >= 2 else None,
        }

    def write_groups(self, path) -> None:
        """``duplicates.csv``: ``path,group,kind`` for every image in a group (exact or near)."""
        import csv

        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["path", "group", "kind"])
            for group_id, (kind, members) in enumerate(self.groups()):
                writer.writerows([self.keys[i], group_id, kind] for i in members)


def _summary(groups: list[list[int]], keys: list[str]) -> dict:
    return {
        "groups": len(groups),
        "images_in_groups": sum(len(g) for g in groups),
        "redundant_images": sum(len(g) - 1 for g in groups),
        "listed": [[keys[i] for i in g] for g in groups[:MAX_LISTED_GROUPS]],
    }


def _pack(bits: np.ndarray) -> int:
    return int.from_bytes(np.packbits(bits.ravel()).tobytes(), "big")


#: How a training loop uses duplicates.csv (shown in the report).
NEGATIVES_SNIPPET = """import csv, torch
from pairgen.negatives import negative_mask

group_of = {row["path"]: int(row["group"]) for row in csv.DictReader(open("report/duplicates.csv"))}
groups = torch.tensor([group_of.get(path, -1) for path in batch_paths])  # -1: in no group
mask = negative_mask(groups=groups)  # copies are not each other's negatives"""


class DuplicatesSection(Section):
    """Exact copies, near duplicates, label conflicts; ``duplicates.csv`` of group ids."""

    name = "duplicates"

    def measure(self, batch: list[Measured], settings) -> None:
        for one in batch:
            one.record.dhash = f"{dhash(one.gray):016x}"  # from the analysis image: the grid loses detail
            one.record.phash = f"{phash(one.gray):016x}"

    def stats(self, settings: dict) -> DuplicateIndex:
        return DuplicateIndex(settings["near_duplicate_distance"])

    def export(self, accumulator: DuplicateIndex, folder) -> list:
        from pathlib import Path

        path = Path(folder) / DUPLICATES_FILE
        if not accumulator.groups():
            path.unlink(missing_ok=True)
            return []
        accumulator.write_groups(path)
        return [path]

    def html(self, result: dict, report: dict, preview) -> str:
        return _html(result, preview)

    def recommend(self, result: dict, report: dict) -> list[dict]:
        return _advice(result)


SECTION = DuplicatesSection()


def _html(dup: dict, preview) -> str:
    parts = [f"<section><h2>Duplicates</h2><p>{dup['exact']['groups']:,} exact-copy groups "
             f"({dup['exact']['redundant_images']:,} redundant files); {dup['near']['groups']:,} near-duplicate "
             f"groups ({dup['near']['images_in_groups']:,} images; pHash and dHash within "
             f"{dup['max_distance']} bits; exact copies count once).</p>"]
    conflicts = dup["label_conflicts"]
    if conflicts["count"]:
        rows = [[", ".join(escape(label) for label in c["labels"]),
                 "<br>".join(f"<code>{escape(k)}</code> ({escape(label)})" for k, label in c["images"][:10])]
                for c in conflicts["listed"][:HTML_ROWS]]
        parts.append(f"<h3>Label conflicts ({conflicts['count']:,}): identical files under different labels</h3>"
                     + table(["labels", "files"], rows, "files"))
    if dup["groups_file"]:
        parts.append(f"<p>Group ids of every copy: <code>{DUPLICATES_FILE}</code>. Keep copies from being each "
                     f"other's negatives:</p><pre>{escape(NEGATIVES_SNIPPET)}</pre>")
    fn = dup.get("false_negatives")
    if fn and dup["near"]["groups"]:
        parts.append(f"<p>At batch size {fn['batch_size']}, {pct(fn['p_at_least_one'], 2)} of anchors meet a "
                     f"copy of themselves (exact or near) as a negative.</p>")
    groups = dup["near"]["listed"]
    if groups:
        rows = []
        for index, group in enumerate(groups[:HTML_ROWS]):
            thumbs = "".join(thumb(preview, k) for k in group[:THUMB_PER_GROUP]) if index < THUMB_GROUPS else ""
            names = "<br>".join(f"<code>{escape(k)}</code>" for k in group[:10])
            more = f"<br>&hellip; {len(group) - 10} more" if len(group) > 10 else ""
            rows.append([str(len(group)), thumbs, names + more])
        parts.append(table(["size", "preview", "images"], rows, "files"))
    parts.append("</section>")
    return "".join(parts)


def _advice(dup: dict) -> list[dict]:
    out: list[dict] = []
    exact, near = dup["exact"], dup["near"]
    if exact["groups"]:
        add(out, "duplicates", f"Remove {exact['redundant_images']} exact copies ({exact['groups']} groups).",
            f"{exact['images_in_groups']} images in exact-duplicate groups")
    if dup["label_conflicts"]["count"]:
        add(out, "labels", f"Fix {dup['label_conflicts']['count']} label conflict(s): identical files filed under "
            "different labels.", "exact copies with different labels")
    if near["groups"]:
        fn = dup["false_negatives"]
        add(out, "negatives", f"Pass the group ids of {DUPLICATES_FILE} to `negative_mask(groups=...)` (or "
            "deduplicate) so copies are not pushed apart as negatives.",
            f"{near['groups']} near-duplicate groups; {fn['p_at_least_one']:.1%} of anchors meet a copy per batch")
    return out
