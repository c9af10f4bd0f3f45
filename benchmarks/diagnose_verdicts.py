"""Calibrate and check `pairgen diagnose`'s object-/scene-centric verdicts on labelled photo sets.

Usage: python benchmarks/diagnose_verdicts.py PHOTOS_DIR [PHOTOS_DIR ...] [--backbone efficientnet_lite0]
       [--cues CUE,CUE,...] [--penalty 1.0] [--per-photo]

Each PHOTOS_DIR holds images/ and manifest.csv with columns ``file`` and ``scene_centric`` (0/1),
like ../shared/data/photos-dev and the set ``benchmarks/packaged_photos.py`` writes. The
shipped constants were fitted on both: ``python benchmarks/diagnose_verdicts.py
../shared/data/photos-dev OUT`` after ``python benchmarks/packaged_photos.py OUT``. The set
``benchmarks/heldout_photos.py`` writes is for judging them (its "shipped constants" line); it
has no part in the fit. The script scans the photos with `pairgen diagnose`, then

* scores the verdicts that ship (the constants in pairgen/diagnostics/centricity.py) on each set:
  balanced accuracy and confusion matrix;
* fits the same model (class-balanced logistic regression on the standardised cues that ship,
  or on ``--cues``; L2 penalty ``--penalty``, Newton's method) on the photos of all sets and
  prints its constants, to paste into centricity.py (in-sample figures);
* refits it leaving each photo out in turn and predicts that photo (leave-one-out: the honest
  figure for a model fitted on these photos), per set and over all;
* with two or more sets, fits it on each set alone and judges the others (how far a fit on
  one kind of collection carries);
* with ``--per-photo``, lists each photo's label, cues and shipped verdict.
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


def scan(photos: Path, backbone: str | None) -> tuple[list[str], np.ndarray, dict]:
    """The labelled photos of one set: (names, truth 0/1, records by name)."""
    with open(photos / "manifest.csv", newline="", encoding="utf-8") as handle:
        truth = {row["file"]: int(row["scene_centric"]) for row in csv.DictReader(handle)}
    with tempfile.TemporaryDirectory() as out:
        diagnose(photos / "images", out=out, workers=0, cache=False, html=False, backbone=backbone)
        records = {Path(r.key).name: r for r in _read_records(Path(out) / RECORDS_FILE)}
    names = sorted(truth)
    return names, np.array([truth[n] for n in names]), records


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=Path, nargs="+")
    parser.add_argument("--backbone", default=None, choices=("efficientnet_lite0",))
    parser.add_argument("--cues", help="comma-separated record fields to fit (default: the shipped verdict's)")
    parser.add_argument("--penalty", type=float, default=1.0)
    parser.add_argument("--per-photo", action="store_true")
    args = parser.parse_args()
    cues = args.cues.split(",") if args.cues else list((WITH_BACKBONE if args.backbone else WEIGHT_FREE).cues)
    names, y, x, shipped, which = [], [], [], [], []
    for index, photos in enumerate(args.photos):
        set_names, truth, records = scan(photos, args.backbone)
        names += set_names
        y += truth.tolist()
        x += [[getattr(records[n], cue) for cue in cues] for n in set_names]
        shipped += [int(not records[n].object_centric) for n in set_names]
        which += [index] * len(set_names)
    y, x, shipped, which = np.array(y), np.array(x, dtype=float), np.array(shipped), np.array(which)
    sets = [(photos.name or str(photos), which == i) for i, photos in enumerate(args.photos)]
    print(f"cues: {', '.join(cues)}; " + "; ".join(f"{name}: {in_set.sum()} photos, {y[in_set].sum()} scene-centric"
                                                  for name, in_set in sets))
    if args.per_photo:
        for name, truth, values, verdict in zip(names, y, x, shipped):
            print(f"  {'scene ' if truth else 'object'} {name:40s} " + " ".join(f"{c} {v:.3f}" for c, v in zip(cues, values))
                  + f"  shipped verdict: {'scene' if verdict else 'object'}")
    for name, in_set in sets:
        print(f"\nshipped constants on {name}: balanced accuracy {balanced_accuracy(y[in_set], shipped[in_set]):.3f}\n"
              f"{confusion(y[in_set], shipped[in_set])}")
    model = standardise_fit(x, y, args.penalty)
    in_sample = predict(model, x)
    print(f"\nrefit on all {len(y)} photos (penalty {args.penalty:g}): balanced accuracy {balanced_accuracy(y, in_sample):.3f} "
          f"(" + ", ".join(f"{name} {balanced_accuracy(y[in_set], in_sample[in_set]):.3f}" for name, in_set in sets) + ")")
    print(f"  mean={tuple(np.round(model[0], 4).tolist())}\n  std={tuple(np.round(model[1], 4).tolist())}")
    print(f"  weights={tuple(np.round(model[2], 3).tolist())}\n  bias={model[3]:.3f}")
    held_out = np.zeros(len(y), int)
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        held_out[i] = predict(standardise_fit(x[keep], y[keep], args.penalty), x[i:i + 1])[0]
    print(f"\nleave-one-out: balanced accuracy {balanced_accuracy(y, held_out):.3f}\n{confusion(y, held_out)}")
    for name, in_set in sets:
        print(f"  {name}: {balanced_accuracy(y[in_set], held_out[in_set]):.3f}")
    wrong = [name for name, truth, verdict in zip(names, y, held_out) if truth != verdict]
    print(f"  misjudged when held out: {', '.join(wrong) or 'none'}")
    for index, (name, in_set) in enumerate(sets if len(sets) > 1 else []):
        alone = standardise_fit(x[in_set], y[in_set], args.penalty)
        print(f"\nfitted on {name} alone, judging " + ", ".join(
            f"{other} {balanced_accuracy(y[other_set], predict(alone, x[other_set])):.3f}"
            for other_index, (other, other_set) in enumerate(sets) if other_index != index))
    return 0


if __name__ == "__main__":
    sys.exit(main())
