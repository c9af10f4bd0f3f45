"""``pairgen diagnose PATH --out report/``: dataset-bias diagnostics before training.

Exit status: 0, or 1 when a ``--fail-on`` condition holds, or 2 for bad arguments.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pairgen.diagnostics.fail_on import CONDITIONS, failed_conditions, parse_conditions


def add_common(parser) -> None:
    """Options shared with ``pairgen diagnose-merge``."""
    parser.add_argument("--out", default="report", help="output folder (default: report)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="batch size for the false-negative estimates (default: 256)")
    parser.add_argument("--no-html", action="store_true", help="write report.json only")
    parser.add_argument("--centricity-labels", default=None, metavar="CSV",
                        help="known object-/scene-centric labels (file + object_centric/scene_centric/centricity "
                             "columns): report the verdicts' balanced accuracy and confusion matrix")
    parser.add_argument("--fail-on", default="", metavar="CONDITIONS",
                        help=f"comma-separated conditions that make the exit status 1: {', '.join(CONDITIONS)} "
                             "(some take a threshold, e.g. bad:10, false-negatives:0.9)")


def register(subparsers) -> None:
    parser = subparsers.add_parser("diagnose", help="dataset-bias diagnostics: centricity, pairs, duplicates, "
                                   "false negatives, shortcuts, unreadable files")
    parser.add_argument("path", help="image folder (class sub-folders = labels), or a .csv/.json file list")
    add_common(parser)
    parser.add_argument("--recipe", default="simclr", help="recipe whose pairs are measured next to simclr")
    parser.add_argument("--workers", type=int, default=None, help="decoding processes (default: all CPUs)")
    parser.add_argument("--engine", default="local", choices=("local", "ray"),
                        help="where the scan runs: local worker processes, or Ray Data (pip install 'pairgen[ray]')")
    parser.add_argument("--ray-address", default=None, metavar="ADDRESS",
                        help="Ray cluster address (default: a local Ray instance); e.g. auto, ray://head:10001")
    parser.add_argument("--limit", type=int, default=None, help="scan at most N items")
    parser.add_argument("--shard", default=None, metavar="I/N",
                        help="scan only items I modulo N (0 <= I < N); merge with pairgen diagnose-merge")
    parser.add_argument("--backbone", default=None, choices=("efficientnet_lite0",),
                        help="add a pretrained backbone's cue to the centricity verdicts (needs its weights package)")
    parser.add_argument("--masks", default=None, metavar="DIR", help="sidecar masks mirroring the image folder")
    parser.add_argument("--pairs-per-image", type=int, default=16, help="Monte-Carlo pairs per image (default 16)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the Monte-Carlo pairs")
    parser.add_argument("--pair-sample", type=int, default=None, metavar="N",
                        help="measure pairs on a seeded sample of at most N images (default 500; 0 = every image)")
    parser.add_argument("--no-cache", action="store_true", help="rescan everything, write no cache")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args) -> int:
    from pairgen.diagnostics import diagnose

    try:
        conditions = parse_conditions(args.fail_on)
        report = diagnose(args.path, out=args.out, recipe=args.recipe,
                          batch_size=256 if args.batch_size is None else args.batch_size,
                          workers=args.workers, limit=args.limit, shard=args.shard, cache=not args.no_cache,
                          progress=not args.quiet, html=not args.no_html, backbone=args.backbone,
                          centricity_labels=args.centricity_labels, mask_dir=args.masks,
                          pairs_per_image=args.pairs_per_image, seed=args.seed, engine=args.engine,
                          ray_address=args.ray_address, **_pair_sample(args.pair_sample))
    except (ValueError, TypeError, ImportError) as err:
        print(f"pairgen diagnose: error: {err}", file=sys.stderr)
        return 2
    return finish(report, args.out, conditions)


def _pair_sample(value: int | None) -> dict:
    if value is None:
        return {}
    if value < 0:
        raise ValueError(f"--pair-sample must be >= 0, got {value}")
    return {"pair_sample": value or None}


def finish(report: dict, out: str, conditions) -> int:
    """Print the summary and the failed conditions; the exit status."""
    from pairgen.diagnostics import summary_text

    print(summary_text(report))
    print(f"  report: {out}/report.json" + (f", {out}/report.html" if (Path(out) / "report.html").is_file() else ""))
    failed = failed_conditions(report, conditions)
    for message in failed:
        print(f"  FAIL {message}")
    return 1 if failed else 0
