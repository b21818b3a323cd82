"""Rows of the baselines FDA, MEGCF and JMP-GCF are compared with.

``MF`` and ``LightGCN``, and ``LightGCN-PyG`` (``torch_geometric.nn.models.LightGCN`` with its
``recommendation_loss``, same sampler, batch size and learning rate, fewer epochs: the peer of
LightGCN's speed claim, compared by ``epoch_s``; its row reports ``lightgcn_epoch_ratio``).
"""

from __future__ import annotations

from lab_common import BenchCase

from .common import DATASETS, Budget, run_row


def budgets_of(suite: str) -> dict[tuple[str, str], Budget]:
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


def build_cases(suite: str) -> list[BenchCase]:
    """The baseline rows of ``suite``, per dataset."""
    budgets = budgets_of(suite)
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
