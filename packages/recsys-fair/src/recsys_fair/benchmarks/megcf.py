"""Benchmark rows of MEGCF (megcf.md section 5), next to LightGCN with the same budget.

Quick suite: MEGCF on ``synthetic`` (entities and reviews on; the budget of the ``LightGCN`` row:
60 epochs, lr 5e-3, batch 2048) and on ``megcf-beauty`` with the Beauty defaults of the paper
(L = 3, beta = 0.4, lambda 1e-2 / 1e-3) against ``LightGCN-short``, a LightGCN row with the same
1-epoch budget: an epoch of MEGCF on Beauty costs several LightGCN epochs, so the suite's CPU budget
allows only a short run (the ``paper`` suite runs the full schedule). The ``LightGCN-short`` rows
(also on ``movielens-100k``, for JMP-GCF) are defined here. Rows report full-sort metrics,
the sampled 1 + 99 protocol (``sampled_hr@10`` ...) and ``epoch_ratio_vs_lightgcn``.

Paper suite: the official schedule (1000 epochs, Adam 1e-3, batch 2048, sampled HR@10 on test every
20 epochs, best row reported as test-selected) on each MEGCF folder under the data root.
"""

from __future__ import annotations

from typing import Any

from lab_common import BenchCase, BenchContext, CaseResult, count_parameters, timed

from ..data.megcf import load_megcf
from ..data.samplers import UserBatchSampler
from ..evaluation import evaluate_full_sort
from ..models.megcf import MEGCF, PAPER_TRAINING
from ..training import Trainer
from .common import EPOCH_SECONDS, Budget, run_row

RECIPE = {key: PAPER_TRAINING[key] for key in ("sampler", "batch_size", "lr")}
"""MEGCF's training recipe (megcf.md section 3): ``UserBatchSampler``, batch 2048, Adam 1e-3."""
SHORT_BASELINE = "LightGCN-short"
SHORT_BUDGETS = {
    "movielens-100k": Budget(epochs=10, eval_every=5, lr=5e-3),
    "megcf-beauty": Budget(epochs=1, eval_every=1, lr=5e-3, protocol="paper"),
}
"""Budgets of the rows whose method epoch costs too much for the suite's budget at the ``LightGCN``
row's epochs: the method and ``LightGCN-short`` share them (same epochs, lr, sampler, batch)."""
PAPER_FOLDERS = ("megcf-beauty", "megcf-art", "megcf-taobao")


def run_against_lightgcn(name: str, dataset: str, budget: Budget, ctx: BenchContext, **kwargs: Any) -> CaseResult:
    """``run_row`` plus ``epoch_ratio_vs_lightgcn``: this row's mean epoch time over that of the
    LightGCN row run last on ``dataset`` in this process (same sampler, batch size and data)."""
    result = run_row(name, dataset, budget, ctx, **kwargs)
    lightgcn = EPOCH_SECONDS.get(("LightGCN", dataset))
    if lightgcn:
        result.metrics["epoch_ratio_vs_lightgcn"] = result.metrics["epoch_s"] / lightgcn
    return result


def _case(method: str, dataset: str, budget: Budget, run, baseline: str | None, config: dict) -> BenchCase:
    requires = () if dataset == "synthetic" else (dataset,)
    role = "baseline" if method == SHORT_BASELINE else "method"
    full_config = {"epochs": budget.epochs, "lr": budget.lr, "protocol": budget.protocol, **config}
    return BenchCase(method, dataset, run, role=role, baseline=baseline, requires=requires, config=full_config)


def _quick_cases() -> list[BenchCase]:
    synthetic = Budget(epochs=60, eval_every=10, lr=5e-3)
    short = SHORT_BUDGETS["megcf-beauty"]
    beauty = MEGCF.paper_config("beauty")
    peers = [
        _case(SHORT_BASELINE, name, b, lambda ctx, n=name, b=b: run_row("LightGCN", n, b, ctx, sampled=True), None, {})
        for name, b in SHORT_BUDGETS.items()
    ]
    return [
        _case(
            "MEGCF",
            "synthetic",
            synthetic,
            lambda ctx: run_against_lightgcn("MEGCF", "synthetic", synthetic, ctx, recipe=RECIPE, sampled=True),
            "LightGCN",
            {},
        ),
        *peers,
        _case(
            "MEGCF",
            "megcf-beauty",
            short,
            lambda ctx: run_against_lightgcn(
                "MEGCF", "megcf-beauty", short, ctx, model_config=beauty, recipe=RECIPE, sampled=True
            ),
            SHORT_BASELINE,
            beauty,
        ),
    ]


def run_paper(folder: str, ctx: BenchContext) -> CaseResult:
    """The official schedule on a MEGCF folder, reported as test-selected (megcf.md section 4)."""
    data = load_megcf(ctx.dataset_path(folder), keep_duplicates=True)
    model = MEGCF(data, **MEGCF.paper_config(folder))
    trainer = Trainer(
        epochs=PAPER_TRAINING["epochs"],
        lr=PAPER_TRAINING["lr"],
        eval_every=PAPER_TRAINING["eval_every"],
        metric="hr@10",
        ks=(5, 10, 20),
        protocol="paper",
        evaluator="sampled",
        device=ctx.device,
        seed=ctx.seed,
        quiet=ctx.quiet,
    )
    sampler = UserBatchSampler(data, PAPER_TRAINING["batch_size"], seed=ctx.seed)
    with timed() as train:
        history = trainer.fit(model, data, sampler)
    best = history[-1]
    metrics = {f"sampled_{k.removeprefix('test/')}": v for k, v in best.items() if k.startswith("test/")}
    with timed() as evaluation:
        metrics.update(evaluate_full_sort(model, data, "test", ks=(20,), fairness=False).metrics)
    epochs = [r["seconds"] for r in history if r["stage"] == "train"]
    return CaseResult(
        metrics={**metrics, "epoch_s": sum(epochs) / len(epochs)},
        train_s=train["seconds"],
        eval_s=evaluation["seconds"],
        params=count_parameters(model),
        throughput=len(sampler) * sampler.batch_size * len(epochs) / sum(epochs),
        throughput_unit="triples/s",
        config={**PAPER_TRAINING, **model.config, "selected_epoch": best["epoch"], "selection": "test-selected"},
    )


def build_cases(suite: str) -> list[BenchCase]:
    """The MEGCF rows of ``suite``."""
    if suite == "quick":
        return _quick_cases()
    budget = Budget(epochs=PAPER_TRAINING["epochs"], eval_every=PAPER_TRAINING["eval_every"], lr=1e-3, protocol="paper")
    return [
        _case("MEGCF", folder, budget, lambda ctx, f=folder: run_paper(f, ctx), None, MEGCF.paper_config(folder))
        for folder in PAPER_FOLDERS
    ]
