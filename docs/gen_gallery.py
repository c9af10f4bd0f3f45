"""Regenerate the recipe gallery pictures: ``pairgen preview`` for every built-in recipe of one image.

Runs ``python -m pairgen preview --recipe R --out docs/images/preview_R.png --pairs 3``
on scikit-image's public-domain photos, then stores each PNG with a 256-colour
dithered palette (shrunk further if it still exceeds ``--max-kb``) so that the
docs stay small::

    python docs/gen_gallery.py            # all built-in recipes
    python docs/gen_gallery.py cast ccrop
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pairgen.pair_sampler import PARTNER_RECIPES  # noqa: E402
from pairgen.recipe import available_recipes  # noqa: E402


def quantize(image: Image.Image) -> Image.Image:
    """``image`` with a dithered 256-colour median-cut palette, pure white and black kept exact
    (median cut would average the page background into a tinted grey)."""
    palette = image.quantize(256, method=Image.Quantize.MEDIANCUT)
    colours = palette.getpalette()[: 256 * 3]
    entries = [tuple(colours[i : i + 3]) for i in range(0, len(colours), 3)]
    pixels = np.asarray(image)
    exact = {}
    for target in ((255, 255, 255), (0, 0, 0)):
        nearest = min(range(len(entries)), key=lambda i: sum((a - b) ** 2 for a, b in zip(entries[i], target)))
        entries[nearest] = target
        exact[nearest] = (pixels == target).all(-1)
    palette.putpalette([value for entry in entries for value in entry])
    indices = np.array(image.quantize(palette=palette, dither=Image.Dither.FLOYDSTEINBERG))
    for index, where in exact.items():  # Pillow's palette lookup is approximate: pin exact colours
        indices[where] = index
    out = Image.fromarray(indices, mode="P")
    out.putpalette(palette.getpalette())
    return out


def compress(source: Path, out: Path, max_kb: int) -> int:
    """Save ``source`` as a 256-colour PNG at ``out``, shrinking it until it fits ``max_kb``."""
    image = Image.open(source).convert("RGB")
    for _ in range(8):  # each round shrinks by 15%; 8 rounds reach a quarter of the side
        quantize(image).save(out, optimize=True)
        if out.stat().st_size <= max_kb * 1024:
            break
        image = image.resize((int(image.width * 0.85), int(image.height * 0.85)), Image.Resampling.LANCZOS)
    return out.stat().st_size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("recipes", nargs="*", help="recipe names (default: every built-in recipe that previews "
                        "one image; instance and temporal pair two)")
    parser.add_argument("--out-dir", type=Path, default=REPO / "docs" / "images")
    parser.add_argument("--max-kb", type=int, default=300)
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name in args.recipes or [n for n in available_recipes() if n not in PARTNER_RECIPES]:
        with tempfile.TemporaryDirectory() as tmp:
            raw = Path(tmp) / f"{name}.png"
            command = [sys.executable, "-m", "pairgen", "preview", "--recipe", name, "--out", str(raw), "--pairs", "3"]
            subprocess.run(command, cwd=REPO, check=True)
            size = compress(raw, args.out_dir / f"preview_{name}.png", args.max_kb)
        print(f"preview_{name}.png: {size / 1024:.0f} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
