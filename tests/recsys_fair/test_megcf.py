"""MEGCF (megcf.md, acceptance checklist of section 6): fast tests."""

import pytest
import torch

from lab_common import load_checkpoint, seed_everything
from recsys_fair import InteractionData, SyntheticConfig, Trainer, UserBatchSampler, synthetic_interactions
from recsys_fair.data.dataset import csr_from_pairs
from recsys_fair.data.megcf import load_megcf
from recsys_fair.evaluation import evaluate_sampled, sampled_candidates
from recsys_fair.models.graph import propagate
from recsys_fair.models.losses import bpr_loss
from recsys_fair.models.megcf import (
    MEGCF,
    entity_links,
    item_weights,
    megcf_adjacency,
    popularity_weights,
    sentiment_weights,
)


@pytest.fixture(scope="module")
def small():
    return synthetic_interactions(SyntheticConfig(n_users=120, n_items=160, mean_activity=10), seed=0)


def one_of_each(reviews=((1, 2),)):
    """1 user, 1 item, 1 entity: edges u-i and i-e; nodes u = 0, i = 1, e = 2."""
    return InteractionData(
        1,
        1,
        torch.tensor([[0, 0]]),
        item_entities={"title": csr_from_pairs(torch.tensor([0]), torch.tensor([0]), (1, 1))},
        n_entities=1,
        item_reviews=torch.tensor(reviews),
    )


def test_uie_normalisation_on_a_hand_computed_3x3_case():
    # degrees of A + I: user 1 + 1 = 2, item 2 + 1 = 3, entity 1 + 1 = 2; beta = 0.4, s_item = 0.5
    data = one_of_each()
    adjacency = megcf_adjacency(data, torch.tensor([0.5]), beta=0.4, links=torch.tensor([[0, 0]])).to_dense()
    a, b = 2**-0.5 * 3**-0.4 * 0.5, 3**-0.5 * 2**-0.4 * 0.5  # receiver degree^-1/2, neighbour degree^-0.4
    want = torch.tensor(
        [
            [2 * 2**-0.9, a, 0.0],
            [b, 2 * 3**-0.9, b],
            [0.0, a, 2 * 2**-0.9],
        ]
    )
    assert adjacency.shape == (3, 3)
    assert torch.allclose(adjacency, want, atol=1e-6)
    assert not torch.allclose(adjacency, adjacency.T)  # beta != 1/2: receiver and neighbour differ


def test_ui_graph_isolates_entities_and_sizes():
    data = one_of_each()
    ui = megcf_adjacency(data, torch.tensor([1.0]), beta=0.4, self_loop_scale=1.0).to_dense()
    # user and item degree 2 each; the entity keeps only its self-loop, with degree 0 + 1
    want = torch.tensor([[2**-0.9, 2**-0.9, 0.0], [2**-0.9, 2**-0.9, 0.0], [0.0, 0.0, 1.0]])
    assert torch.allclose(ui, want, atol=1e-6)
    assert megcf_adjacency(data, torch.ones(1), entity_nodes=False).shape == (2, 2)


def test_sentiment_weights_share_of_positive_reviews_rescaled_to_mean_one():
    reviews = torch.tensor([[3, 4], [0, 2], [1, 1], [0, 0]])  # f = 0.75, 0, 1, no reviews
    raw = [0.75**0.1, 0.0, 1.0]
    want = [r * 3 / sum(raw) for r in raw] + [1.0]
    got = sentiment_weights(reviews)
    assert got.tolist() == pytest.approx(want, rel=1e-6)
    assert got[:3].mean().item() == pytest.approx(1.0) and got[1] == 0


def test_popularity_fallback_with_and_without_megcf_compat():
    train = torch.tensor([[0, 0], [1, 0], [2, 0], [0, 1], [0, 3], [1, 3]])  # item counts 3, 1, 0, 2
    plain = [1.0, (1 / 3) ** 0.01, 1.0, (2 / 3) ** 0.01]
    compat = [1.0, 1.0, 1.0, (1 / 2) ** 0.01]  # counts one short: 2, 0, 0, 1
    for megcf_compat, raw in ((False, plain), (True, compat)):
        got = popularity_weights(train, 4, megcf_compat)
        assert got.tolist() == pytest.approx([r * 4 / sum(raw) for r in raw], rel=1e-6)
    no_reviews = InteractionData(3, 4, train)
    assert torch.equal(item_weights(no_reviews), popularity_weights(train, 4))
    assert torch.equal(item_weights(no_reviews, use_sentiment=False), torch.ones(4))


def write_fixture(folder):
    """3 users, 4 items, 5 entities: item 2 has no entity, item 3's title list holds one entity."""
    folder.mkdir()
    (folder / "train.txt").write_text("0 0 1 1\n1 1 2\n2 3 0\n")
    (folder / "validation.txt").write_text("0 1\n1 2\n2 0\n")
    (folder / "test.txt").write_text("0 2\n1 3\n2 1\n")
    (folder / "i2e_all.txt").write_text("0 0 1 4\n1 2 3\n2\n3 4\n")
    (folder / "i2e_title.txt").write_text("0 0 1\n1 2\n2\n3 4\n")
    (folder / "i2e_visual.txt").write_text("0 4\n1 3 2\n2\n3\n")


def test_entity_links_drop_single_entity_modality_lists(tmp_path):
    write_fixture(tmp_path / "set")
    data = load_megcf(tmp_path / "set", keep_duplicates=True)
    assert data.n_entities == 5 and data.item_reviews is None and len(data.train) == 7
    official = {tuple(p) for p in entity_links(data, 2).tolist()}
    clean = {tuple(p) for p in entity_links(data, 1).tolist()}
    assert official == {(0, 0), (0, 1), (1, 2), (1, 3)}
    assert clean == official | {(0, 4), (1, 2), (3, 4)}
    model = MEGCF(data, dim=4)  # duplicates count in the sampler, not in the graph; no reviews: popularity
    assert model.adjacency._nnz() == 2 * 6 + 7 and model.entity_adjacency.shape == (12, 12)
    holdout = load_megcf(tmp_path / "set", validation="holdout")
    assert "validation items are also in the user's training list" in " ".join(data.meta["warnings"])
    assert len(holdout.train) == 3  # every validation item removed from train


def dense_power(adjacency, layers, x):
    dense = adjacency.to_dense()
    for _ in range(layers):
        x = dense @ x
    return x


def test_final_layer_only_propagation_and_ui_branch_optimisation(small):
    seed_everything(0)
    model = MEGCF(small, n_layers=3, dim=8)
    (ui_u, ui_i), (uie_u, uie_i) = model.branches()
    n, m = small.n_users, small.n_users + small.n_items
    ego = torch.cat([model.user, model.item, model.entity]).detach()
    uie = dense_power(model.entity_adjacency, 3, ego)
    assert torch.allclose(torch.cat([uie_u, uie_i]), uie[:m], atol=1e-5)
    full_ui_graph = megcf_adjacency(small, item_weights(small), 0.4)  # entity nodes kept, isolated
    full_ui = propagate(full_ui_graph, ego, 3)[-1]
    assert full_ui_graph.shape == (m + small.n_entities,) * 2
    assert torch.allclose(torch.cat([ui_u, ui_i]), full_ui[:m], atol=1e-6)
    assert torch.allclose(full_ui[:m], dense_power(model.adjacency, 3, ego[:m]), atol=1e-5)
    assert not torch.allclose(torch.cat([ui_u, ui_i]), dense_power(model.adjacency, 2, ego[:m]), atol=1e-3)
    assert ui_u.shape == (n, 8)


def test_score_is_the_sum_of_two_graph_dot_products(small):
    seed_everything(0)
    model = MEGCF(small, dim=8)
    (ui_u, ui_i), (uie_u, uie_i) = model.branches()
    users, items = torch.tensor([0, 5, 7]), torch.tensor([3, 1, 60])
    want = (ui_u[users] * ui_i[items]).sum(-1) + (uie_u[users] * uie_i[items]).sum(-1)
    assert torch.allclose(model.score(users, items), want, atol=1e-6)
    assert torch.allclose(model.full_scores(users)[torch.arange(3), items], want, atol=1e-6)


def test_loss_by_hand_with_lambda_1_on_ui_and_lambda_2_on_uie(small):
    seed_everything(0)
    model = MEGCF(small, dim=8, lambda_ui=0.3, lambda_uie=0.02)
    users, pos, neg = torch.tensor([0, 1]), torch.tensor([2, 3]), torch.tensor([4, 5])
    parts = model.loss(users, pos, neg)
    want = 0.0
    for (u_repr, i_repr), lam in zip(model.branches(), (0.3, 0.02)):
        u, i, j = u_repr[users], i_repr[pos], i_repr[neg]
        want = want + torch.log1p(torch.exp(-((u * i).sum(-1) - (u * j).sum(-1)))).mean()
        want = want + lam * 0.5 * (u.pow(2).sum() + i.pow(2).sum() + j.pow(2).sum()) / 2
    assert parts["loss"].item() == pytest.approx(want.item(), rel=1e-5)
    assert parts["reg_ui"].item() / parts["reg_uie"].item() != pytest.approx(1.0)
    assert set(parts) == {"loss", "bpr_ui", "bpr_uie", "reg_ui", "reg_uie"}
    assert parts["bpr_ui"].item() == pytest.approx(bpr_loss(*_dots(model.branches()[0], users, pos, neg)).item())


def _dots(branch, users, pos, neg):
    u_repr, i_repr = branch
    u = u_repr[users]
    return (u * i_repr[pos]).sum(-1), (u * i_repr[neg]).sum(-1)


def test_ablation_switches(small):
    plain = MEGCF(small, dim=8, use_entities=False, use_sentiment=False)
    assert plain.entity_adjacency is plain.adjacency and plain.entity.shape == (0, 8)
    values = plain.adjacency.to_dense()
    unweighted = megcf_adjacency(small, torch.ones(small.n_items), 0.4, entity_nodes=False).to_dense()
    assert torch.equal(values, unweighted)
    assert MEGCF.paper_config("megcf-beauty") == {"n_layers": 3, "alpha": 0.1, "lambda_ui": 1e-2, "lambda_uie": 1e-3}
    assert MEGCF.paper_config("taobao")["alpha"] == 0.2
    with pytest.raises(KeyError, match="no MEGCF defaults"):
        MEGCF.paper_config("gowalla")


def test_sampled_evaluation_negatives_avoid_train_and_test_items(small):
    negatives = sampled_candidates(small, "test", 50, seed=3)
    known = small.split_csr("train", "valid", "test").to_dense().bool()
    users = small.test[:, 0]
    assert negatives.shape == (len(small.test), 50)
    assert not known[users[:, None], negatives].any()
    assert all(len(set(row.tolist())) == 50 for row in negatives)
    assert torch.equal(sampled_candidates(small, "test", 50, seed=3), negatives)
    assert not torch.equal(sampled_candidates(small, "test", 50, seed=3, call=0), negatives)


def train(data, epochs, seed=0, **trainer_kwargs):
    seed_everything(seed)
    model = MEGCF(data, dim=16)
    trainer = Trainer(
        epochs=epochs,
        lr=5e-3,
        protocol="paper",
        evaluator="sampled",
        metric="hr@10",
        ks=(10,),
        seed=seed,
        **trainer_kwargs,
    )
    return model, trainer.fit(model, data, UserBatchSampler(data, 256, seed=seed))


def without_time(history):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in history]


def test_loss_decreases_and_same_seed_same_history(small):
    model, history = train(small, 10, eval_every=5)
    losses = history.column("loss")
    assert losses[-1] < 0.9 * losses[0]
    again, history_again = train(small, 10, eval_every=5)
    assert without_time(history) == without_time(history_again)
    assert history[-1]["stage"] == "best (test-selected)" and "test/hr@10" in history[-1]
    assert evaluate_sampled(model, small, ks=(10,)).metrics["hr@10"] > 0.2


def test_checkpoint_restores_tables_and_adam_state(small, tmp_path):
    full, full_history = train(small, 4, eval_every=2, checkpoint_dir=tmp_path / "full")
    train(small, 2, eval_every=2, checkpoint_dir=tmp_path / "part")
    state = load_checkpoint(tmp_path / "part" / "last.pt")["state"]
    assert {"user", "item", "entity"} <= set(state["model"]) and state["optimizers"]["model"]["state"]
    seed_everything(99)
    resumed = MEGCF(small, dim=16)
    trainer = Trainer(epochs=4, lr=5e-3, protocol="paper", evaluator="sampled", metric="hr@10", ks=(10,))
    history = trainer.fit(resumed, small, UserBatchSampler(small, 256, seed=0), resume=tmp_path / "part" / "last.pt")
    assert without_time(history) == without_time(full_history)
    for name in ("user", "item", "entity"):
        assert torch.equal(getattr(full, name), getattr(resumed, name))
