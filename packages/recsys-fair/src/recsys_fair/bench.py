"""Benchmark suite of recsys-fair: ``python -m recsys_fair.bench --suite quick --out DIR``.

Options and the results schema are those of DESIGN.md (see :mod:`lab_common.bench`).

Rows: ``MF`` and ``LightGCN`` (the baselines FDA, MEGCF and JMP-GCF are compared with) and
``LightGCN-PyG`` (``torch_geometric.nn.models.LightGCN`` with its ``recommendation_loss``, same
sampler, batch size and learning rate, fewer epochs: the peer of LightGCN's speed claim, compared by
``epoch_s``; its row reports ``lightgcn_epoch_ratio``) on ``synthetic`` (2,000 x 1,000, per-user 80/10/10), and on
``movielens-100k`` (per-user 80/10/10, gender as the sensitive attribute) and ``megcf-beauty`` (the
shipped split; its validation items lie inside train, so a fixed budget is trained and the test set
evaluated once; no user attribute, so no DP/EO) when ``--data-root`` holds them. Metrics are
full-sort, with train (and valid) items masked.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from lab_common import BenchCase, BenchContext, CaseResult, bench_main, count_parameters, timed

from .data.dataset import InteractionData
from .data.megcf import load_megcf
from .data.movielens import load_movielens
from .data.synthetic import SyntheticConfig, synthetic_interactions
from .evaluation import evaluate_full_sort
from .training import RECIPES, Trainer, build_model, make_sampler

PACKAGE = "recsys-fair"
REPORTED = ("recall@20", "ndcg@20", "dp@20", "eo@20", "recall@20_gap", "ndcg@20_gap")


@dataclass(frozen=True)
class Budget:
    """Epochs and evaluation schedule of one row."""

    epochs: int
    eval_every: int
    lr: float
    protocol: str = "clean"
    patience: int = 5


def _synthetic(ctx: BenchContext) -> InteractionData:
    return synthetic_interactions(SyntheticConfig.benchmark(), seed=ctx.seed)


def _movielens(ctx: BenchContext) -> InteractionData:
    return load_movielens(ctx.dataset_path("movielens-100k"), split="random", seed=ctx.seed)


def _beauty(ctx: BenchContext) -> InteractionData:
    return load_megcf(ctx.dataset_path("megcf-beauty"))


_EPOCH_SECONDS: dict[tuple[str, str], float] = {}
"""Mean epoch time of each (model, dataset) row run in this process, for the peer's speed ratio."""


def run_row(name: str, dataset: str, budget: Budget, ctx: BenchContext) -> CaseResult:
    """Train ``name`` with its recipe and ``budget`` and evaluate the selected state on test.

    The ``LightGCN-PyG`` row also reports ``lightgcn_epoch_ratio`` = LightGCN's epoch time / its own
    (same sampler, batch size and data; below 1 means ours is faster) when LightGCN ran before it.
    """
    data = DATASETS[dataset][0](ctx)
    recipe = RECIPES[name]
    model = build_model(name, data)
    sampler = make_sampler(
        recipe["sampler"], data, recipe["batch_size"], seed=ctx.seed, n_negatives=recipe.get("n_negatives", 5)
    )
    trainer = Trainer(
        epochs=budget.epochs,
        lr=budget.lr,
        eval_every=budget.eval_every,
        metric="ndcg@20",
        ks=(10, 20),
        patience=budget.patience,
        protocol=budget.protocol,
        device=ctx.device,
        seed=ctx.seed,
        quiet=ctx.quiet,
    )
    with timed() as train:
        history = trainer.fit(model, data, sampler)
    with timed() as evaluation:
        metrics = evaluate_full_sort(model, data, "test", ks=(10, 20)).metrics
    epoch_seconds = [r["seconds"] for r in history if r["stage"] == "train"]
    rows_per_epoch = len(sampler) * sampler.batch_size
    selected = [r["epoch"] for r in history if r["stage"] != "train"]
    epoch_s = sum(epoch_seconds) / len(epoch_seconds)
    _EPOCH_SECONDS[(name, dataset)] = epoch_s
    reported = {**{k: metrics[k] for k in REPORTED if k in metrics}, "epoch_s": epoch_s}
    if name == "LightGCN-PyG" and ("LightGCN", dataset) in _EPOCH_SECONDS:
        reported["lightgcn_epoch_ratio"] = _EPOCH_SECONDS[("LightGCN", dataset)] / epoch_s
    return CaseResult(
        metrics=reported,
        train_s=train["seconds"],
        eval_s=evaluation["seconds"],
        params=count_parameters(model),
        throughput=rows_per_epoch * len(epoch_seconds) / sum(epoch_seconds),
        throughput_unit="triples/s",
        config={
            **recipe,
            "batch_size": sampler.batch_size,
            "epochs_run": len(epoch_seconds),
            "selected_epoch": selected[-1] if selected else None,
            "budget": asdict(budget),
            "users": data.n_users,
            "items": data.n_items,
            "train_pairs": len(data.train),
        },
    )


def _budgets(suite: str) -> dict[tuple[str, str], Budget]:
    """Epoch budgets; the PyG peer trains fewer epochs (it is there for its epoch time, and an epoch
    of it costs several of ours), so compare it by ``epoch_s``, not by total training time."""
    scale = 1 if suite == "quick" else 5
    lightgcn = Budget(epochs=60 * scale, eval_every=10, lr=5e-3)
    return {
        ("MF", "synthetic"): Budget(epochs=60 * scale, eval_every=10, lr=5e-3),
        ("LightGCN", "synthetic"): lightgcn,
        ("LightGCN-PyG", "synthetic"): Budget(epochs=4 * scale, eval_every=4 * scale, lr=5e-3),
        ("MF", "movielens-100k"): Budget(epochs=60 * scale, eval_every=10, lr=5e-3),
        ("LightGCN", "movielens-100k"): lightgcn,
        ("LightGCN-PyG", "movielens-100k"): Budget(epochs=3 * scale, eval_every=3 * scale, lr=5e-3),
        ("MF", "megcf-beauty"): Budget(epochs=30 * scale, eval_every=30 * scale, lr=5e-3, protocol="paper"),
        ("LightGCN", "megcf-beauty"): Budget(epochs=15 * scale, eval_every=15 * scale, lr=5e-3, protocol="paper"),
        ("LightGCN-PyG", "megcf-beauty"): Budget(epochs=2 * scale, eval_every=2 * scale, lr=5e-3, protocol="paper"),
    }


DATASETS: dict[str, tuple[Callable[[BenchContext], InteractionData], tuple[str, ...]]] = {
    "synthetic": (_synthetic, ()),
    "movielens-100k": (_movielens, ("movielens-100k",)),
    "megcf-beauty": (_beauty, ("megcf-beauty",)),
}


def build_cases(args: argparse.Namespace) -> list[BenchCase]:
    """The rows of the ``args.suite`` suite, in table order."""
    budgets = _budgets(args.suite)
    cases = []
    for dataset, (_, requires) in DATASETS.items():
        for name in ("MF", "LightGCN", "LightGCN-PyG"):
            budget = budgets[(name, dataset)]
            cases.append(
                BenchCase(
                    method=name,
                    dataset=dataset,
                    run=lambda ctx, n=name, d=dataset, b=budget: run_row(n, d, b, ctx),
                    role="baseline",
                    requires=requires,
                    config={"epochs": budget.epochs, "lr": budget.lr, "protocol": budget.protocol},
                )
            )
    return cases


def main(argv: Sequence[str] | None = None) -> None:
    bench_main(PACKAGE, build_cases, argv)


if __name__ == "__main__":
    main()
