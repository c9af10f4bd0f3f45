"""Bad and awkward input: the scan never crashes, lists every bad file with its reason, reads 16-bit right."""

from __future__ import annotations

import csv
import io
import json
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import simplejpeg
import torch
from diagnostics_data import RAMP16, build_bad_folder, exif_rotated_jpeg, jpeg_bytes, photo
from PIL import Image

from pairgen.diagnostics import diagnose
from pairgen.diagnostics.decode import DEFAULT_MAX_PIXELS, BadImage, _pillow, _turbo_jpeg, decode_bytes, decode_object
from pairgen.diagnostics.pipeline import RECORDS_FILE, _read_records


def records_by_name(out: Path, root: Path) -> dict:
    return {str(Path(r.key).relative_to(root)): r for r in _read_records(out / RECORDS_FILE)}


@pytest.fixture(scope="module")
def bad_scan(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad")
    expected = build_bad_folder(tmp / "data")
    report = diagnose(tmp / "data", out=tmp / "out", workers=2, cache=False, html=False)
    return expected, report, records_by_name(tmp / "out", tmp / "data")


def test_every_item_gets_its_expected_status(bad_scan):
    expected, report, records = bad_scan
    assert {name: r.status for name, r in records.items()} == expected
    inventory = report["inventory"]
    assert inventory["readable"] == sum(s == "ok" for s in expected.values())
    assert inventory["bad"] == sum(s == "bad" for s in expected.values())
    assert inventory["skipped"] == sum(s == "skipped" for s in expected.values())
    listed = {str(Path(b["path"]).name): b["reason"] for b in inventory["bad_files"]}
    assert set(listed) == {Path(n).name for n, s in expected.items() if s == "bad"}


@pytest.mark.parametrize("name,reason", [
    ("truncated.jpg", "truncated"), ("empty.jpg", "empty file"), ("text.jpg", "not an image"),
    ("bomb.png", "decompression bomb"), ("loop.jpg", "symlink loop"), ("sub/back", "symlink loop"),
    ("pipe.jpg", "not a regular file"), (".hidden.jpg", "hidden file"), ("README.txt", "not an image file")])
def test_reasons_say_what_is_wrong(bad_scan, name, reason):
    assert reason in bad_scan[2][name].reason


def test_convertible_images_are_converted_and_noted(bad_scan):
    records = bad_scan[2]
    notes = {name: " ".join(r.notes) for name, r in records.items()}
    assert "content is PNG" in notes["png_named.jpg"]
    assert "CMYK" in notes["cmyk.jpg"] and "alpha" in notes["rgba.png"]
    assert "palette" in notes["palette.png"] and "1-bit" in notes["onebit.png"]
    assert "tiny" in notes["onepixel.png"] and "extreme aspect" in notes["tall.png"]
    # CMYK and palette versions of the same photo look like the JPEG (converted, not garbled).
    good = records["good.jpg"].brightness
    assert records["cmyk.jpg"].brightness == pytest.approx(good, abs=0.02)
    assert records["palette.png"].brightness == pytest.approx(good, abs=0.02)
    assert records["onepixel.png"].width == 1 and records["tall.png"].height == 2000
    assert records["onebit.png"].grayscale and not records["good.jpg"].grayscale


def test_exif_orientation_is_noted_not_applied(bad_scan):
    record = bad_scan[2]["exif_rotated.jpg"]
    chelsea = photo("chelsea")
    assert "EXIF orientation 6 not applied" in " ".join(record.notes)
    assert (record.height, record.width) == chelsea.shape[:2]  # as stored, as training reads it
    assert "EXIF" not in " ".join(bad_scan[2]["good.jpg"].notes)


def pillow_fit(data: bytes, factor: int, side: int) -> np.ndarray:
    """Reference: Pillow's own DCT scaling by ``factor`` (1, 2, 4, 8), then an exact area resize to ``side``."""
    image = Image.open(io.BytesIO(data))
    width, height = image.size
    image.draft(image.mode, (width // factor, height // factor))
    rgb = np.asarray(image.convert("RGB"))
    scale = min(1.0, side / max(rgb.shape[:2]))
    size = (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale))
    return rgb if scale == 1.0 else cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


@pytest.mark.parametrize("side", [512, 500, 777, 300, 1024, 2048])
@pytest.mark.parametrize("kind", ["colour", "gray"])
def test_jpegs_are_pillows_draft_scale_decoded_for_each_side_alone(side, kind):
    """One decode serves the analysis image and the canvas only where their DCT scales agree; each is
    pixel for pixel Pillow's decode at its draft scale, area-resized."""
    rgb = np.ascontiguousarray(Image.fromarray(photo("astronaut")).resize((side, round(side * 0.75)),
                                                                         Image.Resampling.LANCZOS))
    buffer = io.BytesIO()
    Image.fromarray(rgb).convert("L" if kind == "gray" else "RGB").save(buffer, format="JPEG", quality=85)
    data = buffer.getvalue()
    assert _turbo_jpeg(data, "x.jpg", DEFAULT_MAX_PIXELS, 256, 512) is not None  # libjpeg-turbo's path
    both = decode_bytes(data, side=256, canvas_side=512)
    assert np.array_equal(both.rgb, decode_bytes(data, side=256).rgb)
    assert np.array_equal(both.canvas, decode_bytes(data, side=512).rgb)
    assert max(both.rgb.shape[:2]) == min(256, side) and max(both.canvas.shape[:2]) == min(512, side)
    for image, target in ((both.rgb, 256), (both.canvas, 512)):
        factor = max(f for f in (1, 2, 4, 8) if side // f >= target or f == 1)
        assert np.array_equal(image, pillow_fit(data, factor, target))
    assert both.mode == ("L" if kind == "gray" else "RGB") and both.gray_source == (kind == "gray")


def test_jpegs_libjpeg_turbo_does_not_take_are_pillows(capfd):
    """CMYK, multi-picture and damaged JPEGs are Pillow's: its mode, its format name, its quiet reading."""
    chelsea = photo("chelsea")
    cmyk = io.BytesIO()
    Image.fromarray(chelsea).convert("CMYK").save(cmyk, format="JPEG")
    decoded = decode_bytes(cmyk.getvalue(), name="x.jpg")
    assert decoded.mode == "CMYK" and "CMYK converted" in " ".join(decoded.notes)
    assert np.array_equal(decoded.rgb, pillow_fit(cmyk.getvalue(), 1, 256))
    mpo = io.BytesIO()
    Image.fromarray(chelsea).save(mpo, format="MPO", save_all=True, append_images=[Image.fromarray(chelsea[::-1])])
    assert decode_bytes(mpo.getvalue(), name="x.jpg").format == "MPO"
    damaged = bytearray(jpeg_bytes(chelsea))
    middle = len(damaged) // 2
    damaged[middle:middle + 100] = bytes(b ^ 0x55 for b in damaged[middle:middle + 100])  # damaged entropy-coded data
    with pytest.raises(ValueError):
        simplejpeg.decode_jpeg(bytes(damaged))
    assert np.array_equal(decode_bytes(bytes(damaged)).rgb, pillow_fit(bytes(damaged), 1, 256))
    assert capfd.readouterr().err == ""  # read quietly: no "Corrupt JPEG data" from the C library


def test_an_xmp_orientation_is_noted_as_pillow_reads_it():
    buffer = io.BytesIO()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description tiff:Orientation="8"/></x:xmpmeta>'
    Image.fromarray(photo("chelsea")).save(buffer, format="JPEG", xmp=xmp)
    assert "EXIF orientation 8 not applied" in " ".join(decode_bytes(buffer.getvalue()).notes)


def test_a_corrupt_exif_block_is_no_fault(recwarn):
    buffer = io.BytesIO()
    Image.fromarray(photo("chelsea")).save(buffer, format="JPEG", exif=b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x01\x00\x12\x01")
    decoded = decode_bytes(buffer.getvalue())
    assert decoded.rgb.shape[2] == 3 and not any("EXIF" in n for n in decoded.notes)
    assert not [w for w in recwarn if "EXIF" in str(w.message)]


def test_a_truncated_jpeg_is_bad():
    data = jpeg_bytes(photo("astronaut"))
    for cut in (len(data) // 2, len(data) - 2):
        with pytest.raises(BadImage, match="truncated"):
            decode_bytes(data[:cut])


def test_sixteen_bit_images_are_scaled_by_their_bit_depth(bad_scan):
    records = bad_scan[2]
    truth = RAMP16.astype(np.float64).mean() / 65535  # 0.5; clipping at 255 would give ~1.0
    for name in ("gray16.png", "rgb16.png"):
        assert records[name].bit_depth == 16
        assert records[name].brightness == pytest.approx(truth, abs=0.005)


def test_decoders_reject_with_reasons_and_accept_arrays():
    with pytest.raises(BadImage, match="max_pixels"):
        decode_bytes(jpeg_bytes(photo("chelsea")), max_pixels=1000)
    decoded = decode_object(torch.from_numpy(RAMP16.astype(np.float32) / 65535)[None])  # CHW float
    assert decoded.rgb.mean() / 255 == pytest.approx(0.5, abs=0.01) and decoded.gray_source
    with pytest.raises(BadImage, match="NaN"):
        decode_object(np.full((4, 4), np.nan, np.float32))
    with pytest.raises(BadImage, match="shape"):
        decode_object(np.zeros((2, 3, 4, 5), np.uint8))
    assert decode_object(Image.fromarray(RAMP16)).rgb.mean() / 255 == pytest.approx(0.5, abs=0.01)


def test_file_lists_with_labels_and_missing_files(tmp_path):
    for name in ("a.jpg", "b.jpg"):
        (tmp_path / name).write_bytes(jpeg_bytes(photo("coffee")))
    with open(tmp_path / "list.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["filename", "label"])
        writer.writerows([["a.jpg", "cup"], ["b.jpg", "cup"], ["missing.jpg", "cup"]])
    (tmp_path / "list.json").write_text(json.dumps([{"path": "a.jpg", "label": 1}, "missing.jpg"]))
    report = diagnose(tmp_path / "list.csv", out=tmp_path / "out_csv", workers=0, html=False)
    assert (report["inventory"]["readable"], report["inventory"]["bad"]) == (2, 1)
    assert report["labels"]["counts"] == {"cup": 2}
    assert "not found" in report["inventory"]["bad_files"][0]["reason"]
    assert report["duplicates"]["exact"]["groups"] == 1
    report = diagnose(tmp_path / "list.json", out=tmp_path / "out_json", workers=0, html=False)
    assert report["labels"]["counts"] == {"1": 1} and report["inventory"]["bad"] == 1
    with pytest.raises(ValueError, match="path column"):
        (tmp_path / "nopath.csv").write_text("x,label\na.jpg,1\n")
        diagnose(tmp_path / "nopath.csv", out=tmp_path / "o", html=False)


class ArrayDataset:
    """A map-style dataset of (image, label) with one item that raises and one that is not an image."""

    classes = ["zero", "one"]

    def __init__(self):
        self.images = [photo("astronaut"), torch.from_numpy(photo("coffee")).permute(2, 0, 1), photo("rocket")]

    def __len__(self):
        return 5

    def __getitem__(self, index):
        if index == 3:
            raise RuntimeError("disk on fire")
        if index == 4:
            return "not an image", 0
        return self.images[index], index % 2


def test_python_dataset_items_and_failures(tmp_path):
    report = diagnose(ArrayDataset(), out=tmp_path, workers=0, html=False)
    assert (report["inventory"]["readable"], report["inventory"]["bad"]) == (3, 2)
    assert report["labels"]["counts"] == {"zero": 2, "one": 1}
    reasons = {b["path"]: b["reason"] for b in report["inventory"]["bad_files"]}
    assert "disk on fire" in reasons["#3"] and "not an image array" in reasons["#4"]
    records = list(_read_records(tmp_path / RECORDS_FILE))
    assert records[1].width == 600 and records[1].height == 400  # CHW tensor read as CHW


@pytest.mark.parametrize("root", [".", "./", "tree", "tree/"])
def test_folder_walk_matches_a_pathlib_reference(tmp_path, monkeypatch, root):
    """Keys, labels and sidecars of the string walk, against pathlib's spelling of the same tree."""
    from pairgen.diagnostics.inputs import FolderSource
    from pairgen.saliency import sidecar_candidates

    tree = tmp_path / "tree"
    files = ["top.jpg", "cat/a.jpg", "cat/a.saliency.png", "cat/b.c.jpg", "cat/b.c_saliency.npy", "dog/c.",
             "dog/c..saliency.png", "dog/x.saliency.", "dog/deep/d.png", "dog/noext"]
    for name in files:
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_bytes(b"x")
    monkeypatch.chdir(tree if root.startswith(".") else tmp_path)
    base = Path(root)
    expected = []
    for path in sorted(base.rglob("*")):
        if path.is_dir() or any(path.stem.endswith(infix) for infix in (".saliency", "_saliency")):
            continue
        rel = path.relative_to(base)
        sidecar = next((str(c) for c in sidecar_candidates(path) if c.is_file()), None)
        expected.append((str(path), rel.parts[0] if len(rel.parts) > 1 else None, sidecar))
    walked = [(i.key, i.label, i.mask_path) for i in FolderSource(root).items() if i.skip is None]
    assert sorted(walked) == sorted(expected)
    assert ("dog/c." if root.startswith(".") else "tree/dog/c.") in {k for k, _, m in walked if m}


def test_a_file_is_read_whole_and_a_file_over_the_limit_is_bad(tmp_path, monkeypatch):
    from pairgen.diagnostics.analysis import ScanSettings, _load_file
    from pairgen.diagnostics.hashing import exact_hash
    from pairgen.diagnostics.inputs import Item

    data = jpeg_bytes(photo("chelsea"))
    (tmp_path / "cat.jpg").write_bytes(data)
    item = Item(key="cat.jpg", ordinal=0, path=str(tmp_path / "cat.jpg"))  # no size from a listing
    decoded, digest, _ = _load_file(item, ScanSettings())
    assert (decoded.width, decoded.height) == (451, 300) and digest == exact_hash(data)  # every byte read
    with pytest.raises(BadImage, match="file too large"):
        _load_file(item, ScanSettings(max_file_bytes=len(data) - 1))
    assert _load_file(item, ScanSettings(max_file_bytes=len(data)))[0].width == 451
    import os

    real_fstat = os.fstat
    for stale in (0, 10, len(data) - 1):  # the file grew after its size was read: it is read on, to its end
        monkeypatch.setattr(os, "fstat", lambda fd, stale=stale: os.stat_result((0,) * 6 + (stale,) + (0,) * 3))
        assert _load_file(item, ScanSettings())[1] == digest
        with pytest.raises(BadImage, match="file too large"):
            _load_file(item, ScanSettings(max_file_bytes=len(data) - 1))
        monkeypatch.setattr(os, "fstat", real_fstat)


def _outcome(decode, data: bytes):
    """What a decoder makes of ``data``: its reason, or the decoded images and what it says of them."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            decoded = decode(data, "x.jpg", DEFAULT_MAX_PIXELS, 256, 512)
    except BadImage as err:
        return str(err)
    return decoded.rgb.tobytes(), decoded.canvas.tobytes(), decoded.format, decoded.mode, decoded.notes


def _with_segment(data: bytes, segment: bytes, replace_first: bool = False) -> bytes:
    """``data`` with ``segment`` right after its SOI marker (in place of its first segment)."""
    rest = data[2:]
    if replace_first:
        rest = rest[2 + int.from_bytes(rest[2:4], "big"):]
    return data[:2] + segment + rest


def test_headers_pillow_may_refuse_and_bombs_get_pillows_verdict():
    """Odd headers that libjpeg would take (a short JFIF segment, a bare ICC segment, a TEM marker, the last
    with an XMP packet) and a bomb are Pillow's path: the same verdict and reason as Pillow's decode alone."""
    plain = jpeg_bytes(photo("chelsea"))
    xmp = b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta/>"
    sof = plain.index(b"\xff\xc0")
    cases = {
        "short JFIF": _with_segment(plain, b"\xff\xe0\x00\x07JFIF\x00", replace_first=True),
        "bare ICC": _with_segment(plain, b"\xff\xe2\x00\x0eICC_PROFILE\x00"),
        "TEM marker": _with_segment(plain, b"\xff\x01"),
        "TEM + XMP": _with_segment(_with_segment(plain, b"\xff\x01"), b"\xff\xe1" + (len(xmp) + 2).to_bytes(2, "big") + xmp),
        "bomb": plain[:sof + 5] + (60000).to_bytes(2, "big") * 2 + plain[sof + 9:],
    }
    assert _turbo_jpeg(plain, "x.jpg", DEFAULT_MAX_PIXELS, 256, 512) is not None
    for name, data in cases.items():
        assert _turbo_jpeg(data, "x.jpg", DEFAULT_MAX_PIXELS, 256, 512) is None, name
        expected = _outcome(_pillow, data)
        assert _outcome(lambda *a: decode_bytes(a[0], name=a[1], max_pixels=a[2], side=a[3], canvas_side=a[4]),
                        data) == expected, name
    assert "bomb" in _outcome(_pillow, cases["bomb"]) and "not an image" in _outcome(_pillow, cases["TEM marker"])
