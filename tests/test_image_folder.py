import warnings

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from pairgen import PairSampler
from pairgen.cli import main
from pairgen.datasets import ImageFolder


@pytest.fixture()
def folder(tmp_path, photos):
    for label, names in {"cats": ["chelsea"], "things": ["coffee", "rocket"]}.items():
        (tmp_path / label).mkdir()
        for name in names:
            Image.fromarray(photos[name]).save(tmp_path / label / f"{name}.jpg")
    mask = np.zeros(photos["coffee"].shape[:2], np.uint8)
    mask[100:300, 150:450] = 255
    Image.fromarray(mask[::2, ::2].copy()).save(tmp_path / "things" / "coffee.saliency.png")  # any resolution
    (tmp_path / ".hidden.jpg").write_bytes(b"")
    return tmp_path


def test_folder_items_labels_and_sidecars(folder):
    dataset = ImageFolder(folder)
    assert [p.name for p in dataset.files] == ["chelsea.jpg", "coffee.jpg", "rocket.jpg"]
    assert dataset.classes == ["cats", "things"]
    items = [dataset[i] for i in range(3)]
    assert [item["label"] for item in items] == [0, 1, 1]
    assert "saliency" not in items[0] and items[1]["saliency"].max() == 1.0
    sampler = PairSampler("cast", size=48, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # items without a sidecar get built-in maps: nothing is empty
        pairs = next(iter(DataLoader(dataset, batch_size=3, collate_fn=sampler.collate)))
    assert torch.equal(pairs.labels, torch.tensor([0, 1, 1]))
    # The coffee crops come from its sidecar: both views cover >= 20% (CAST's min_areacover) of the 300 x 200 box.
    for params in pairs.params:
        x1, y1, x2, y2 = params.boxes[1].tolist()
        overlap = max(0, min(x2, 450) - max(x1, 150)) * max(0, min(y2, 300) - max(y1, 100))
        assert overlap >= 0.2 * 300 * 200 - 4 * 600 or bool(params.fallback_used[1])


def test_preview_uses_sidecar_saliency(folder, tmp_path, capsys):
    out = tmp_path / "p.png"
    assert main(["preview", str(folder / "things" / "coffee.jpg"), "--recipe", "cast", "--out", str(out), "--size", "48"]) == 0
    assert out.is_file()


def test_bad_folders_and_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="root"):
        ImageFolder(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="no images"):
        ImageFolder(tmp_path)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    with pytest.raises(OSError, match="broken.jpg"):
        ImageFolder(tmp_path)[0]
