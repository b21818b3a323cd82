"""Benchmark suite of lowlevel-vision: ``python -m lowlevel_vision.bench --suite quick --out DIR``.

Options and the results schema are those of DESIGN.md (see :mod:`lab_common.bench`).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from lab_common import BenchCase, bench_main

PACKAGE = "lowlevel-vision"


def build_cases(args: argparse.Namespace) -> list[BenchCase]:
    """The rows of the ``args.suite`` suite, in table order."""
    return []


def main(argv: Sequence[str] | None = None) -> None:
    bench_main(PACKAGE, build_cases, argv)


if __name__ == "__main__":
    main()
