"""``pairgen diagnose-merge SHARD_DIR... --out report/``: one report from ``--shard`` outputs."""

from __future__ import annotations

import sys

from pairgen.cli.diagnose import add_common, finish
from pairgen.diagnostics.fail_on import parse_conditions


def register(subparsers) -> None:
    parser = subparsers.add_parser("diagnose-merge", help="merge the outputs of pairgen diagnose --shard i/n")
    parser.add_argument("shards", nargs="+", help="the shards' --out folders, all n of them")
    add_common(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    from pairgen.diagnostics import merge

    try:
        conditions = parse_conditions(args.fail_on)
        report = merge(args.shards, out=args.out, batch_size=args.batch_size, html=not args.no_html,
                       centricity_labels=args.centricity_labels)
    except (ValueError, TypeError) as err:
        print(f"pairgen diagnose-merge: error: {err}", file=sys.stderr)
        return 2
    return finish(report, args.out, conditions)
