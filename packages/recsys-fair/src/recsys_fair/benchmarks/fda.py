"""Benchmark rows of FDA (fda.md, section 5): each FDA model next to its backbone.

On ``synthetic`` and ``movielens-100k`` (gender as the sensitive attribute), every pair trains with
FDA's trainer (``PairwiseSampler``, 5 negatives, ``batch_size="auto"`` = 22 batches per epoch, FDA's
task loss and regulariser), the same epochs, evaluation schedule, learning rate and seed, so the two
rows of a pair differ only by the method. The backbone rows are FDA's baselines (section 3.4): ``MF``
and ``GCCF`` (their own losses are FDA's task loss without fake data, bit-identical), and
``LightGCN-rho0``, the ``FDA-LightGCN`` model with ``rho = 0`` and no augmentation pass (LightGCN's
propagation with FDA's task loss; the package's ``LightGCN`` row has its own sampler and regulariser).
Each FDA row uses the backbone's default ``rho`` (0.4 MF, 0.5 graphs) and ``lr_aug`` 1e-3.

Budgets (clean protocol: validation NDCG@20 every ``eval_every`` epochs, the selected state evaluated
on test):

- ``FDA-MF`` takes ``MF``'s row of :mod:`.baselines` (quick: 60 epochs, Adam 5e-3, every 10).
- quick: the graph pairs get 8 epochs (Adam 5e-3, every 2). On one quiet core an epoch of ``GCCF``
  costs about 3x ``MF``'s and one of ``FDA-GCCF`` about 7x (two passes; the batch rows of GCCF's
  192-column representations dominate, not the propagation), so 60 epochs of the GCCF and LightGCN
  pairs would take about 18 minutes, beyond the quick suite's share; 8 epochs of the four pairs take
  about 2.5 minutes on one core. The rows are short of convergence (each selects its last evaluation).
- paper: ``GCCF`` and ``FDA-GCCF`` take ``MF``'s budget, the LightGCN pair ``LightGCN``'s.
"""

from __future__ import annotations

from typing import Any

from lab_common import BenchCase

from ..models.fda import FDA  # noqa: F401  (registers GCCF and the FDA models)
from .baselines import budgets_of
from .common import DATASETS, Budget, run_row

FDA_RECIPE = {"sampler": "pairwise", "batch_size": "auto", "n_negatives": 5}
"""FDA's trainer (fda.md, section 3.3), also the recipe of its baselines (section 3.4); the learning
rate is the row's budget's."""

ROWS: tuple[tuple[str, str, str | None, str, dict[str, Any]], ...] = (
    ("FDA-MF", "method", "MF", "FDA-MF", {}),
    ("GCCF", "baseline", None, "GCCF", {}),
    ("FDA-GCCF", "method", "GCCF", "FDA-GCCF", {}),
    ("LightGCN-rho0", "baseline", None, "FDA-LightGCN", {"rho": 0.0, "augment": False}),
    ("FDA-LightGCN", "method", "LightGCN-rho0", "FDA-LightGCN", {}),
)
"""``(row name, role, compared with, registered model, model config)``."""

FDA_DATASETS = ("synthetic", "movielens-100k")
QUICK_GRAPH_BUDGET = Budget(epochs=8, eval_every=2, lr=5e-3)
"""The quick suite's budget of the GCCF and LightGCN pairs (see the module docstring)."""


def row_budgets(suite: str) -> dict[tuple[str, str], Budget]:
    """The budget of each ``(row, dataset)``: equal within each pair."""
    baseline = budgets_of(suite)
    budgets = {}
    for dataset in FDA_DATASETS:
        graph = {
            "GCCF": QUICK_GRAPH_BUDGET if suite == "quick" else baseline[("MF", dataset)],
            "LightGCN": QUICK_GRAPH_BUDGET if suite == "quick" else baseline[("LightGCN", dataset)],
        }
        budgets[("FDA-MF", dataset)] = baseline[("MF", dataset)]
        for name in ("GCCF", "FDA-GCCF"):
            budgets[(name, dataset)] = graph["GCCF"]
        for name in ("LightGCN-rho0", "FDA-LightGCN"):
            budgets[(name, dataset)] = graph["LightGCN"]
    return budgets


def build_cases(suite: str) -> list[BenchCase]:
    """The FDA rows of ``suite`` (and their GCCF and LightGCN baselines) on the datasets with a
    sensitive attribute."""
    budgets = row_budgets(suite)
    cases = []
    for dataset in FDA_DATASETS:
        requires = DATASETS[dataset][1]
        for name, role, baseline, model, model_config in ROWS:
            budget = budgets[(name, dataset)]

            def run(ctx, m=model, d=dataset, b=budget, c=model_config):
                return run_row(m, d, b, ctx, model_config=c, recipe=FDA_RECIPE)

            cases.append(
                BenchCase(
                    method=name,
                    dataset=dataset,
                    run=run,
                    role=role,
                    baseline=baseline,
                    requires=requires,
                    config={
                        "epochs": budget.epochs,
                        "eval_every": budget.eval_every,
                        "lr": budget.lr,
                        "protocol": budget.protocol,
                        **model_config,
                    },
                )
            )
    return cases
