import copy
import math

import pytest
import torch

from lab_common import DataFormatError, load_checkpoint, seed_everything
from recsys_fair import InteractionData
from recsys_fair.benchmarks import baselines
from recsys_fair.benchmarks import fda as fda_rows
from recsys_fair.models import fda as fda_module
from recsys_fair.models.base import run_pass
from recsys_fair.models.fda import FDA, FDAModel, cross_group_pairs, mix_fake
from recsys_fair.models.gccf import GCCF
from recsys_fair.models.losses import bpr_loss
from recsys_fair.models.mf import MF
from recsys_fair.training import Trainer, build_model, make_sampler


def without_time(history):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in history]


def fit(data, name, epochs, seed=0, dim=16, eval_every=2, checkpoint_dir=None, resume=None, model=None, **config):
    seed_everything(seed)
    model = model or build_model(name, data, dim=dim, **config)
    trainer = Trainer(epochs=epochs, lr=5e-3, ks=(20,), eval_every=eval_every, seed=seed, checkpoint_dir=checkpoint_dir)
    return model, trainer.fit(model, data, make_sampler("pairwise", data, "auto", seed=seed), resume=resume)


def test_cross_group_pairing_on_a_hand_made_batch():
    groups = torch.tensor([1, 0, 1, 1, 0, 0, 1])
    positives = torch.tensor([10, 11, 12, 13, 14, 15, 16])
    idx_1, src_1, idx_0, src_0 = cross_group_pairs(groups)
    assert idx_1.tolist() == [0, 2, 3, 6] and idx_0.tolist() == [1, 4, 5]
    # group-1 users get group 0's positives with the last (15) dropped, tiled: 11, 14, 11, 14
    assert positives[src_1].tolist() == [11, 14, 11, 14]
    # group-0 users get group 1's positives with the last (16) dropped: 10, 12, 13
    assert positives[src_0].tolist() == [10, 12, 13]
    assert cross_group_pairs(torch.tensor([1, 1, 0, 1])) is None


def test_mixing_replaces_the_last_rho_fraction_and_matches_a_direct_loss(synthetic):
    torch.manual_seed(0)
    model = build_model("FDA-MF", synthetic, dim=8, rho=0.4)
    with torch.no_grad():
        model.backbone.item.mul_(200.0)  # some entries beyond [-1, 1], so the clamp matters
    users, positives, negatives = torch.arange(10), torch.arange(10, 20), torch.arange(30, 40)
    real, fake = torch.randn(40, 3), torch.randn(40, 3) + 100
    p_rows, n_rows = mix_fake(real[positives], real[negatives], fake, positives, negatives, 0.4)
    assert torch.equal(p_rows[:6], real[10:16]) and torch.equal(p_rows[6:], fake[16:20])
    assert torch.equal(n_rows[:4], fake[36:40]) and torch.equal(n_rows[4:], real[30:36])

    e_u, e_i, delta = model.backbone.user, model.backbone.item, model.delta
    f = e_i.clamp(-1, 1) + delta
    u = e_u[users]
    p = torch.cat([e_i[positives[:6]], f[positives[6:]]])
    n = torch.cat([f[negatives[6:]], e_i[negatives[:6]]])
    reg = 0.01 * (u.pow(2).sum(-1) + p.pow(2).sum(-1) + e_i[negatives].pow(2).sum(-1)).mean()
    expected = -torch.log(torch.sigmoid((u * p).sum(-1) - (u * n).sum(-1))).mean() + reg
    parts = model.loss(users, positives, negatives)
    assert torch.allclose(parts["loss"], expected, rtol=1e-5) and torch.allclose(parts["reg"], reg)


def test_rho_zero_mixes_nothing():
    p, n = torch.randn(5, 2), torch.randn(5, 2)
    assert mix_fake(p, n, None, torch.arange(5), torch.arange(5), 0.1) == (p, n)  # floor(0.5) = 0


def test_fake_tables_mf_clamps_and_gccf_reruns_the_propagation(synthetic):
    torch.manual_seed(0)
    mf = build_model("FDA-MF", synthetic, dim=4)
    with torch.no_grad():
        mf.backbone.item.mul_(300.0)
    e_i = mf.backbone.item
    assert (e_i.abs() > 1).any()
    fake = mf.fake_items(mf.backbone.user, e_i, mf.delta)
    assert torch.equal(fake, e_i.clamp(-1, 1) + mf.delta)

    gccf = build_model("FDA-GCCF", synthetic, dim=4)
    shifted = GCCF.from_data(synthetic, dim=4)
    shifted.load_state_dict({"user": gccf.backbone.user, "item": gccf.backbone.item + gccf.delta})
    fake = gccf.fake_items(gccf.backbone.user, gccf.backbone.item, gccf.delta)
    assert fake.shape == (synthetic.n_items, 12)
    assert torch.allclose(fake, shifted.embeddings()[1])


@pytest.mark.parametrize("name", ["FDA-GCCF", "FDA-LightGCN"])
def test_shared_propagation_equals_the_direct_fake_table_and_training(synthetic, monkeypatch, name):
    """The linear-backbone shortcut (real representations + propagated delta) is float noise away from
    propagating ``E_I + delta``, in the fake table, its gradients and a short training run."""
    torch.manual_seed(0)
    model = build_model(name, synthetic, dim=8)
    assert model.shares_propagation
    with torch.no_grad():
        model.delta.normal_(0.0, 0.5)  # a perturbation of the tables' size
    user, item, delta = model.backbone.user, model.backbone.item, model.delta
    direct = model.fake_items(user, item, delta)
    shared = model.fake_items(user, item, delta, model.embeddings()[1])
    assert torch.allclose(shared, direct, rtol=1e-5, atol=1e-6)
    weights = torch.randn_like(direct)
    grads = [torch.autograd.grad((f * weights).sum(), (user, item, delta)) for f in (direct, shared)]
    assert all(torch.allclose(a, b, rtol=1e-4, atol=1e-6) for a, b in zip(*grads))

    model, history = fit(synthetic, name, 3, eval_every=3)
    monkeypatch.setattr(fda_module, "LINEAR_BACKBONES", ())  # the direct computation
    plain, plain_history = fit(synthetic, name, 3, eval_every=3)
    assert not plain.shares_propagation
    assert torch.allclose(model.backbone.item, plain.backbone.item, rtol=1e-3, atol=1e-5)
    assert torch.allclose(model.delta, plain.delta, rtol=1e-3, atol=1e-5)
    for key in ("loss", "aug_loss", "test/ndcg@20", "test/dp@20"):
        assert history[-1].get(key, history[-2].get(key)) == pytest.approx(
            plain_history[-1].get(key, plain_history[-2].get(key)), rel=1e-4
        )


def test_augmentation_loss_pairs_each_group_with_the_other_groups_fake_positives(synthetic):
    torch.manual_seed(0)
    model = build_model("FDA-MF", synthetic, dim=8)
    groups = synthetic.groups()
    users = torch.cat([(groups == 1).nonzero()[:3, 0], (groups == 0).nonzero()[:4, 0]])
    positives, negatives = torch.arange(7), torch.arange(100, 107)
    fake = model.backbone.item.clamp(-1, 1) + model.delta
    u, n = model.backbone.user[users], model.backbone.item[negatives]
    like_1 = fake[torch.tensor([3, 4, 5])]  # group-0 rows 3..6 with the last dropped
    like_0 = fake[torch.tensor([0, 1, 0, 1])]  # group-1 rows 0..2 with the last dropped, tiled
    expected = (
        bpr_loss((u[:3] * like_1).sum(-1), (u[:3] * n[:3]).sum(-1))
        + bpr_loss((u[3:] * like_0).sum(-1), (u[3:] * n[3:]).sum(-1))
        + 0.01 * like_1.pow(2).sum(-1).mean()
        + 0.01 * like_0.pow(2).sum(-1).mean()
    )
    assert torch.allclose(model.augmentation_loss(users, positives, negatives)["loss"], expected)


@pytest.mark.parametrize("name", ["FDA-MF", "FDA-GCCF", "FDA-LightGCN"])
def test_task_step_moves_only_the_tables_and_augmentation_step_only_delta(synthetic, name):
    torch.manual_seed(0)
    model = build_model(name, synthetic, dim=8)
    optimizers = model.make_optimizers(1e-2)
    batch = next(make_sampler("pairwise", synthetic, 512, seed=0).batches(0))
    before = copy.deepcopy(model.state_dict())
    run_pass(model, [batch], optimizers["task"], "task")
    after_task = copy.deepcopy(model.state_dict())
    assert torch.equal(after_task["delta"], before["delta"])
    assert not torch.equal(after_task["backbone.user"], before["backbone.user"])
    assert not torch.equal(after_task["backbone.item"], before["backbone.item"])
    model.backbone.zero_grad(set_to_none=True)
    run_pass(model, [batch], optimizers["augment"], "augment", loss_fn=model.augmentation_loss)
    after_aug = model.state_dict()
    assert model.backbone.user.grad is None and model.backbone.item.grad is None  # detached (section 3.2)
    assert torch.equal(after_aug["backbone.user"], after_task["backbone.user"])
    assert torch.equal(after_aug["backbone.item"], after_task["backbone.item"])
    assert not torch.equal(after_aug["delta"], after_task["delta"])
    assert set(optimizers["task"].state) == set(model.backbone.parameters())
    assert set(optimizers["augment"].state) == {model.delta}


@pytest.mark.parametrize(("backbone", "name"), [("MF", "FDA-MF"), ("GCCF", "FDA-GCCF")])
def test_rho_zero_without_augmentation_is_bitwise_the_backbone(synthetic, backbone, name):
    plain, plain_history = fit(synthetic, backbone, 3)
    fda, fda_history = fit(synthetic, name, 3, rho=0.0, augment=False)
    assert without_time(fda_history) == without_time(plain_history)
    assert torch.equal(fda.backbone.user, plain.user) and torch.equal(fda.backbone.item, plain.item)


def test_task_and_augmentation_losses_fall_from_epoch_1_to_10(synthetic):
    _, history = fit(synthetic, "FDA-MF", 10, eval_every=10)
    train = [r for r in history if r["stage"] == "train"]
    assert train[9]["loss"] < train[0]["loss"] and train[9]["aug_loss"] < train[0]["aug_loss"]
    assert all(r["aug_skipped"] == 0 for r in train)


def test_a_batch_with_one_user_of_a_group_skips_the_augmentation_step_and_counts_it(synthetic):
    torch.manual_seed(0)
    model = build_model("FDA-MF", synthetic, dim=8)
    groups = synthetic.groups()
    lonely = torch.cat([(groups == 1).nonzero()[:5, 0], (groups == 0).nonzero()[:1, 0]])
    fine = torch.cat([(groups == 1).nonzero()[:3, 0], (groups == 0).nonzero()[:3, 0]])
    batches = [(lonely, torch.arange(6), torch.arange(6, 12))]
    delta = model.delta.detach().clone()
    parts = model.train_epoch(model, lambda: iter(batches), model.make_optimizers(1e-2), 0)
    assert parts["aug_skipped"] == 1 and "aug_loss" not in parts and math.isfinite(parts["loss"])
    assert torch.equal(model.delta, delta)
    batches.append((fine, torch.arange(6), torch.arange(6, 12)))
    parts = model.train_epoch(model, lambda: iter(batches), model.make_optimizers(1e-2), 1)
    assert parts["aug_skipped"] == 1 and math.isfinite(parts["aug_loss"])
    assert not torch.equal(model.delta, delta)


def test_checkpoint_restores_delta_and_both_optimizers_and_resume_is_exact(synthetic, tmp_path):
    full, full_history = fit(synthetic, "FDA-MF", 3, checkpoint_dir=tmp_path / "full")
    fit(synthetic, "FDA-MF", 2, checkpoint_dir=tmp_path / "part")
    state = load_checkpoint(tmp_path / "part" / "last.pt")["state"]
    assert "delta" in state["model"] and set(state["optimizers"]) == {"task", "augment"}
    assert len(state["optimizers"]["augment"]["state"]) == 1 and len(state["optimizers"]["task"]["state"]) == 2
    seed_everything(123)  # another process: other weights and RNG state until resume
    resumed = build_model("FDA-MF", synthetic, dim=16)
    _, history = fit(
        synthetic,
        "FDA-MF",
        3,
        seed=0,
        checkpoint_dir=tmp_path / "part",
        resume=tmp_path / "part" / "last.pt",
        model=resumed,
    )
    assert without_time(history) == without_time(full_history)  # and so the same seed gives the same numbers
    assert all(torch.equal(a, b) for a, b in zip(full.state_dict().values(), resumed.state_dict().values()))


def test_a_dataset_without_a_binary_sensitive_attribute_is_refused_before_training(toy):
    plain = InteractionData(n_users=2, n_items=3, train=toy.train, test=toy.test)
    with pytest.raises(ValueError, match="sensitive"):
        build_model("FDA-MF", plain)
    with pytest.raises(DataFormatError):
        InteractionData(
            n_users=3, n_items=3, train=toy.train, user_features={"g": torch.tensor([0, 1, 2])}, sensitive="g"
        )


def test_fda_procedure_trains_and_exposes_the_plain_backbone(synthetic):
    seed_everything(0)
    fda = FDA(backbone="mf", epochs=2, eval_every=2, lr=5e-3, dim=8)
    history = fda.fit(synthetic)
    assert type(fda.model) is MF and history[-1]["stage"] == "test" and "test/ndcg@50" in history[-1]
    assert isinstance(fda.wrapper, FDAModel) and fda.wrapper.rho == 0.4
    with pytest.raises(ValueError, match="backbone"):
        FDA(backbone="ngcf")


@pytest.mark.parametrize("suite", ["quick", "paper"])
def test_bench_rows_pair_each_fda_model_with_its_backbone_on_the_same_budget(suite):
    mf = {c.dataset: c.config for c in baselines.build_cases(suite) if c.method == "MF"}
    rows = {(c.method, c.dataset): c for c in fda_rows.build_cases(suite)}
    pairs = {("FDA-MF", "MF"), ("FDA-GCCF", "GCCF"), ("FDA-LightGCN", "LightGCN-rho0")}
    assert {(c.method, c.baseline) for c in rows.values() if c.role == "method"} == pairs
    assert {d for _, d in rows} == {"synthetic", "movielens-100k"}
    budget = ("epochs", "eval_every", "lr", "protocol")
    for (method, dataset), case in rows.items():
        if method == "FDA-MF":
            assert mf[dataset].items() <= case.config.items()  # MF's own row is the baseline
            assert fda_rows.row_budgets(suite)[(method, dataset)] == baselines.budgets_of(suite)[("MF", dataset)]
        elif case.role == "method":
            backbone = rows[(case.baseline, dataset)].config
            assert all(case.config[k] == backbone[k] for k in budget)
    assert rows[("LightGCN-rho0", "synthetic")].config["rho"] == 0.0
    built = {name: model for name, _, _, model, _ in fda_rows.ROWS}
    assert built.pop("LightGCN-rho0") == "FDA-LightGCN" and all(name == model for name, model in built.items())
    if suite == "quick":
        assert rows[("GCCF", "synthetic")].config["epochs"] < mf["synthetic"]["epochs"]


def test_paper_settings_give_the_official_schedule():
    fda = FDA.paper("gccf", "ml-1m")
    assert (fda.fda_config["rho"], fda.lr, fda.epochs, fda.seed, fda.eval_every) == (0.5, 2e-3, 86, 2022, 86)
    with pytest.raises(KeyError, match="ml-100k"):
        FDA.paper("mf", "ml-100k")
