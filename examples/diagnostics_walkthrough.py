"""What will this dataset teach a contrastive model? ``pairgen diagnose`` on a real folder.

Before training, scan the images: inventory and unreadable files, object-centric or
scene-centric, how often a recipe's two views share the object, duplicates, class
balance and expected false negatives, and recommendations. The same scan runs from
the command line (``pairgen diagnose PATH --out report/``); here it runs from Python
and prints the report's headline numbers. Open ``OUT/report.html`` in a browser.

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


def summarise(value, depth: int = 0) -> list[str]:
    """A few readable lines from a (nested) report section."""
    indent = "  " * (depth + 1)
    if isinstance(value, dict):
        lines = []
        for key, item in list(value.items())[:12]:
            if isinstance(item, (int, float, str, bool)) or item is None:
                lines.append(f"{indent}{key}: {round(item, 4) if isinstance(item, float) else item}")
            elif isinstance(item, dict) and depth < 1:
                lines += [f"{indent}{key}:", *summarise(item, depth + 1)]
            else:
                lines.append(f"{indent}{key}: {type(item).__name__} of {len(item) if hasattr(item, '__len__') else '?'}")
        return lines
    return [f"{indent}{value}"]


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
        sections = report if isinstance(report, dict) else vars(report) if hasattr(report, "__dict__") else {"report": report}
        for section, value in sections.items():
            print(f"{section}:")
            print("\n".join(summarise(value)))
        if args.out is None:
            print("(pass --out DIR to keep the report)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
