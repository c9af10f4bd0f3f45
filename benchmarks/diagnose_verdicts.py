"""Agreement of `pairgen diagnose`'s object-/scene-centric verdicts with a labelled photo set.

Usage: python benchmarks/diagnose_verdicts.py PHOTOS_DIR [--saliency boundary_contrast|spectral_residual]

PHOTOS_DIR holds images/ and manifest.csv with columns ``file`` and ``scene_centric`` (0/1),
like ../shared/data/photos-dev. Prints each image's features and verdict, the confusion
counts, the agreement, and the majority-class baseline for comparison.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pairgen.diagnostics import diagnose  # noqa: E402
from pairgen.diagnostics.pipeline import RECORDS_FILE, _read_records  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=Path)
    parser.add_argument("--saliency", default="boundary_contrast", choices=("boundary_contrast", "spectral_residual"))
    args = parser.parse_args()
    with open(args.photos / "manifest.csv", newline="", encoding="utf-8") as handle:
        truth = {row["file"]: int(row["scene_centric"]) for row in csv.DictReader(handle)}
    with tempfile.TemporaryDirectory() as out:
        diagnose(args.photos / "images", out=out, workers=0, cache=False, html=False, saliency=args.saliency)
        records = {Path(r.key).name: r for r in _read_records(Path(out) / RECORDS_FILE)}
    counts = {(t, p): 0 for t in (0, 1) for p in (0, 1)}
    print(f"{'file':44s} truth  verdict  components  dominant  salient")
    for name, scene in sorted(truth.items()):
        record = records[name]
        predicted = int(not record.object_centric)
        counts[scene, predicted] += 1
        mark = "" if predicted == scene else "  <- disagrees"
        print(f"{name:44s} {'scene' if scene else 'object':6s} {'scene' if predicted else 'object':8s} "
              f"{record.components:10d}  {record.dominant_share:8.2f}  {record.salient_fraction:7.2f}{mark}")
    n = len(truth)
    agree = counts[0, 0] + counts[1, 1]
    majority = max(sum(truth.values()), n - sum(truth.values()))
    print(f"\nobject-centric images: {counts[0, 0]} right, {counts[0, 1]} called scene-centric")
    print(f"scene-centric images:  {counts[1, 1]} right, {counts[1, 0]} called object-centric")
    print(f"agreement: {agree}/{n} = {agree / n:.1%}   (majority-class baseline {majority / n:.1%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
