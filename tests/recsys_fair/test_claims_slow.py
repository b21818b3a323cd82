"""Claim checks that train for minutes: ``pytest -m slow tests/recsys_fair``."""

import time

import pytest

from lab_common import seed_everything
from recsys_fair import (
    MostPopular,
    SyntheticConfig,
    Trainer,
    build_model,
    evaluate_full_sort,
    load_movielens,
    make_sampler,
    synthetic_interactions,
)

pytestmark = pytest.mark.slow


def _epoch_seconds(name, data, epochs=3):
    seed_everything(0)
    model = build_model(name, data)
    sampler = make_sampler("user", data, 2048, seed=0)
    trainer = Trainer(epochs=epochs, eval_every=epochs, ks=(20,))
    started = time.perf_counter()
    trainer.fit(model, data, sampler)
    return time.perf_counter() - started


def test_lightgcn_epoch_is_at_least_as_fast_as_pyg_lightgcn():
    data = synthetic_interactions(SyntheticConfig.benchmark())
    ours, peer = _epoch_seconds("LightGCN", data), _epoch_seconds("LightGCN-PyG", data)
    assert ours <= peer, f"LightGCN {ours:.1f}s vs LightGCN-PyG {peer:.1f}s for 3 epochs"


def test_lightgcn_beats_most_popular_on_movielens_100k(real_dataset):
    data = load_movielens(real_dataset("movielens-100k"), seed=0)
    seed_everything(0)
    model = build_model("LightGCN", data)
    Trainer(epochs=40, lr=5e-3, eval_every=10, ks=(20,)).fit(model, data, make_sampler("user", data, 2048, seed=0))
    ours = evaluate_full_sort(model, data, ks=(20,)).metrics
    popular = evaluate_full_sort(MostPopular.from_data(data), data, ks=(20,)).metrics
    assert ours["ndcg@20"] > popular["ndcg@20"] and ours["recall@20"] > popular["recall@20"]
