"""JMP-GCF (jmp-gcf.md, acceptance checklist of section 6): fast tests."""

import pytest
import torch

from lab_common import load_checkpoint, seed_everything
from recsys_fair import InteractionData, SyntheticConfig, Trainer, UserBatchSampler, synthetic_interactions
from recsys_fair.models.graph import interaction_adjacency
from recsys_fair.models.jmpgcf import JMPGCF, stage_epochs_from_fractions


@pytest.fixture(scope="module")
def small():
    return synthetic_interactions(SyntheticConfig(n_users=120, n_items=80, mean_activity=10, entities=False), seed=0)


def toy():
    """2 users x 3 items: u0-i0, u0-i1, u1-i1, u1-i2; nodes u0, u1, i0, i1, i2."""
    return InteractionData(2, 3, torch.tensor([[0, 0], [0, 1], [1, 1], [1, 2]]), test=torch.tensor([[0, 2], [1, 0]]))


def identity_model(**config):
    """A toy model whose ego rows are the identity, so layer-1 outputs are the adjacency itself."""
    model = JMPGCF(2, 3, adjacency_source=toy(), dim=5, layers=(1,), **config)
    with torch.no_grad():
        model.user.copy_(torch.eye(5)[:2])
        model.item.copy_(torch.eye(5)[2:])
    return model


def test_granularity_graphs_entry_by_entry():
    model = identity_model()
    model.stage = 3
    (layer_one,) = model.layer_outputs()
    degree = torch.tensor([2.0, 2.0, 1.0, 2.0, 1.0]) + 1  # deg(A) + 1 (self-loop)
    adjacency = torch.eye(5)
    for u, i in ((0, 2), (0, 3), (1, 3), (1, 4)):
        adjacency[u, i] = adjacency[i, u] = 1.0
    for g, beta in enumerate((0.3, 0.4, 0.5)):
        got = layer_one[:, 5 * g : 5 * (g + 1)].detach()
        # row r receives: d_r^-1/2 on the receiver, d_c^-beta on the neighbour, self-loops included
        want = adjacency * degree[:, None] ** -0.5 * degree[None, :] ** -beta
        assert torch.allclose(got, want, atol=1e-6)
        assert got[0, 4] == 0 and got[2, 0] == pytest.approx(2**-0.5 * 3**-beta)
        assert torch.allclose(got, got.T) == (beta == 0.5)


def test_stages_add_granularities_in_order():
    model = identity_model()
    for stage in (1, 2, 3):
        model.stage = stage
        (layer_one,) = model.layer_outputs()
        assert layer_one.shape == (5, 5 * stage)
    single = identity_model(betas=(0.4,))
    single.stage = 1
    model.stage = 2
    assert torch.allclose(model.layer_outputs()[0][:, 5:], single.layer_outputs()[0])
    with pytest.raises(ValueError, match="stage must lie in"):
        single.stage = 2


def test_layers_three_and_four_equal_dense_powers_and_nothing_else(small):
    seed_everything(0)
    model = JMPGCF.from_data(small, dim=8)
    model.stage = 3
    ego = torch.cat([model.user, model.item]).detach()
    outputs = model.layer_outputs()
    for g, beta in enumerate(model.betas):
        dense = interaction_adjacency(small, left=0.5, right=beta, self_loop=1.0).to_dense()
        for layer, got in zip((3, 4), outputs):
            want = torch.linalg.matrix_power(dense, layer) @ ego
            assert torch.allclose(got[:, 8 * g : 8 * (g + 1)], want, atol=1e-5)
    users, items = torch.tensor([0, 3, 9]), torch.tensor([5, 0, 70])
    n = small.n_users
    want = sum((o[users] * o[n + items]).sum(-1) for o in outputs)
    assert torch.allclose(model.score(users, items), want, atol=1e-5)
    assert torch.allclose(model.full_scores(users)[torch.arange(3), items], want, atol=1e-5)


def test_one_shared_embedding_table_and_one_update_per_step(small):
    model = JMPGCF.from_data(small, dim=8, stage_epochs=(-1, -1))
    assert sum(p.numel() for p in model.parameters()) == (small.n_users + small.n_items) * 8
    users, pos, neg = small.train[:16, 0], small.train[:16, 1], torch.arange(16)
    model.stage = 3
    model.loss(users, pos, neg)["loss"].backward()
    joint = [p.grad.clone() for p in model.parameters()]
    summed = [torch.zeros_like(p) for p in model.parameters()]
    for beta in model.betas:  # the stage-3 gradient is the sum of the per-granularity gradients
        alone = JMPGCF.from_data(small, dim=8, betas=(beta,))
        alone.load_state_dict(model.state_dict() | {"_stage": torch.tensor(1)})
        alone.loss(users, pos, neg)["loss"].backward()
        summed = [s + p.grad for s, p in zip(summed, alone.parameters())]
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(joint, summed))
    optimizers = model.make_optimizers(0.1)
    before = [p.detach().clone() for p in model.parameters()]
    model.train_epoch(model, lambda: [(users, pos, neg)], optimizers, epoch=0)
    assert all(not torch.equal(b, p) for b, p in zip(before, model.parameters()))
    assert [len(o.state) for o in optimizers.values()] == [0, 0, 2]


def test_loss_by_direct_computation(small):
    seed_everything(1)
    model = JMPGCF.from_data(small, dim=8, decay=0.05)
    model.stage = 2
    users, pos, neg = torch.tensor([0, 1, 2]), torch.tensor([3, 4, 5]), torch.tensor([6, 7, 8])
    parts = model.loss(users, pos, neg)
    n, want = small.n_users, 0.0
    for g in range(2):
        for layer in model.layer_outputs():
            block = layer[:, 8 * g : 8 * (g + 1)]
            u, i, j = block[users], block[n + pos], block[n + neg]
            want = want - torch.log(torch.sigmoid((u * i).sum(-1) - (u * j).sum(-1))).mean()
    last = model.layer_outputs()[-1]
    reg = 0.05 * 0.5 * sum(last[rows].pow(2).sum() for rows in (users, n + pos, n + neg)) / 3
    assert parts["bpr"].item() == pytest.approx(want.item(), rel=1e-5)
    assert parts["reg"].item() == pytest.approx(reg.item(), rel=1e-5)
    assert parts["loss"].item() == pytest.approx((want + reg).item(), rel=1e-5)


def test_schedule_boundaries():
    model = JMPGCF(2, 3, adjacency_source=toy(), dim=4)
    assert [model.stage_for_epoch(e) for e in (0, 300, 301, 600, 601, 999)] == [1, 1, 2, 2, 3, 3]
    assert [model.may_stop_early(e) for e in (0, 600, 601)] == [False, False, True]
    late = JMPGCF(2, 3, adjacency_source=toy(), dim=4, **JMPGCF.paper_config("yelp2018"))
    assert max(late.stage_for_epoch(e) for e in range(1000)) == 2
    assert stage_epochs_from_fractions(150, (0.3, 0.6)) == (44, 89)
    two = JMPGCF(2, 3, adjacency_source=toy(), dim=4, betas=(0.3, 0.4))
    assert two.stage_for_epoch(10_000) == 2


def without_time(history):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in history]


def train(data, epochs, stage_epochs=(2, 5), seed=0, **trainer_kwargs):
    seed_everything(seed)
    model = JMPGCF.from_data(data, dim=16, stage_epochs=stage_epochs)
    trainer = Trainer(
        epochs=epochs, lr=5e-3, ks=(20,), metric="recall@20", protocol="paper", seed=seed, **trainer_kwargs
    )
    return model, trainer.fit(model, data, UserBatchSampler(data, 128, seed=seed))


def test_loss_decreases_within_each_stage_and_same_seed_same_history(small):
    model, history = train(small, 9, eval_every=3)
    records = [r for r in history if r["stage"] == "train"]
    stages = [r["jmp_stage"] for r in records]
    assert stages == [1, 1, 1, 2, 2, 2, 3, 3, 3]
    for stage in (1, 2, 3):
        losses = [r["loss"] for r in records if r["jmp_stage"] == stage]
        assert losses[-1] < losses[0]
    _, again = train(small, 9, eval_every=3)
    assert without_time(history) == without_time(again)


def test_resume_just_before_a_stage_switch_equals_uninterrupted(small, tmp_path):
    full, full_history = train(small, 5, stage_epochs=(1, 3), eval_every=2, checkpoint_dir=tmp_path / "full")
    train(small, 2, stage_epochs=(1, 3), eval_every=2, checkpoint_dir=tmp_path / "part")  # stops after epoch 1
    state = load_checkpoint(tmp_path / "part" / "last.pt")["state"]
    assert state["optimizers"]["stage1"]["state"] and not state["optimizers"]["stage2"]["state"]
    seed_everything(7)
    resumed = JMPGCF.from_data(small, dim=16, stage_epochs=(1, 3))
    trainer = Trainer(epochs=5, lr=5e-3, ks=(20,), metric="recall@20", protocol="paper", eval_every=2)
    history = trainer.fit(resumed, small, UserBatchSampler(small, 128, seed=0), resume=tmp_path / "part" / "last.pt")
    assert without_time(history) == without_time(full_history)
    assert all(torch.equal(a, b) for a, b in zip(full.state_dict().values(), resumed.state_dict().values()))


def test_fit_with_stage_fractions_reaches_every_stage(small):
    seed_everything(0)
    model = JMPGCF.from_data(small, dim=8)
    history = model.fit(small, epochs=10, stage_fractions=(0.3, 0.6), batch_size=256, eval_every=5)
    assert model.config["stage_epochs"] == (2, 5)
    assert [r["jmp_stage"] for r in history if r["stage"] == "train"] == [1, 1, 1, 2, 2, 2, 3, 3, 3, 3]
    assert history[-1]["stage"] == "best (test-selected)" and "test/recall@20" in history[-1]


def test_bench_rows_pair_each_method_with_an_equal_budget_lightgcn():
    from recsys_fair.benchmarks import baselines, jmpgcf, megcf

    cases = baselines.build_cases("quick") + megcf.build_cases("quick") + jmpgcf.build_cases("quick")
    by_row = {(c.method, c.dataset): c for c in cases}
    methods = [c for c in cases if c.method in ("MEGCF", "JMP-GCF")]
    assert {(c.method, c.dataset) for c in methods} == {
        ("MEGCF", "synthetic"),
        ("MEGCF", "megcf-beauty"),
        ("JMP-GCF", "synthetic"),
        ("JMP-GCF", "movielens-100k"),
        ("JMP-GCF", "megcf-beauty"),
    }
    for case in methods:
        baseline = by_row[(case.baseline, case.dataset)]
        assert baseline.method.startswith("LightGCN") and baseline.role == "baseline"
        assert (baseline.config["epochs"], baseline.config["lr"]) == (case.config["epochs"], case.config["lr"])


def test_early_stopping_waits_for_the_last_stage(small):
    """With no patience at all, the clean protocol still trains into stage 3 before it may stop."""
    seed_everything(0)
    model = JMPGCF.from_data(small, dim=8, stage_epochs=(1, 3))
    trainer = Trainer(epochs=12, lr=0.0, eval_every=1, ks=(20,), metric="recall@20", patience=1, seed=0)
    history = trainer.fit(model, small, UserBatchSampler(small, 128, seed=0))
    trained = [r["epoch"] for r in history if r["stage"] == "train"]
    assert trained[-1] == 4  # epochs 0-3 are stages 1-2; epoch 4 is the first of stage 3
