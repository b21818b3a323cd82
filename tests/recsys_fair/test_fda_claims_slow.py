"""FDA's CPU claim check (fda.md, section 5; acceptance item 9): ``pytest -m slow tests/recsys_fair``.

FDA-BPR (``FDA-MF``, rho 0.4) against BPR (``MF``) on the synthetic default (600 x 400, per-user
80/10/10), 100 epochs of 22 batches, Adam 1e-3, d = 64, seeds 0 and 1, test evaluated once at the
end (the paper protocol with a fixed number of epochs): DP@20 lower in each seed with a mean relative
reduction of at least 3%, NDCG@20 at least 0.9 times BPR's, EO@20 at most 1.05 times BPR's.

The same bounds on MovieLens-100K (gender) with the specification's settings for it: Adam 1e-3,
136 epochs, seed 0 (about 5 minutes on one quiet core; measured 2026-11-27: DP@20 -2.9 %,
NDCG@20 -6.7 %, EO@20 +2.6 %).
"""

from functools import cache

import pytest

from lab_common import seed_everything
from recsys_fair import load_movielens, synthetic_interactions
from recsys_fair.models import fda  # noqa: F401  (registers the FDA models)
from recsys_fair.training import Trainer, build_model, make_sampler

pytestmark = pytest.mark.slow
EPOCHS = 100


@cache
def trained_metrics(name: str, seed: int, movielens: str | None = None, epochs: int = EPOCHS) -> dict[str, float]:
    data = load_movielens(movielens, split="random", seed=seed) if movielens else synthetic_interactions(seed=seed)
    seed_everything(seed)
    model = build_model(name, data)
    trainer = Trainer(epochs=epochs, lr=1e-3, eval_every=epochs, ks=(20,), protocol="paper", seed=seed)
    history = trainer.fit(model, data, make_sampler("pairwise", data, "auto", seed=seed))
    return {key.removeprefix("test/"): value for key, value in history[-1].items() if key.startswith("test/")}


def check_bounds(mf: dict[str, float], fda_mf: dict[str, float]) -> None:
    summary = {k: (round(mf[k], 4), round(fda_mf[k], 4)) for k in ("ndcg@20", "dp@20", "eo@20")}
    assert fda_mf["dp@20"] < mf["dp@20"], summary
    assert fda_mf["ndcg@20"] >= 0.9 * mf["ndcg@20"], summary
    assert fda_mf["eo@20"] <= 1.05 * mf["eo@20"], summary


@pytest.mark.parametrize("seed", [0, 1])
def test_fda_mf_lowers_dp_at_comparable_ndcg(seed):
    check_bounds(trained_metrics("MF", seed), trained_metrics("FDA-MF", seed))


def test_fda_mf_lowers_dp_on_movielens_100k_with_the_specification_settings(real_dataset):
    root = str(real_dataset("movielens-100k"))
    check_bounds(trained_metrics("MF", 0, root, epochs=136), trained_metrics("FDA-MF", 0, root, epochs=136))


def test_fda_mf_mean_dp_reduction_is_at_least_3_percent():
    reductions = [1 - trained_metrics("FDA-MF", s)["dp@20"] / trained_metrics("MF", s)["dp@20"] for s in (0, 1)]
    assert sum(reductions) / 2 >= 0.03, reductions
