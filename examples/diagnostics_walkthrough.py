"""What will this dataset teach a contrastive model? ``pairgen diagnose`` on a real folder.

Before training, scan the images: inventory and unreadable files, object-centric or
scene-centric, how often a recipe's two views share the object, duplicates, class
balance and expected false negatives, and recommendations. The same scan runs from
the command line (``pairgen diagnose PATH --out report/``); here it runs from Python
and prints the report's headline numbers; ``report.json`` holds every number and
``report.html`` (open it in a browser) the plots.

    python examples/diagnostics_walkthrough.py [FOLDER] [--out report/]   # default: Debian's opencv-doc photos
    python examples/diagnostics_walkthrough.py --smoke                    # 8 images

Without a folder and without opencv-doc installed, it scans scikit-image's sample photos
written to a temporary folder.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from common import OPENCV_PHOTOS, real_photos


def photo_folder(tmp: str) -> Path:
    """Debian's opencv-doc photos, or else scikit-image's written as PNG files into ``tmp``."""
    if any(OPENCV_PHOTOS.glob("*.jpg")):
        return OPENCV_PHOTOS
    from PIL import Image

    for name, image in real_photos(max_side=512).items():
        Image.fromarray(image).save(Path(tmp) / f"{name}.png")
    return Path(tmp)


def _number(value, digits: int = 2) -> str:
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def headlines(report: dict) -> list[str]:
    """The numbers to read first: what was scanned, the verdict, pair quality, advice."""
    inventory, centricity = report.get("inventory", {}), report.get("centricity", {})
    false_negatives = report.get("duplicates", {}).get("false_negatives") or {}
    lines = [
        f"images: {inventory.get('readable')} readable of {inventory.get('items')} "
        f"({inventory.get('bad')} unreadable, {inventory.get('skipped')} skipped)",
        f"verdict: {centricity.get('verdict')} ({_number(centricity.get('object_centric_fraction'))} of the images object-centric)",
    ]
    for recipe, quality in report.get("pair_quality", {}).items():
        lines.append(
            f"{recipe} pairs: both views show the object in {quality.get('object_sharing_rate', float('nan')):.1%} "
            f"(+- {quality.get('standard_error', float('nan')):.1%}), mean IoU of the two views {quality.get('mean_iou', float('nan')):.2f}"
        )
    if false_negatives:
        lines.append(f"chance that a batch of {false_negatives.get('batch_size')} holds a near-duplicate of an anchor "
                     f"(a false negative): {_number(false_negatives.get('p_at_least_one'), 3)}")
    lines += [f"advice: {item.get('text')}" for item in report.get("recommendations", [])]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, help="an image folder (default: real photos available offline)")
    parser.add_argument("--out", type=Path, default=None, help="report folder (default: a temporary folder)")
    parser.add_argument("--recipe", default="cast")
    parser.add_argument("--smoke", action="store_true", help="8 images, for the tests")
    args = parser.parse_args(argv)
    try:
        from pairgen.diagnostics import diagnose
    except ImportError:
        print("pairgen.diagnostics is not available in this checkout: skipped")
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.folder or photo_folder(tmp)
        out = args.out or Path(tmp) / "report"
        report = diagnose(folder, out=out, recipe=args.recipe, batch_size=64, workers=1, limit=8 if args.smoke else None)
        print(f"scanned {folder}; report in {out} (report.json, report.html)")
        print("\n".join(headlines(report)))
        if args.out is None:
            print("(pass --out DIR to keep the report)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
