"""Benchmark suite of recsys-fair: ``python -m recsys_fair.bench --suite quick --out DIR``.

Options and the results schema are those of DESIGN.md (see :mod:`lab_common.bench`).

Rows (one module per method under :mod:`recsys_fair.benchmarks`): the baselines ``MF``, ``LightGCN``
and the PyG peer ``LightGCN-PyG``, then each method next to its backbone, on ``synthetic`` (2,000 x
1,000, per-user 80/10/10), and on ``movielens-100k`` (per-user 80/10/10, gender as the sensitive
attribute) and ``megcf-beauty`` (the shipped split; its validation items lie inside train, so a fixed
budget is trained and the test set evaluated once; no user attribute, so no DP/EO) when
``--data-root`` holds them. Metrics are full-sort, with train (and valid) items masked.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from lab_common import BenchCase, bench_main

from .benchmarks import baselines, fda, jmpgcf, megcf

PACKAGE = "recsys-fair"


def build_cases(args: argparse.Namespace) -> list[BenchCase]:
    """The rows of the ``args.suite`` suite, in table order."""
    return [case for method in (baselines, fda, megcf, jmpgcf) for case in method.build_cases(args.suite)]


def main(argv: Sequence[str] | None = None) -> None:
    bench_main(PACKAGE, build_cases, argv)


if __name__ == "__main__":
    main()
