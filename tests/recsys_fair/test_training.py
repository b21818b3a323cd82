import pytest
import torch

from lab_common import NonFiniteLossError, load_checkpoint, seed_everything
from recsys_fair import MostPopular, Trainer, build_model, evaluate_full_sort, make_sampler


def train(data, name, epochs, seed=0, sampler="user", batch_size=512, lr=5e-3, **trainer_kwargs):
    seed_everything(seed)
    model = build_model(name, data, dim=16)
    trainer = Trainer(epochs=epochs, lr=lr, ks=(20,), seed=seed, **trainer_kwargs)
    history = trainer.fit(model, data, make_sampler(sampler, data, batch_size, seed=seed))
    return model, history


def without_time(history):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in history]


@pytest.mark.parametrize(("name", "sampler"), [("MF", "pairwise"), ("LightGCN", "user")])
def test_loss_decreases_and_same_seed_gives_same_numbers(synthetic, name, sampler):
    model, history = train(
        synthetic, name, 5, sampler=sampler, batch_size=2048 if sampler == "pairwise" else 512, eval_every=5
    )
    losses = history.column("loss")
    assert len(losses) == 5 and losses[-1] < losses[0]
    assert history[-1]["stage"] == "test" and "test/ndcg@20" in history[-1]
    again, history_again = train(
        synthetic, name, 5, sampler=sampler, batch_size=2048 if sampler == "pairwise" else 512, eval_every=5
    )
    assert without_time(history) == without_time(history_again)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))


def test_resume_equals_uninterrupted_run(synthetic, tmp_path):
    full, full_history = train(synthetic, "LightGCN", 6, eval_every=3, checkpoint_dir=tmp_path / "full")
    train(synthetic, "LightGCN", 3, eval_every=3, checkpoint_dir=tmp_path / "part")
    assert load_checkpoint(tmp_path / "part" / "last.pt")["state"]["epoch"] == 2
    seed_everything(123)  # the resumed process starts from other weights and RNG state
    resumed = build_model("LightGCN", synthetic, dim=16)
    trainer = Trainer(epochs=6, lr=5e-3, ks=(20,), eval_every=3, checkpoint_dir=tmp_path / "part")
    history = trainer.fit(
        resumed, synthetic, make_sampler("user", synthetic, 512, seed=0), resume=tmp_path / "part" / "last.pt"
    )
    assert without_time(history) == without_time(full_history)
    assert all(torch.equal(a, b) for a, b in zip(full.state_dict().values(), resumed.state_dict().values()))


def test_non_finite_loss_stops_with_checkpoint_intact(synthetic, tmp_path):
    seed_everything(0)
    model = build_model("MF", synthetic, dim=8)
    calls = {"n": 0}
    original = model.loss

    def exploding(users, positives, negatives):
        calls["n"] += 1
        parts = original(users, positives, negatives)
        return {**parts, "loss": parts["loss"] * float("nan")} if calls["n"] > 2 * 7 else parts

    model.loss = exploding
    sampler = make_sampler("pairwise", synthetic, 10_000, seed=0)  # 7 batches per epoch
    trainer = Trainer(epochs=5, eval_every=1, ks=(20,), checkpoint_dir=tmp_path)
    with pytest.raises(NonFiniteLossError, match="epoch 2, batch 0"):
        trainer.fit(model, synthetic, sampler)
    state = load_checkpoint(tmp_path / "last.pt")["state"]
    assert state["epoch"] == 1 and len(state["history"]["records"]) == 2
    assert (tmp_path / "best.pt").exists()


def test_paper_protocol_reports_the_test_selected_row(synthetic):
    _, history = train(synthetic, "MF", 4, sampler="pairwise", batch_size=4096, eval_every=2, protocol="paper")
    assert history[-1]["stage"] == "best (test-selected)"
    assert "test/ndcg@20" in history[1] and "valid/ndcg@20" not in history[1]
    best = max(r["test/ndcg@20"] for r in list(history)[:-1] if "test/ndcg@20" in r)
    assert history[-1]["test/ndcg@20"] == best


def test_lightgcn_beats_most_popular_on_synthetic(synthetic):
    model, _ = train(synthetic, "LightGCN", 12, eval_every=4, batch_size=256)
    ours = evaluate_full_sort(model, synthetic, ks=(20,)).metrics
    popular = evaluate_full_sort(MostPopular.from_data(synthetic), synthetic, ks=(20,)).metrics
    assert ours["ndcg@20"] > popular["ndcg@20"] + 0.1
    assert ours["recall@20"] > popular["recall@20"] + 0.1


def test_mf_serves_the_minority_group_worse(synthetic):
    model, _ = train(synthetic, "MF", 30, sampler="pairwise", batch_size=4096, lr=1e-2, eval_every=10)
    metrics = evaluate_full_sort(model, synthetic, ks=(20,)).metrics
    assert metrics["ndcg@20"] > 0.3
    assert metrics["ndcg@20_gap"] > 0.05 and metrics["recall@20_gap"] > 0.05
