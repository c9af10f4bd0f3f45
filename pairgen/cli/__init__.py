"""The ``pairgen`` command line.

Each sub-command lives in its own module of this package and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to the function
that runs it and returns the exit status.

Mistakes (a typo'd recipe, a missing file, malformed YAML, a bad number) end with
one line on stderr, ``pairgen COMMAND: error: ...``, and exit status 2, never a
traceback; ``PAIRGEN_TRACEBACK=1`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys

from pairgen.errors import PairgenError

#: Sub-command modules, in the order ``pairgen --help`` lists them.
COMMANDS = ("preview", "recipes", "diagnose", "diagnose_merge", "invariance", "scenes")


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr and exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from pairgen import __version__

    parser = OneLineParser(
        prog="pairgen",
        description="Positive pairs, negatives and dataset diagnostics for contrastive learning.",
    )
    parser.add_argument("--version", action="version", version=f"pairgen {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit status (2 for a mistake in what it was given)."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (PairgenError, ValueError, OSError) as error:
        if os.environ.get("PAIRGEN_TRACEBACK"):
            raise
        print(f"pairgen {args.command}: error: {one_line(error)}", file=sys.stderr)
        return 2


def run() -> None:
    """The console script: :func:`main`, then exit without a last sweep of the heap.

    The interpreter's final garbage collection walks every object torch and the other
    libraries created (about a second on 2 cores); freezing the heap skips that walk:
    exit handlers (``atexit``: Ray's, multiprocessing's) still run and objects still
    referenced are released as modules are torn down, but reference cycles left at
    exit are not collected, so their ``__del__`` does not run (pairgen closes its files
    and pools explicitly and relies on no finaliser).
    """
    status = main()
    gc.freeze()
    sys.exit(status)


def one_line(error: BaseException) -> str:
    """The error's message on one line (a missing file names its path)."""
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        message = f"{error.strerror}: {error.filename}"
    else:
        message = str(error) or type(error).__name__
    return " ".join(message.split())


if __name__ == "__main__":
    run()
