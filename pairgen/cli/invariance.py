"""``pairgen invariance``: how invariant a backbone is to occlusion, viewpoint, illumination,
instance and time (Purushwalkam & Gupta, NeurIPS 2020), as a table and JSON."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path


from pairgen.errors import ConfigurationError, InputError
from pairgen.invariance.backbones import load_backbone
from pairgen.invariance.data import load_measure_data
from pairgen.invariance.measure import SYNTHETIC, TRANSFORMS, measure_invariance

COLUMNS = ("transform", "sets", "images", "score", "percentile", "pooled score", "chance", "maximum", "normalized",
           "mean", "mean normalized", "fallback")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "invariance",
        help="measure a backbone's invariance to occlusion, viewpoint, illumination, instance, time",
        description="'score': the invariance score of Purushwalkam & Gupta (NeurIPS 2020) as their "
        "measure_invariances.py computes it (each set its own class, firing percentile min((1 - 1/classes) * 100, 95), "
        "both signs, top-k mean of local/global firing rates per class, times 100 - percentile). The 'pooled' columns "
        "are pairgen's own variant (not the paper's): fixed --percentile, pooled counts, top-k ('pooled score') and "
        "all-neuron ('mean') ratios, 'normalized' between image-independent features (0) and exactly invariant ones (1).",
    )
    parser.add_argument("data", nargs="+", metavar="DATA",
                        help="image or video files, folders (sub-folders = groups), or 'skimage'")
    parser.add_argument("--model", default="efficientnet_lite0",
                        help="efficientnet_lite0 (ImageNet weights), efficientnet_lite0-untrained, a torchvision name "
                        "(untrained) or module:function (default: efficientnet_lite0)")
    parser.add_argument("--layer", default=None, help="module name of the features (default: the model's)")
    parser.add_argument("--transform", nargs="+", default=list(SYNTHETIC), choices=TRANSFORMS,
                        help="what to measure (default: occlusion viewpoint illumination)")
    parser.add_argument("--set-size", type=int, default=8, help="images per set, >= 3 (default: 8)")
    parser.add_argument("--size", type=int, default=224, help="image side (default: 224)")
    parser.add_argument("--percentile", type=float, default=95.0, help="firing percentile of the pooled variant (default: 95; the paper's score sets its own)")
    parser.add_argument("--top-k", type=int, default=25, help="neurons averaged by the scores (default: 25)")
    parser.add_argument("--pool", default="mean", choices=("mean", "max", "flatten"), help="pooling of feature maps")
    parser.add_argument("--masks", default=None, help="folder of object masks <stem>.png for the photos (occlusion)")
    parser.add_argument("--groups", default=None, help="CSV of 'file,group' lines: groups of photos (instance)")
    parser.add_argument("--every", type=int, default=5, help="keep one video frame in EVERY (default: 5)")
    parser.add_argument("--max-frames", type=int, default=200, help="frames kept per video (default: 200)")
    parser.add_argument("--batch-size", type=int, default=32, help="images per forward pass (default: 32)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the transformations (default: 0)")
    parser.add_argument("--out", default="invariance.json", help="JSON output (default: invariance.json)")
    parser.set_defaults(func=run)


def read_groups(path: str) -> dict[str, str]:
    """``file,group`` rows (``#`` comments and a ``file,group`` header skipped) -> {file name: group}."""
    groups = {}
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            for number, row in enumerate(csv.reader(handle), 1):
                if not row or row[0].startswith("#") or row == ["file", "group"]:
                    continue
                if len(row) != 2:
                    raise InputError(f"{path} line {number}: expected 'file,group', got {row}")
                groups[Path(row[0].strip()).name] = row[1].strip()
    except OSError as error:
        raise InputError(f"cannot read --groups {path}: {error}") from error
    return groups


def format_table(rows: list[dict]) -> str:
    """A Markdown table of the result rows."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---" for _ in COLUMNS) + "|"]
    for row in rows:
        cells = [row["transform"], str(row["sets"]), str(row["images"])]
        cells += [f"{row['score']:.2f}", f"{row['percentile']:.1f}"]
        cells += [f"{row['pooled'][k]:.2f}" for k in ("score", "chance", "maximum")]
        pooled = row["pooled"]
        cells += [f"{pooled['normalized']:.3f}", f"{pooled['mean']:.2f}", f"{pooled['mean_normalized']:.3f}",
                  f"{100 * row['fallback_rate']:.0f}%"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run(args) -> int:
    for name, value, low in (("--set-size", args.set_size, 3), ("--size", args.size, 16), ("--top-k", args.top_k, 1),
                             ("--every", args.every, 1), ("--max-frames", args.max_frames, 1),
                             ("--batch-size", args.batch_size, 1)):
        if value < low:
            raise ConfigurationError(f"{name} must be >= {low}, got {value}")
    if not 0 <= args.percentile < 100:
        raise ConfigurationError(f"--percentile must be in [0, 100), got {args.percentile}")
    groups = read_groups(args.groups) if args.groups else None
    try:
        backbone = load_backbone(args.model)
        data = load_measure_data(args.data, args.size, args.every, args.max_frames, args.masks, groups)
    except (ValueError, FileNotFoundError, ImportError) as error:
        raise InputError(str(error)) from error
    print(f"{backbone.description}; layer {args.layer or backbone.layer!r}; {len(data.photos)} photos, "
          f"{len(data.frames)} frames")
    rows = []
    for transform in dict.fromkeys(args.transform):
        started = time.perf_counter()
        try:
            score, pooled, info = measure_invariance(backbone, data, transform, args.layer, args.set_size, args.size,
                                              args.seed, args.percentile, args.top_k, args.batch_size, args.pool)
        except ValueError as error:
            raise InputError(f"{transform}: {error}") from error
        rows.append({**info, **score.to_dict(), "pooled": pooled.to_dict(), "seconds": round(time.perf_counter() - started, 1)})
    print(format_table(rows))
    report = {"model": args.model, "description": backbone.description, "layer": args.layer or backbone.layer,
              "data": args.data, "set_size": args.set_size, "size": args.size, "seed": args.seed,
              "pooled_percentile": args.percentile, "top_k": args.top_k, "results": rows}
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0
