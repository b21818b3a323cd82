"""Benchmark rows of JMP-GCF (jmp-gcf.md section 5), next to LightGCN with the same budget.

Quick suite: JMP-GCF with the three granularities stacked at ``stage_fractions=(0.3, 0.6)`` on
``synthetic`` with the budget of the ``LightGCN`` row (60 epochs, lr 5e-3, batch 2048: LightGCN's
batch, the same sampler) and on ``movielens-100k`` against ``LightGCN-short`` (10 epochs: the suite's
CPU budget allows no more), and on ``megcf-beauty`` against the 1-epoch ``LightGCN-short`` with all
three granularities active from epoch 0, so its ``epoch_ratio_vs_lightgcn`` is the cost of a full
stage-3 epoch (the peer rows are defined in :mod:`.megcf`). Metrics
are full-sort Recall/NDCG@20 with the clean protocol (validation-selected) where a validation split
exists. The specification's claim setting (2,000 x 1,000, ``mean_activity=15``, 150 epochs) is the
slow test ``tests/recsys_fair/test_jmpgcf_claims_slow.py``.
"""

from __future__ import annotations

from lab_common import BenchCase

from ..models.jmpgcf import stage_epochs_from_fractions
from .common import Budget
from .megcf import SHORT_BASELINE, SHORT_BUDGETS, run_against_lightgcn

RECIPE = {"sampler": "user", "batch_size": 4096, "lr": 1e-3}
"""JMP-GCF's official recipe (jmp-gcf.md section 3): ``UserBatchSampler``, batch 4096, Adam 1e-3."""
HEAD_TO_HEAD = {**RECIPE, "batch_size": 2048}
"""Next to the suite's LightGCN rows JMP-GCF takes LightGCN's batch size (recsys-common.md section 8)."""


def _case(dataset: str, budget: Budget, model_config: dict, baseline: str) -> BenchCase:
    return BenchCase(
        method="JMP-GCF",
        dataset=dataset,
        run=lambda ctx: run_against_lightgcn(
            "JMP-GCF", dataset, budget, ctx, model_config=model_config, recipe=HEAD_TO_HEAD
        ),
        role="method",
        baseline=baseline,
        requires=() if dataset == "synthetic" else (dataset,),
        config={"epochs": budget.epochs, "lr": budget.lr, "protocol": budget.protocol, **model_config},
    )


def build_cases(suite: str) -> list[BenchCase]:
    """The JMP-GCF rows of the quick suite (the paper suite needs NGCF-format data, passed by path
    to ``JMPGCF.fit``; no such folder is among the benchmark datasets)."""
    if suite != "quick":
        return []
    budget, movielens = Budget(epochs=60, eval_every=10, lr=5e-3), SHORT_BUDGETS["movielens-100k"]
    return [
        _case("synthetic", budget, {"stage_epochs": stage_epochs_from_fractions(budget.epochs)}, "LightGCN"),
        _case(
            "movielens-100k", movielens, {"stage_epochs": stage_epochs_from_fractions(movielens.epochs)}, SHORT_BASELINE
        ),
        _case("megcf-beauty", SHORT_BUDGETS["megcf-beauty"], {"stage_epochs": (-1, -1)}, SHORT_BASELINE),
    ]
