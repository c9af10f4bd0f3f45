"""False-negative formulas against a brute-force simulation of batches drawn without replacement."""

from __future__ import annotations

import numpy as np
import pytest

from pairgen.diagnostics.labels import LabelStats, false_negative_rates
from pairgen.diagnostics.records import ImageRecord


def simulate(sizes: list[int], batch_size: int, batches: int, seed: int) -> tuple[float, float]:
    """Mean same-class negatives per anchor and the fraction of anchors with at least one."""
    labels = np.repeat(np.arange(len(sizes)), sizes)
    rng = np.random.default_rng(seed)
    order = np.argsort(rng.random((batches, len(labels))), axis=1)[:, :batch_size]  # without replacement
    batch_labels = labels[order]
    same = (batch_labels[:, :, None] == batch_labels[:, None, :]).sum(axis=2) - 1
    return float(same.mean()), float((same > 0).mean())


@pytest.mark.parametrize("sizes,batch_size", [([50, 30, 15, 5], 8), ([3] * 40, 16), ([90, 1, 1, 1, 1, 1], 5),
                                              ([6, 6], 12)])
def test_formulas_match_brute_force_simulation(sizes, batch_size):
    rates = false_negative_rates(sizes, batch_size)
    expected, at_least_one = simulate(sizes, batch_size, batches=20_000, seed=1)
    n_anchor_draws = 20_000 * batch_size
    assert rates["expected_per_anchor"] == pytest.approx(expected, abs=5 * np.sqrt(expected / n_anchor_draws) + 2e-3)
    assert rates["p_at_least_one"] == pytest.approx(at_least_one, abs=0.01)
    assert rates["fraction_of_negatives"] == pytest.approx(rates["expected_per_anchor"] / (batch_size - 1))


def test_exact_values_on_small_cases():
    # Two classes of 2, batch of 2: the other image is same-class with probability 1/3.
    rates = false_negative_rates([2, 2], batch_size=2)
    assert rates["expected_per_anchor"] == pytest.approx(1 / 3)
    assert rates["p_at_least_one"] == pytest.approx(1 / 3)
    # The whole dataset in one batch: every same-class image is a negative, certainly.
    rates = false_negative_rates([3, 5], batch_size=8)
    assert rates["expected_per_anchor"] == pytest.approx((3 * 2 + 5 * 4) / 8)
    assert rates["p_at_least_one"] == pytest.approx(1.0)
    # Batch larger than the dataset is clamped; singletons never meet a same-class negative.
    assert false_negative_rates([1, 1, 1], batch_size=256) == {
        "batch_size": 3, "expected_per_anchor": 0.0, "p_at_least_one": 0.0, "fraction_of_negatives": 0.0}
    # Images outside the groups (total > sum of sizes) are singletons.
    assert false_negative_rates([2], batch_size=2, total=4)["expected_per_anchor"] == pytest.approx(2 * 1 / (4 * 3))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="batch_size"):
        false_negative_rates([3, 3], batch_size=1)
    with pytest.raises(ValueError, match="sizes"):
        false_negative_rates([0, 3], batch_size=4)


def test_label_stats_balance_and_unlabelled():
    stats = LabelStats()
    for i, label in enumerate(["a"] * 8 + ["b"] * 2 + [None] * 3):
        stats.add(ImageRecord(key=str(i), ordinal=i, label=label))
    stats.add(ImageRecord(key="x", ordinal=99, status="bad", reason="empty file (0 bytes)", label="a"))
    result = stats.result({"batch_size": 4})
    assert result["counts"] == {"a": 8, "b": 2}
    assert result["unlabelled_images"] == 3
    assert result["imbalance_ratio"] == 4.0
    p = np.array([0.8, 0.2])
    assert result["normalised_entropy"] == pytest.approx(-(p * np.log(p)).sum() / np.log(2))
    assert result["false_negatives"] == false_negative_rates([8, 2], 4)
