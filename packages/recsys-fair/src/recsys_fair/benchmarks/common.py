"""What every method's benchmark rows share: the datasets, a row's budget, and ``run_row``.

``run_row(name, dataset, budget, ctx)`` trains a registered model with its recipe (``RECIPES[name]``,
or the ``recipe`` given), selects with the trainer's protocol, evaluates the test split by full sort
(and by the sampled protocol with ``sampled=True``) and returns the row's :class:`CaseResult`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from lab_common import BenchContext, CaseResult, count_parameters, timed

from ..data.dataset import InteractionData
from ..data.megcf import load_megcf
from ..data.movielens import load_movielens
from ..data.synthetic import SyntheticConfig, synthetic_interactions
from ..evaluation import evaluate_full_sort, evaluate_sampled
from ..training import RECIPES, Trainer, build_model, make_sampler

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


EPOCH_SECONDS: dict[tuple[str, str], float] = {}
"""Mean epoch time of each (model, dataset) row run in this process, for the peer's speed ratio."""


def run_row(
    name: str,
    dataset: str,
    budget: Budget,
    ctx: BenchContext,
    *,
    model_config: dict[str, Any] | None = None,
    recipe: dict[str, Any] | None = None,
    sampled: bool = False,
) -> CaseResult:
    """Train ``name`` with its recipe and ``budget`` and evaluate the selected state on test.

    The ``LightGCN-PyG`` row also reports ``lightgcn_epoch_ratio`` = LightGCN's epoch time / its own
    (same sampler, batch size and data; below 1 means ours is faster) when LightGCN ran before it.
    """
    data = DATASETS[dataset][0](ctx)
    recipe = recipe if recipe is not None else RECIPES[name]
    model = build_model(name, data, **(model_config or {}))
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
    EPOCH_SECONDS[(name, dataset)] = epoch_s
    reported = {**{k: metrics[k] for k in REPORTED if k in metrics}, "epoch_s": epoch_s}
    if sampled:
        hits = evaluate_sampled(model, data, "test", ks=(5, 10, 20), seed=ctx.seed).metrics
        reported.update({f"sampled_{k}": v for k, v in hits.items()})
    if name == "LightGCN-PyG" and ("LightGCN", dataset) in EPOCH_SECONDS:
        reported["lightgcn_epoch_ratio"] = EPOCH_SECONDS[("LightGCN", dataset)] / epoch_s
    return CaseResult(
        metrics=reported,
        train_s=train["seconds"],
        eval_s=evaluation["seconds"],
        params=count_parameters(model),
        throughput=rows_per_epoch * len(epoch_seconds) / sum(epoch_seconds),
        throughput_unit="triples/s",
        config={
            **recipe,
            **(model_config or {}),
            "batch_size": sampler.batch_size,
            "epochs_run": len(epoch_seconds),
            "selected_epoch": selected[-1] if selected else None,
            "budget": asdict(budget),
            "users": data.n_users,
            "items": data.n_items,
            "train_pairs": len(data.train),
        },
    )


DATASETS: dict[str, tuple[Callable[[BenchContext], InteractionData], tuple[str, ...]]] = {
    "synthetic": (_synthetic, ()),
    "movielens-100k": (_movielens, ("movielens-100k",)),
    "megcf-beauty": (_beauty, ("megcf-beauty",)),
}
