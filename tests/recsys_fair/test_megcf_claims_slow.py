"""MEGCF claim and control on sparse synthetic data (megcf.md section 5): ``pytest -m slow``.

Setting (as specified): ``SyntheticConfig(mean_activity=15)`` (600 x 400, entities and reviews on,
per-user 80/10/10), every test pair a 1 + 99 case with fixed candidates; MEGCF (L = 3, beta = 0.4,
lambda 1e-2 / 1e-3) and LightGCN (L = 3, mean readout) share ``UserBatchSampler`` (batch 1024),
Adam lr 1e-3, 120 epochs and seeds 0 and 1.
"""

from dataclasses import replace

import pytest
import torch

from lab_common import seed_everything
from recsys_fair import (
    SyntheticConfig,
    Trainer,
    UserBatchSampler,
    build_model,
    evaluate_sampled,
    synthetic_interactions,
)
from recsys_fair.data.dataset import csr_from_pairs
from recsys_fair.models import megcf  # noqa: F401  (registers MEGCF)

pytestmark = pytest.mark.slow
SEEDS, EPOCHS = (0, 1), 120


def shuffled_links(data, seed):
    """Permute the item column of the link list with a fixed seed: entity degrees and the number of
    links are kept, the item-entity signal is destroyed (the specification's control)."""
    permutation = torch.randperm(data.n_items, generator=torch.Generator().manual_seed(seed))
    links = {}
    for modality, matrix in data.item_entities.items():
        items, entities = matrix.to_sparse_coo().indices()
        links[modality] = csr_from_pairs(permutation[items], entities, matrix.shape)
    return replace(data, item_entities=links)


def sampled_test(name, data, seed):
    seed_everything(seed)
    model = build_model(name, data)
    trainer = Trainer(epochs=EPOCHS, lr=1e-3, eval_every=EPOCHS, protocol="paper", evaluator="sampled", metric="hr@10")
    trainer.fit(model, data, UserBatchSampler(data, 1024, seed=seed))
    return evaluate_sampled(model, data, "test", ks=(10,), seed=seed).metrics


def mean(rows, key):
    return sum(row[key] for row in rows) / len(rows)


def test_megcf_beats_lightgcn_and_shuffled_links_on_sparse_synthetic_data():
    datasets = [synthetic_interactions(SyntheticConfig(mean_activity=15), seed=seed) for seed in SEEDS]
    lightgcn = [sampled_test("LightGCN", data, seed) for seed, data in zip(SEEDS, datasets)]
    ours = [sampled_test("MEGCF", data, seed) for seed, data in zip(SEEDS, datasets)]
    shuffled = [sampled_test("MEGCF", shuffled_links(data, seed), seed) for seed, data in zip(SEEDS, datasets)]
    for key in ("hr@10", "ndcg@10"):
        assert mean(ours, key) > mean(lightgcn, key), f"{key}: MEGCF {ours} vs LightGCN {lightgcn}"
    assert mean(ours, "hr@10") > mean(shuffled, "hr@10"), f"true links {ours} vs shuffled {shuffled}"
