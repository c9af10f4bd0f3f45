"""Shared fixtures: real photos that installed packages ship, and the optional dev photos."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")


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
    """../shared/data/photos-dev next to the checkout, or $PAIRGEN_PHOTOS_DEV."""
    candidates = [os.environ.get("PAIRGEN_PHOTOS_DEV"), REPO.parent / "shared" / "data" / "photos-dev"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "manifest.csv").is_file():
            return Path(candidate)
    return None


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
