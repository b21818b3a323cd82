"""The ``learn-compress`` console script."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from lab_common.bench import add_bench_arguments, bench_main

from . import __version__, bench


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="learn-compress", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    add_bench_arguments(commands.add_parser("bench", help="run the benchmark suite"))
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.command == "bench":
        bench_main(bench.PACKAGE, bench.build_cases, args=args)


if __name__ == "__main__":
    main()
