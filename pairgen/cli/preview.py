"""``pairgen preview``: draw sampled pairs and their crop boxes over photos into a PNG."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, UnidentifiedImageError

from pairgen.errors import ConfigurationError, InputError
from pairgen.pair_sampler import PairSampler
from pairgen.preview import draw_pairs, sample_photos
from pairgen.saliency import load_saliency


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "preview",
        help="draw sampled pairs with their crop boxes into a PNG",
        description="Draw sampled pairs of a recipe over photos. Without IMAGE, uses scikit-image's sample photos. "
        "Sidecar saliency maps next to an image (NAME.saliency.png, NAME_saliency.png, ...) are used when present.",
    )
    parser.add_argument("images", nargs="*", metavar="IMAGE", help="image files (default: scikit-image photos)")
    parser.add_argument("--recipe", default="simclr", help="recipe name or YAML path (default: simclr)")
    parser.add_argument("--out", default="pairs.png", help="output PNG (default: pairs.png)")
    parser.add_argument("--pairs", type=int, default=3, help="pairs drawn per photo (default: 3)")
    parser.add_argument("--size", type=int, default=None, help="view size (default: the recipe's)")
    parser.add_argument("--seed", type=int, default=0, help="sampler seed (default: 0)")
    parser.set_defaults(func=run)


def run(args) -> int:
    if args.pairs < 1:
        raise ConfigurationError(f"--pairs must be >= 1, got {args.pairs}")
    if args.images:
        items, titles = [], []
        for path in args.images:
            try:
                with Image.open(path) as image:
                    item = {"image": image.convert("RGB")}
            except (OSError, UnidentifiedImageError) as error:
                raise InputError(f"cannot read image {path}: {error}") from error
            saliency = load_saliency(path)
            if saliency is not None:
                item["saliency"] = saliency
            items.append(item)
            titles.append(Path(path).name + (" (sidecar saliency)" if saliency is not None else ""))
    else:
        photos = sample_photos()
        items, titles = list(photos.values()), list(photos)
    sampler = PairSampler(args.recipe, size=args.size, seed=args.seed)  # its errors: one line, exit 2 (cli.main)
    out = draw_pairs(items, sampler, args.out, pairs=args.pairs, titles=titles)
    print(f"wrote {out} ({len(items)} photos, recipe {sampler.recipe.name!r}, {args.pairs} pairs each)")
    return 0
