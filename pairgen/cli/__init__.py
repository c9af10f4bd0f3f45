"""The ``pairgen`` command line.

Each sub-command lives in its own module of this package and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to the function
that runs it and returns the exit status.
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: Sub-command modules, in the order ``pairgen --help`` lists them.
COMMANDS = ("preview", "recipes", "diagnose", "diagnose_merge", "invariance", "scenes")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pairgen",
        description="Positive pairs, negatives and dataset diagnostics for contrastive learning.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
