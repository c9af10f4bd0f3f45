"""Regenerate docs/images/diagnose_*.png: reports of two real datasets rendered by headless Chromium.

Usage: python docs/make_diagnostics_screenshots.py [--out-dir docs/images] [--keep REPORTS_DIR]

* opencv-doc: the example photos of Debian's ``opencv-doc`` package (an image folder);
* Fashion-MNIST: 2000 training images of Debian's ``dataset-fashion-mnist`` package, as a
  Python dataset with the class names.

Each report.html is rendered with ``chromium --headless --screenshot``, trimmed, scaled to
800 px wide, cut at 2600 px and palette-quantised to stay small.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pairgen.diagnostics import diagnose, summary_text  # noqa: E402

OPENCV_EXAMPLES = Path("/usr/share/doc/opencv-doc/examples")
FASHION = Path("/usr/share/datasets/fashion-mnist")
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]


class FashionMNIST:
    """The first ``count`` Fashion-MNIST training images, as ``(28x28 uint8, label)`` items."""

    classes = FASHION_CLASSES

    def __init__(self, count: int = 2000):
        with gzip.open(FASHION / "train-images-idx3-ubyte.gz") as handle:
            self.images = np.frombuffer(handle.read(), np.uint8, offset=16).reshape(-1, 28, 28)[:count]
        with gzip.open(FASHION / "train-labels-idx1-ubyte.gz") as handle:
            self.labels = np.frombuffer(handle.read(), np.uint8, offset=8)[:count]

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        return self.images[index], int(self.labels[index])


def screenshot(html: Path, png: Path, width: int = 1280, height: int = 6000, max_height: int = 2600) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("chromium is not installed (apt-get install chromium)")
    raw = png.with_suffix(".raw.png")
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--screenshot={raw}", f"--window-size={width},{height}", html.resolve().as_uri()],
                   check=True, capture_output=True)
    image = Image.open(raw).convert("RGB")
    raw.unlink()
    pixels = np.asarray(image)
    background = pixels[-1, 0]
    rows = np.flatnonzero((pixels != background).any(axis=(1, 2)))
    image = image.crop((0, 0, width, int(rows[-1]) + 24))
    image = image.resize((800, round(image.height * 800 / width)), Image.Resampling.LANCZOS)
    image = image.crop((0, 0, image.width, min(image.height, max_height)))  # the top sections: < 300 KB
    image.quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(png, optimize=True)
    print(f"{png}: {image.size[0]}x{image.size[1]}, {png.stat().st_size / 1024:.0f} KB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=Path(__file__).resolve().parent / "images")
    parser.add_argument("--keep", type=Path, default=None, help="keep the reports in this folder")
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        reports = args.keep or Path(tmp)
        for name, data in (("opencv_doc", OPENCV_EXAMPLES), ("fashion_mnist", FashionMNIST())):
            out = reports / name
            report = diagnose(data, out=out, cache=False)
            print(summary_text(report))
            screenshot(out / "report.html", args.out_dir / f"diagnose_{name}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
