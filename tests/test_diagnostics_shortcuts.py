"""Shortcut statistics against plain numpy, and their per-class aggregation."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from diagnostics_data import photo

from pairgen.diagnostics.records import ImageRecord
from pairgen.diagnostics.shortcuts import (
    BLUR_THRESHOLD,
    MIN_CLASS_IMAGES,
    SECTION,
    ShortcutStats,
    shortcut_features,
)
from pairgen.diagnostics.thresholds import MANY_BLURRY


@pytest.mark.parametrize("name", ["coffee", "astronaut", "camera"])
def test_features_match_numpy_reference(name):
    rgb = photo(name)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    features = shortcut_features(rgb, gray, gray_source=False)
    x = rgb.astype(np.float64)
    rg, yb = x[..., 0] - x[..., 1], 0.5 * (x[..., 0] + x[..., 1]) - x[..., 2]
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    assert features["brightness"] == pytest.approx(gray.mean() / 255)
    assert features["contrast"] == pytest.approx(gray.std() / 255)
    assert features["blur"] == pytest.approx(cv2.Laplacian(gray, cv2.CV_64F).var(), rel=1e-6)
    assert features["saturation"] == pytest.approx(hsv[..., 1].mean() / 255)
    assert features["colourfulness"] == pytest.approx(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))
    assert features["mean_rgb"] == pytest.approx(list(x.reshape(-1, 3).mean(axis=0) / 255))
    assert features["grayscale"] == (name == "camera")  # camera is gray stored as RGB here


def test_class_spread_flags_a_brightness_shortcut_and_ignores_tiny_classes():
    stats = ShortcutStats()
    rng = np.random.default_rng(0)
    for i in range(2 * MIN_CLASS_IMAGES):
        label = "dark" if i % 2 else "bright"
        brightness = (0.2 if label == "dark" else 0.8) + rng.normal(0, 0.02)
        stats.add(ImageRecord(key=str(i), ordinal=i, label=label, grayscale=False, brightness=brightness,
                              contrast=0.2, blur=500.0, saturation=0.3, colourfulness=20.0, mean_rgb=[0.5] * 3))
    stats.add(ImageRecord(key="odd", ordinal=99, label="tiny", grayscale=True, brightness=0.5, contrast=0.9,
                          blur=1.0, saturation=0.9, colourfulness=90.0, mean_rgb=[0.1] * 3))
    result = stats.result()
    assert [x["key"] for x in result["examples"]["blurriest"]] == ["odd"]  # the only blurry image
    spread = result["class_spread"]
    assert spread["brightness"] > 1.5  # dark vs bright classes, 0.6 apart, overall std ~0.3
    assert spread["contrast"] == 0.0 and spread["grayscale_fraction"] == 0.0  # the tiny class does not count
    assert result["per_class"]["tiny"]["images"] == 1
    assert result["overall"]["grayscale_fraction"] == pytest.approx(1 / 41)


@pytest.mark.parametrize("blurry", [12, 13])
def test_blur_advice_follows_the_thresholds(blurry):
    """More than MANY_BLURRY (0.3) of 40 images below BLUR_THRESHOLD: 13 gives the advice, 12 does not."""
    stats = ShortcutStats()
    for i in range(40):
        sharpness = BLUR_THRESHOLD * (0.99 if i < blurry else 1.01)
        stats.add(ImageRecord(key=str(i), ordinal=i, grayscale=False, brightness=0.5, contrast=0.2, blur=sharpness,
                              saturation=0.3, colourfulness=20.0, mean_rgb=[0.5] * 3))
    result = stats.result()
    assert result["overall"]["blurry_fraction"] == pytest.approx(blurry / 40)
    advice = [x for x in SECTION.recommend(result, {"inventory": {"width": {}, "height": {}}}) if "blurry" in x["text"]]
    assert [x["because"] for x in advice] == ([f"{blurry / 40:.0%} blurry (variance of Laplacian < {BLUR_THRESHOLD:g})"]
                                              if blurry / 40 > MANY_BLURRY else [])
