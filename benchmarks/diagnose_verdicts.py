"""Calibrate and check `pairgen diagnose`'s object-/scene-centric verdicts on a labelled photo set.

Usage: python benchmarks/diagnose_verdicts.py PHOTOS_DIR [--backbone efficientnet_lite0] [--penalty 1.0]

PHOTOS_DIR holds images/ and manifest.csv with columns ``file`` and ``scene_centric`` (0/1),
like ../shared/data/photos-dev. The script scans the photos with `pairgen diagnose`, then

* scores the verdicts that ship (the constants in pairgen/diagnostics/centricity.py):
  balanced accuracy and confusion matrix;
* fits the same model (class-balanced logistic regression on the standardised cues, L2
  penalty ``--penalty``, Newton's method) on all photos and prints its constants, to paste
  into centricity.py (in-sample figures);
* refits it leaving each photo out in turn and predicts that photo (leave-one-out:
  the honest figure for a model fitted on these photos).
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pairgen.diagnostics import diagnose  # noqa: E402
from pairgen.diagnostics.centricity import WEIGHT_FREE, WITH_BACKBONE  # noqa: E402
from pairgen.diagnostics.pipeline import RECORDS_FILE, _read_records  # noqa: E402


def fit_logistic(x: np.ndarray, y: np.ndarray, penalty: float) -> tuple[np.ndarray, float]:
    """Class-balanced, L2-penalised (not the bias) logistic regression by Newton's method."""
    weight = np.where(y == 1, len(y) / (2 * y.sum()), len(y) / (2 * (len(y) - y.sum())))
    design = np.c_[x, np.ones(len(y))]
    theta = np.zeros(design.shape[1])
    ridge = penalty * np.eye(design.shape[1])
    ridge[-1, -1] = 0.0
    for _ in range(100):
        p = 1 / (1 + np.exp(-design @ theta))
        gradient = design.T @ (weight * (p - y)) + ridge @ theta
        hessian = design.T @ (design * (weight * p * (1 - p))[:, None]) + ridge
        step = np.linalg.solve(hessian + 1e-9 * np.eye(len(theta)), gradient)
        theta -= step
        if np.abs(step).max() < 1e-10:
            break
    return theta[:-1], float(theta[-1])


def standardise_fit(x: np.ndarray, y: np.ndarray, penalty: float):
    mean, std = x.mean(0), x.std(0) + 1e-12
    weights, bias = fit_logistic((x - mean) / std, y, penalty)
    return mean, std, weights, bias


def predict(model, x: np.ndarray) -> np.ndarray:
    mean, std, weights, bias = model
    return (((x - mean) / std) @ weights + bias > 0).astype(int)


def balanced_accuracy(truth: np.ndarray, predicted: np.ndarray) -> float:
    return 0.5 * (np.mean(predicted[truth == 1] == 1) + np.mean(predicted[truth == 0] == 0))


def confusion(truth: np.ndarray, predicted: np.ndarray) -> str:
    """Rows truth, columns verdict."""
    cell = {(t, p): int(((truth == t) & (predicted == p)).sum()) for t in (0, 1) for p in (0, 1)}
    return (f"               verdict object  verdict scene\n"
            f"truth object   {cell[0, 0]:14d}  {cell[0, 1]:13d}\n"
            f"truth scene    {cell[1, 0]:14d}  {cell[1, 1]:13d}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=Path)
    parser.add_argument("--backbone", default=None, choices=("efficientnet_lite0",))
    parser.add_argument("--penalty", type=float, default=1.0)
    args = parser.parse_args()
    with open(args.photos / "manifest.csv", newline="", encoding="utf-8") as handle:
        truth = {row["file"]: int(row["scene_centric"]) for row in csv.DictReader(handle)}
    with tempfile.TemporaryDirectory() as out:
        diagnose(args.photos / "images", out=out, workers=0, cache=False, html=False, backbone=args.backbone)
        records = {Path(r.key).name: r for r in _read_records(Path(out) / RECORDS_FILE)}
    calibration = WITH_BACKBONE if args.backbone else WEIGHT_FREE
    names = sorted(truth)
    y = np.array([truth[n] for n in names])
    x = np.array([[getattr(records[n], cue) for cue in calibration.cues] for n in names], dtype=float)
    shipped = np.array([int(not records[n].object_centric) for n in names])
    print(f"cues: {', '.join(calibration.cues)}; {len(y)} photos, {y.sum()} scene-centric")
    print(f"\nshipped constants: balanced accuracy {balanced_accuracy(y, shipped):.3f}\n{confusion(y, shipped)}")
    model = standardise_fit(x, y, args.penalty)
    in_sample = predict(model, x)
    print(f"\nrefit on all photos (penalty {args.penalty:g}): balanced accuracy {balanced_accuracy(y, in_sample):.3f}")
    print(f"  mean={tuple(np.round(model[0], 4).tolist())}\n  std={tuple(np.round(model[1], 4).tolist())}")
    print(f"  weights={tuple(np.round(model[2], 3).tolist())}\n  bias={model[3]:.3f}")
    held_out = np.zeros(len(y), int)
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        held_out[i] = predict(standardise_fit(x[keep], y[keep], args.penalty), x[i:i + 1])[0]
    print(f"\nleave-one-out: balanced accuracy {balanced_accuracy(y, held_out):.3f}\n{confusion(y, held_out)}")
    wrong = [n for n, t, p in zip(names, y, held_out) if t != p]
    print(f"  misjudged when held out: {', '.join(wrong) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
