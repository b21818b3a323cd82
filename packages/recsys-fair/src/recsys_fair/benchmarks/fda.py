"""Benchmark rows of FDA (fda.md, section 5): each FDA model next to its backbone.

``FDA-MF`` next to ``MF``, ``FDA-GCCF`` next to ``GCCF`` (a baseline row added here) and
``FDA-LightGCN`` next to ``LightGCN``, on ``synthetic`` and ``movielens-100k`` (gender as the sensitive
attribute): the same epochs, evaluation schedule, learning rate and seed as the backbone's row (the
budgets of :mod:`.baselines`; GCCF takes MF's). FDA and GCCF train with FDA's recipe
(``PairwiseSampler``, 5 negatives, ``batch_size="auto"`` = 22 batches per epoch), as MF does, so
``FDA-MF`` vs ``MF`` and ``FDA-GCCF`` vs ``GCCF`` differ only by the method. ``LightGCN``'s row keeps
its own recipe (``UserBatchSampler``, batch 2048, its ego-embedding regulariser), so ``FDA-LightGCN``
vs ``LightGCN`` also differs by sampler and regulariser. Each FDA row uses the backbone's default
``rho`` (0.4 MF, 0.5 graphs).

The quick suite holds the ``FDA-MF`` rows only: an FDA epoch costs two passes, and a GCCF step
propagates the whole graph twice (four times with FDA), so at the baselines' 60 epochs the GCCF and
LightGCN pairs alone would take about 15 minutes on 2 cores, beyond the quick suite's share. The
``paper`` suite has every row.
"""

from __future__ import annotations

from lab_common import BenchCase

from ..models.fda import FDA  # noqa: F401  (registers GCCF and the FDA models)
from .baselines import budgets_of
from .common import DATASETS, run_row

FDA_RECIPE = {"sampler": "pairwise", "batch_size": "auto", "n_negatives": 5, "lr": 1e-3}
"""FDA's trainer (fda.md, section 3.3), also the recipe of its GCCF baseline (section 3.4)."""

ROWS = (
    ("GCCF", "baseline", None, "MF"),
    ("FDA-MF", "method", "MF", "MF"),
    ("FDA-GCCF", "method", "GCCF", "MF"),
    ("FDA-LightGCN", "method", "LightGCN", "LightGCN"),
)
"""``(name, role, compared with, whose budget it takes)``."""

FDA_DATASETS = ("synthetic", "movielens-100k")
QUICK_ROWS = ("FDA-MF",)
"""The rows that fit the quick suite's time (the others run in the paper suite)."""


def build_cases(suite: str) -> list[BenchCase]:
    """The FDA rows of ``suite`` (and GCCF's) on the datasets with a sensitive attribute."""
    budgets = budgets_of(suite)
    cases = []
    for dataset in FDA_DATASETS:
        requires = DATASETS[dataset][1]
        for name, role, baseline, budget_of in ROWS:
            if suite == "quick" and name not in QUICK_ROWS:
                continue
            budget = budgets[(budget_of, dataset)]
            cases.append(
                BenchCase(
                    method=name,
                    dataset=dataset,
                    run=lambda ctx, n=name, d=dataset, b=budget: run_row(n, d, b, ctx, recipe=FDA_RECIPE),
                    role=role,
                    baseline=baseline,
                    requires=requires,
                    config={"epochs": budget.epochs, "lr": budget.lr, "protocol": budget.protocol},
                )
            )
    return cases
