import cv2
import numpy as np
import pytest
import torch
from skimage import data

from pairgen.saliency import SALIENCY_KEY, load_saliency, sidecar_candidates, to_saliency_map


@pytest.fixture
def ramp16() -> np.ndarray:
    return (np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000).astype(np.uint16)


def test_no_sidecar_gives_none(tmp_path):
    assert load_saliency(tmp_path / "cat.jpg") is None


def test_naming_rule_order(tmp_path, ramp16):
    image = tmp_path / "cat.jpg"
    assert [p.name for p in sidecar_candidates(image)[:3]] == ["cat.saliency.png", "cat.saliency.npy", "cat.saliency.tif"]
    cv2.imwrite(str(tmp_path / "cat_saliency.png"), ramp16)
    torch.testing.assert_close(load_saliency(image), torch.from_numpy(ramp16.astype(np.float32) / 65535.0))
    np.save(tmp_path / "cat.saliency.npy", np.full((2, 2), 0.25, dtype=np.float32))
    assert torch.equal(load_saliency(image), torch.full((2, 2), 0.25))  # ".saliency" wins over "_saliency"


def test_parallel_folder_mirrors_subfolders(tmp_path):
    image = tmp_path / "images" / "train" / "dog" / "rex.jpeg"
    maps = tmp_path / "maps"
    (maps / "train" / "dog").mkdir(parents=True)
    cv2.imwrite(str(maps / "train" / "dog" / "rex.png"), np.array([[0, 51], [102, 255]], dtype=np.uint8))
    assert load_saliency(image, saliency_dir=maps) is None  # flat folder without image_root
    got = load_saliency(image, saliency_dir=maps, image_root=tmp_path / "images")
    torch.testing.assert_close(got, torch.tensor([[0.0, 0.2], [0.4, 1.0]]))
    with pytest.raises(ValueError, match="image_root"):
        load_saliency(image, saliency_dir=maps, image_root=tmp_path / "elsewhere")


def test_real_photo_mask_any_resolution_resized(tmp_path):
    coins = data.coins()  # 303 x 384 grey photo
    mask = np.where(coins > 100, 255, 0).astype(np.uint8)
    small = cv2.resize(mask, (96, 76), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(tmp_path / "coins.saliency.png"), cv2.cvtColor(small, cv2.COLOR_GRAY2BGR))  # grey saved as RGB
    got = load_saliency(tmp_path / "coins.png", size=coins.shape)
    assert got.shape == coins.shape and got.dtype == torch.float32
    assert 0.0 <= float(got.min()) and float(got.max()) <= 1.0
    agreement = ((got.numpy() > 0.5) == (mask > 127)).mean()
    assert agreement > 0.9


def test_alpha_channel_is_ignored(tmp_path):
    rgba = np.zeros((2, 3, 4), dtype=np.uint8)
    rgba[..., :3] = 255
    rgba[0, 0, :3] = 0
    cv2.imwrite(str(tmp_path / "a.saliency.png"), rgba)
    assert load_saliency(tmp_path / "a.jpg").tolist() == [[0.0, 1.0, 1.0], [1.0, 1.0, 1.0]]


@pytest.mark.parametrize(
    "name, array, message",
    [
        ("x.saliency.npy", np.full((3, 3), 2.0, dtype=np.float32), r"\[0, 1\]"),
        ("x.saliency.npy", np.full((3, 3), np.nan), "NaN"),
        ("x.saliency.npy", np.zeros((3, 3), dtype=np.int64), "dtype"),
        ("x.saliency.npy", np.zeros((2, 3, 3), dtype=np.float32), "shape"),
    ],
)
def test_bad_arrays_name_the_file(tmp_path, name, array, message):
    np.save(tmp_path / name, array)
    with pytest.raises(ValueError, match=message) as error:
        load_saliency(tmp_path / "x.jpg")
    assert name in str(error.value)


def test_colour_heatmaps_and_corrupt_files_name_the_file(tmp_path):
    heat = cv2.applyColorMap(np.arange(64, dtype=np.uint8).reshape(8, 8), cv2.COLORMAP_JET)
    cv2.imwrite(str(tmp_path / "h.saliency.png"), heat)
    with pytest.raises(ValueError, match="h.saliency.png.*single-channel"):
        load_saliency(tmp_path / "h.jpg")
    (tmp_path / "c_saliency.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="c_saliency.png"):
        load_saliency(tmp_path / "c.jpg")


def test_dataset_item_tensors():
    assert SALIENCY_KEY == "saliency"
    item = {"image": torch.zeros(3, 4, 4), SALIENCY_KEY: torch.tensor([[[True, False], [False, True]]])}
    assert to_saliency_map(item[SALIENCY_KEY]).tolist() == [[1.0, 0.0], [0.0, 1.0]]
    up = to_saliency_map(torch.tensor([[0.0, 1.0]], dtype=torch.float64), size=(2, 4))
    assert up.dtype == torch.float32 and up.shape == (2, 4)
    torch.testing.assert_close(up[0], torch.tensor([0.0, 0.25, 0.75, 1.0]))
    with pytest.raises(ValueError, match="saliency"):
        to_saliency_map(torch.tensor([[-0.5, 1.0]]))
