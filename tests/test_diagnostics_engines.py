"""Other sources and engines: WebDataset tar shards, Hugging Face datasets, Ray Data (same figures as local)."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
from diagnostics_data import jpeg_bytes, photo

from pairgen.cli import main
from pairgen.diagnostics import diagnose
from pairgen.diagnostics.pipeline import RECORDS_FILE, _read_records

NAMES = ("astronaut", "chelsea", "coffee", "rocket", "camera", "coins")
PER_IMAGE = ("salient_fraction", "components", "dominant_share", "spread", "scene_score", "object_centric",
             "brightness", "blur", "phash", "exact_hash", "width", "height")


def write_folder(root: Path) -> Path:
    for i, name in enumerate(NAMES):
        (root / ("a" if i % 2 else "b")).mkdir(parents=True, exist_ok=True)
        (root / ("a" if i % 2 else "b") / f"{name}.jpg").write_bytes(jpeg_bytes(photo(name)))
    (root / "b" / "broken.jpg").write_bytes(b"not a jpeg at all")
    return root


def write_shards(folder: Path, out: Path) -> list[Path]:
    """WebDataset layout: sample NAME has NAME.jpg and NAME.cls; two shards."""
    files = sorted(folder.rglob("*.jpg"))
    shards = [out / f"train-{i:04d}.tar" for i in range(2)]
    for i, shard in enumerate(shards):
        with tarfile.open(shard, "w") as archive:
            for path in files[i::2]:
                for member, data in ((f"{path.stem}.jpg", path.read_bytes()), (f"{path.stem}.cls", path.parent.name.encode())):
                    info = tarfile.TarInfo(member)
                    info.size = len(data)
                    archive.addfile(info, io.BytesIO(data))
    return shards


def by_name(out: Path) -> dict:
    return {Path(r.key).name: r for r in _read_records(out / RECORDS_FILE)}


def test_webdataset_shards_read_in_place_with_labels(tmp_path):
    folder = write_folder(tmp_path / "photos")
    write_shards(folder, tmp_path)
    report = diagnose(str(tmp_path / "train-*.tar"), out=tmp_path / "tar", workers=0, html=False)
    diagnose(folder, out=tmp_path / "folder", workers=0, html=False)
    tar, plain = by_name(tmp_path / "tar"), by_name(tmp_path / "folder")
    assert set(tar) == set(plain)
    assert tar["broken.jpg"].status == "bad" and "not an image" in tar["broken.jpg"].reason
    for name, record in plain.items():
        assert tar[name].label == record.label, name
        for field in PER_IMAGE:  # the same bytes give the same measurements
            assert getattr(tar[name], field) == getattr(record, field), (name, field)
    assert report["labels"]["counts"] == {"a": 3, "b": 3}
    assert main(["diagnose", str(tmp_path / "nothing-*.tar"), "--out", str(tmp_path / "x"), "--quiet"]) == 2


def test_hugging_face_dataset_image_column(tmp_path):
    datasets = pytest.importorskip("datasets")
    from PIL import Image

    images = [Image.fromarray(photo(n)) for n in NAMES]
    features = datasets.Features({"image": datasets.Image(), "label": datasets.ClassLabel(names=["cat", "other"])})
    table = datasets.Dataset.from_dict({"image": images, "label": [int(n != "chelsea") for n in NAMES]},
                                       features=features)
    table.save_to_disk(str(tmp_path / "hf"))
    report = diagnose(tmp_path / "hf", out=tmp_path / "out", workers=0, html=False)
    assert report["inventory"]["readable"] == len(NAMES)
    assert report["labels"]["counts"] == {"cat": 1, "other": 5}


def _figures(report: dict) -> dict:
    """Everything but when and how it ran."""
    drop = {"created", "timing"}
    out = {k: v for k, v in report.items() if k not in drop}
    return json.loads(json.dumps(out))


@pytest.mark.slow
def test_ray_engine_gives_the_local_figures(tmp_path):
    pytest.importorskip("ray.data")
    folder = write_folder(tmp_path / "photos")
    local = diagnose(folder, out=tmp_path / "local", workers=0, cache=False, html=False, batch_size=4)
    ray = diagnose(folder, out=tmp_path / "ray", engine="ray", workers=2, cache=False, html=False, batch_size=4)
    assert ray["timing"]["engine"] == "ray" and ray["timing"]["items"] == len(NAMES) + 1
    assert _figures(ray) == _figures(local)
    assert (tmp_path / "ray" / RECORDS_FILE).read_text() == (tmp_path / "local" / RECORDS_FILE).read_text()
