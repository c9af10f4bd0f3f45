"""End to end: cache, shards and merge, schema, HTML, CLI exit codes, timeouts, photos-dev verdicts."""

from __future__ import annotations

import csv
import json
import os
import re
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from diagnostics_data import PHOTOS, jpeg_bytes, photo

from pairgen.cli import main
from pairgen.diagnostics import SCHEMA_VERSION, diagnose, merge
from pairgen.diagnostics.pipeline import RECORDS_FILE, _read_records
from pairgen.diagnostics.records import ImageRecord, finite_json

SECTIONS = ("inventory", "centricity", "pair_quality", "duplicates", "labels", "shortcuts", "recommendations")


def build_photo_folder(root: Path) -> None:
    """Two classes of real photos, two exact copies (one under the other label), one resized+recompressed
    copy and an empty file."""
    for i, name in enumerate(PHOTOS):
        folder = root / ("indoor" if i % 2 else "outdoor")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.jpg").write_bytes(jpeg_bytes(photo(name)))
    (root / "outdoor" / "astronaut_copy.jpg").write_bytes((root / "outdoor" / "astronaut.jpg").read_bytes())
    (root / "indoor" / "astronaut_again.jpg").write_bytes((root / "outdoor" / "astronaut.jpg").read_bytes())
    chelsea = photo("chelsea")
    small = cv2.resize(chelsea, (chelsea.shape[1] // 2, chelsea.shape[0] // 2), interpolation=cv2.INTER_AREA)
    (root / "indoor" / "chelsea_small.jpg").write_bytes(jpeg_bytes(small, quality=60))
    (root / "indoor" / "broken.jpg").write_bytes(b"")


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("photos") / "data"
    build_photo_folder(root)
    return root


@pytest.fixture(scope="module")
def full_report(photo_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("full")
    return diagnose(photo_folder, out=out, workers=0, batch_size=8), out


def test_report_sections_schema_and_duplicates(full_report, photo_folder):
    report, out = full_report
    on_disk = json.loads((out / "report.json").read_text())
    assert on_disk["schema_version"] == SCHEMA_VERSION == report["schema_version"]
    assert all(section in on_disk for section in SECTIONS)
    assert report["inventory"]["readable"] == len(PHOTOS) + 3 and report["inventory"]["bad"] == 1
    names = lambda groups: sorted(sorted(Path(p).name for p in g) for g in groups)  # noqa: E731
    dup = report["duplicates"]
    assert names(dup["exact"]["listed"]) == [["astronaut.jpg", "astronaut_again.jpg", "astronaut_copy.jpg"]]
    # Exact copies are one image to the near-duplicate search: they are not counted again.
    assert names(dup["near"]["listed"]) == [["chelsea.jpg", "chelsea_small.jpg"]]
    [conflict] = dup["label_conflicts"]["listed"]
    assert conflict["labels"] == ["indoor", "outdoor"] and len(conflict["images"]) == 3
    with open(out / "duplicates.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    groups = {}
    for row in rows:
        groups.setdefault((row["group"], row["kind"]), []).append(Path(row["path"]).name)
    assert sorted((kind, sorted(v)) for (_, kind), v in groups.items()) == [
        ("exact", ["astronaut.jpg", "astronaut_again.jpg", "astronaut_copy.jpg"]),
        ("near", ["chelsea.jpg", "chelsea_small.jpg"])]
    # Every copy is a false negative of the others: group sizes 3 and 2 among the readable images.
    n = report["inventory"]["readable"]
    assert dup["false_negatives"]["fraction_of_negatives"] == pytest.approx((3 * 2 + 2 * 1) / (n * (n - 1)))
    assert any("negative_mask(groups=" in r["text"] for r in report["recommendations"])
    assert any(r["topic"] == "labels" and "conflict" in r["text"] for r in report["recommendations"])
    assert set(report["labels"]["counts"]) == {"indoor", "outdoor"}
    assert set(report["pair_quality"]) == {"simclr"}
    assert 0 < report["pair_quality"]["simclr"]["object_sharing_rate"] < 1
    assert any(r["topic"] == "files" for r in report["recommendations"])
    page = (out / "report.html").read_text()
    # No external links (base64 images may spell "http" by chance: leave them out).
    text = re.sub(r"data:image/[a-z]+;base64,[A-Za-z0-9+/=]+", "", page)
    assert page.count('<svg class="plot"') >= 5 and "http" not in text.replace("http-equiv", "")
    assert "broken.jpg" in page and "empty file" in page
    # Thumbnails for the findings: most scene-centric, worst pairs (boxes drawn), grayscale, duplicates.
    for heading in ("Most scene-centric images", "Worst pairs of", "Grayscale images", "Label conflicts"):
        assert heading in page
    assert page.count("data:image/jpeg;base64,") >= 8 + len(report["pair_quality"]["simclr"]["worst_pairs"])
    assert "negative_mask(groups=groups)" in page


def test_shards_merge_to_the_full_scan(full_report, photo_folder, tmp_path):
    report, _ = full_report
    shards = [tmp_path / f"shard{i}" for i in range(3)]
    for i, folder in enumerate(shards):
        diagnose(photo_folder, out=folder, workers=0, batch_size=8, shard=f"{i}/3", html=False)
    merged = merge(list(reversed(shards)), out=tmp_path / "merged", html=False)
    for section in SECTIONS:
        assert merged[section] == report[section], section
    with pytest.raises(ValueError, match="exactly once"):
        merge(shards[:2], out=tmp_path / "partial")


def test_cache_rescans_only_changed_files(photo_folder, tmp_path):
    folder = tmp_path / "data"
    build_photo_folder(folder)
    first = diagnose(folder, out=tmp_path / "out", workers=0, html=False)
    second = diagnose(folder, out=tmp_path / "out", workers=0, html=False)
    cacheable = first["inventory"]["items"]
    assert first["timing"]["cache_hits"] == 0 and second["timing"]["cache_hits"] == cacheable
    for section in SECTIONS:
        assert second[section] == first[section], section
    changed = folder / "outdoor" / "coffee.jpg"
    changed.write_bytes(jpeg_bytes(photo("coffee")[:, ::-1]))  # same size class, new content
    os.utime(changed, ns=(time.time_ns(), time.time_ns() + 1_000_000_000))
    (folder / "outdoor" / "new.jpg").write_bytes(jpeg_bytes(photo("rocket")[::2, ::2]))
    before = {Path(r.key).name: r for r in _read_records(tmp_path / "out" / RECORDS_FILE)}
    third = diagnose(folder, out=tmp_path / "out", workers=0, html=False)
    assert third["timing"]["cache_hits"] == cacheable - 1
    after = {Path(r.key).name: r for r in _read_records(tmp_path / "out" / RECORDS_FILE)}
    assert after["coffee.jpg"].exact_hash != before["coffee.jpg"].exact_hash
    assert after["new.jpg"].status == "ok" and "new.jpg" not in before


def test_refitted_verdicts_rescan_the_cache(photo_folder, tmp_path, monkeypatch):
    import dataclasses

    from pairgen.diagnostics import analysis

    first = diagnose(photo_folder, out=tmp_path / "out", workers=0, html=False)
    assert first["timing"]["cache_hits"] == 0
    # every cached record holds its verdict: new constants must not reuse them
    monkeypatch.setattr(analysis, "WEIGHT_FREE", dataclasses.replace(analysis.WEIGHT_FREE, bias=5.0))
    again = diagnose(photo_folder, out=tmp_path / "out", workers=0, html=False)
    assert again["timing"]["cache_hits"] == 0


def test_cli_exit_codes(photo_folder, tmp_path, capsys):
    out = str(tmp_path / "cli")
    base = ["diagnose", str(photo_folder), "--out", out, "--quiet", "--workers", "0", "--batch-size", "8"]
    assert main(base) == 0
    assert "items" in capsys.readouterr().out and (tmp_path / "cli" / "report.html").is_file()
    base.append("--no-html")
    assert main(base + ["--fail-on", "bad,false-negatives:0.99"]) == 1
    assert "FAIL bad: 1 unreadable" in capsys.readouterr().out
    assert main(base + ["--fail-on", "scene-centric,bad:5"]) == 0
    assert main(base + ["--fail-on", "nonsense"]) == 2
    assert main(["diagnose", str(tmp_path / "missing"), "--out", out, "--quiet"]) == 2
    assert main(base + ["--shard", "3/2"]) == 2
    assert main(base + ["--recipe", "no-such-recipe"]) == 2
    capsys.readouterr()
    for bad in (["--batch-size", "0"], ["--pairs-per-image", "0"], ["--workers", "-1"], ["--limit", "-3"]):
        assert main(base + bad) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and bad[0].lstrip("-").replace("-", "_") in err, err
    (tmp_path / "empty").mkdir()
    assert main(["diagnose", str(tmp_path / "empty"), "--out", out, "--quiet"]) == 2
    assert "no images found" in capsys.readouterr().err
    shards = []
    for i in range(2):
        shards.append(str(tmp_path / f"s{i}"))
        assert main(["diagnose", str(photo_folder), "--out", shards[-1], "--quiet", "--workers", "0",
                     "--shard", f"{i}/2", "--no-html"]) == 0
    labels = tmp_path / "centricity.csv"
    labels.write_text("file,centricity\ncoins.jpg,scene\nchelsea.jpg,object\nastronaut.jpg,object\n")
    assert main(["diagnose-merge", *shards, "--out", str(tmp_path / "m"), "--fail-on", "exact-duplicates",
                 "--no-html", "--centricity-labels", str(labels)]) == 1
    agreement = json.loads((tmp_path / "m" / "report.json").read_text())["centricity"]["agreement"]
    assert agreement["images"] == 3 and sum(sum(row.values()) for row in agreement["confusion"].values()) == 3


class SlowDataset:
    """Item 2 never finishes in time."""

    def __len__(self):
        return 4

    def __getitem__(self, index):
        if index == 2:
            time.sleep(60)
        return photo("coffee")[::4, ::4]


def test_an_item_that_hangs_is_listed_as_timed_out(tmp_path):
    start = time.perf_counter()
    report = diagnose(SlowDataset(), out=tmp_path, workers=1, item_timeout=1.0, html=False)
    assert time.perf_counter() - start < 20
    assert report["inventory"]["readable"] == 3, report["inventory"]["bad_files"]
    assert report["inventory"]["bad_files"] == [{"path": "#2", "reason": "timed out: analysis took longer than 1 s"}]


def test_sidecar_masks_replace_the_computed_saliency(tmp_path):
    (tmp_path / "images" / "cats").mkdir(parents=True)
    (tmp_path / "masks" / "cats").mkdir(parents=True)
    chelsea = photo("chelsea")  # 451 x 300
    (tmp_path / "images" / "cats" / "chelsea.jpg").write_bytes(jpeg_bytes(chelsea))
    mask = np.zeros(chelsea.shape[:2], np.uint8)
    mask[:150, :] = 255  # top half
    mask[200:250, 20:60] = 255  # a second, small blob: 2000 / 135300 = 1.5% of the image
    cv2.imwrite(str(tmp_path / "masks" / "cats" / "chelsea.png"), mask)
    diagnose(tmp_path / "images", out=tmp_path / "out", workers=0, mask_dir=tmp_path / "masks", html=False)
    [record] = _read_records(tmp_path / "out" / RECORDS_FILE)
    assert record.salient_fraction == pytest.approx((150 * 451 + 50 * 40) / (300 * 451), abs=0.02)
    assert record.components == 2 and record.object_centric
    assert record.centroid_y < 0.3
    # The same map as a sidecar next to the image (pairgen.saliency's naming rule), as .npy: the
    # sidecar is used, and not scanned as an image itself.
    np.save(tmp_path / "images" / "cats" / "chelsea.saliency.npy", mask[::-1] / 255.0)  # bottom half now
    report = diagnose(tmp_path / "images", out=tmp_path / "out2", workers=0, html=False)
    [record, sidecar] = _read_records(tmp_path / "out2" / RECORDS_FILE)
    assert record.centroid_y > 0.7 and record.components == 2
    assert (sidecar.status, sidecar.reason) == ("skipped", "saliency sidecar")
    assert report["inventory"]["readable"] == 1


def test_records_round_trip_and_json_never_holds_nan():
    record = ImageRecord(key="a.jpg", ordinal=3, label="cat", notes=["CMYK converted to RGB"], pairs={"simclr": [None, 0.4]})
    assert ImageRecord.from_dict(json.loads(finite_json(record.to_dict()))) == record
    assert finite_json({"a": float("nan"), "b": [1.0, float("inf")]}) == '{"a": null, "b": [1.0, null]}'
    with pytest.raises(ValueError, match="unknown record fields"):
        ImageRecord.from_dict({"key": "a", "ordinal": 0, "colour": 1})
