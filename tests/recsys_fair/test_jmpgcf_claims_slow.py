"""JMP-GCF claim on the larger, sparser synthetic data (jmp-gcf.md section 5): ``pytest -m slow``.

Setting (as specified, one seed in CI): ``SyntheticConfig(n_users=2000, n_items=1000,
mean_activity=15)`` with per-user popularity sensitivity, per-user 80/10/10; JMP-GCF with
``stage_fractions=(0.3, 0.6)`` against LightGCN (L = 3, mean readout), both with
``UserBatchSampler`` (batch 2048), Adam lr 1e-3 and 150 epochs; full-sort test metrics.
"""

import pytest

from lab_common import seed_everything
from recsys_fair import (
    SyntheticConfig,
    Trainer,
    UserBatchSampler,
    build_model,
    evaluate_full_sort,
    synthetic_interactions,
)
from recsys_fair.models.jmpgcf import stage_epochs_from_fractions

pytestmark = pytest.mark.slow
EPOCHS = 150


def full_sort_test(name, data, **config):
    seed_everything(0)
    model = build_model(name, data, **config)
    trainer = Trainer(epochs=EPOCHS, lr=1e-3, eval_every=EPOCHS, protocol="paper", metric="recall@20", ks=(20,))
    trainer.fit(model, data, UserBatchSampler(data, 2048, seed=0))
    return evaluate_full_sort(model, data, "test", ks=(20,)).metrics


def test_jmpgcf_beats_lightgcn_by_two_percent_on_sparse_synthetic_data():
    data = synthetic_interactions(SyntheticConfig(n_users=2000, n_items=1000, mean_activity=15), seed=0)
    lightgcn = full_sort_test("LightGCN", data)
    ours = full_sort_test("JMP-GCF", data, stage_epochs=stage_epochs_from_fractions(EPOCHS, (0.3, 0.6)))
    for key in ("recall@20", "ndcg@20"):
        assert ours[key] >= 1.02 * lightgcn[key], f"{key}: JMP-GCF {ours[key]:.4f} vs LightGCN {lightgcn[key]:.4f}"
