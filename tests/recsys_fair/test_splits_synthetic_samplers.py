import pytest
import torch

from recsys_fair import (
    InteractionData,
    PairwiseSampler,
    SyntheticConfig,
    UserBatchSampler,
    holdout_from_train,
    split_leave_one_out,
    split_random,
    synthetic_interactions,
)
from recsys_fair.data.dataset import pair_keys


def unsplit(n_users=4, per_user=(10, 5, 2, 3), n_items=20):
    users = torch.repeat_interleave(torch.arange(n_users), torch.tensor(per_user))
    items = torch.cat(
        [torch.randperm(n_items, generator=torch.Generator().manual_seed(u))[:c] for u, c in enumerate(per_user)]
    )
    stamps = torch.arange(len(users)) * 7 % 13  # distinct within each user
    return InteractionData(n_users, n_items, torch.stack([users, items], 1), timestamps={"train": stamps})


def test_split_random_per_user_counts_and_disjointness():
    data = split_random(unsplit(), ratios=(0.8, 0.1, 0.1), seed=1)
    per_split = {s: torch.bincount(getattr(data, s)[:, 0], minlength=4).tolist() for s in ("train", "valid", "test")}
    assert per_split == {"train": [8, 3, 2, 1], "valid": [1, 1, 0, 1], "test": [1, 1, 0, 1]}
    keys = [set(pair_keys(getattr(data, s), 20).tolist()) for s in ("train", "valid", "test")]
    assert not (keys[0] & keys[1] or keys[0] & keys[2] or keys[1] & keys[2])
    again = split_random(unsplit(), ratios=(0.8, 0.1, 0.1), seed=1)
    other = split_random(unsplit(), ratios=(0.8, 0.1, 0.1), seed=2)
    assert torch.equal(again.test, data.test) and not torch.equal(other.train, data.train)


def test_split_random_global_cuts_once():
    data = split_random(unsplit(), ratios=(0.9, 0.0, 0.1), by="global", seed=0)
    assert (len(data.train), len(data.valid), len(data.test)) == (18, 0, 2)


def test_leave_one_out_by_time_picks_the_latest_pair():
    raw = unsplit()
    data = split_leave_one_out(raw, order="time")
    stamps = raw.timestamps["train"]
    for user in (0, 1, 3):
        rows = raw.train[:, 0] == user
        order = stamps[rows].argsort()
        assert raw.train[rows][order[-1]].tolist() in data.test.tolist()
        assert raw.train[rows][order[-2]].tolist() in data.valid.tolist()
    assert len(data.test) == 3 and len(data.valid) == 3  # user 2 has only 2 pairs: all stay in train
    assert int((data.train[:, 0] == 2).sum()) == 2


def test_holdout_from_train_carves_validation():
    data = holdout_from_train(unsplit(), ratio=0.2, seed=0)
    assert torch.bincount(data.valid[:, 0], minlength=4).tolist() == [2, 1, 0, 1]
    assert len(data.train) + len(data.valid) == 20


def test_synthetic_generator_properties():
    first, again, other = (synthetic_interactions(seed=s) for s in (0, 0, 1))
    assert torch.equal(first.train, again.train) and torch.equal(first.item_reviews, again.item_reviews)
    assert not torch.equal(first.train[:100], other.train[:100])
    groups = first.groups()
    assert abs(float(groups.float().mean()) - 0.3) <= 0.01
    pairs = torch.cat([first.train, first.valid, first.test])
    counts = torch.bincount(pairs[:, 1], minlength=first.n_items).sort(descending=True).values
    assert counts[: first.n_items // 10].sum() / counts.sum() >= 0.35
    per_capita = [
        torch.bincount(pairs[groups[pairs[:, 0]] == g, 1], minlength=first.n_items) / (groups == g).sum()
        for g in (0, 1)
    ]
    top = [set(torch.topk(c, 50).indices.tolist()) for c in per_capita]
    assert len(top[0] & top[1]) / len(top[0] | top[1]) < 0.6
    latent = first.meta["latent"]
    v = torch.nn.functional.normalize(latent["v"], dim=1)
    links = first.item_entity_pairs()
    by_entity = torch.zeros(first.n_items, first.n_entities)
    by_entity[links[:, 0], links[:, 1]] = 1
    shares = (by_entity @ by_entity.T) > 0
    shares.fill_diagonal_(False)
    cosine = v @ v.T
    assert cosine[shares].mean() > cosine[~shares].mean() + 0.3
    fraction = first.item_reviews[:, 0] / first.item_reviews[:, 1]
    assert torch.corrcoef(torch.stack([fraction.float(), latent["q"]]))[0, 1] > 0.5


def test_synthetic_generates_10k_by_5k():
    data = synthetic_interactions(SyntheticConfig(n_users=10_000, n_items=5_000, entities=False, reviews=False))
    assert data.n_users == 10_000 and len(data.train) > 150_000


def test_samplers_exclude_training_items_and_are_reproducible(synthetic):
    keys = set(synthetic.train_keys.tolist())
    pairwise = PairwiseSampler(synthetic, n_negatives=3, batch_size=1000, seed=5)
    per_user = UserBatchSampler(synthetic, batch_size=256, seed=5)
    for epoch in range(3):
        users, positives, negatives = pairwise.epoch(epoch)
        assert len(users) == 3 * len(synthetic.train)
        assert not keys & set((users * synthetic.n_items + negatives).tolist())
        assert keys >= set((users * synthetic.n_items + positives).tolist())
        batches = list(per_user.batches(epoch))
        assert len(batches) == len(synthetic.train) // 256 + 1
        for u, p, n in batches:
            assert len(torch.unique(u)) == 256
            assert not keys & set((u * synthetic.n_items + n).tolist())
            assert keys >= set((u * synthetic.n_items + p).tolist())
    sizes = [len(b[0]) for b in pairwise.batches(0)]
    assert len(sizes) == len(pairwise) and sizes[-1] == (3 * len(synthetic.train) - 1) % 1000 + 1
    assert torch.equal(pairwise.epoch(1)[2], PairwiseSampler(synthetic, 3, 1000, seed=5).epoch(1)[2])
    assert not torch.equal(pairwise.epoch(0)[2], pairwise.epoch(1)[2])
    assert torch.equal(per_user.epoch(2)[0], UserBatchSampler(synthetic, 256, seed=5).epoch(2)[0])


def test_sampler_refuses_a_user_with_every_item():
    data = InteractionData(2, 2, torch.tensor([[0, 0], [0, 1], [1, 0]]))
    with pytest.raises(ValueError, match="user 0 has interacted with every item"):
        UserBatchSampler(data)


def test_each_rank_draws_its_own_shard_of_every_batch(synthetic, monkeypatch):
    from recsys_fair.data import samplers

    full = list(PairwiseSampler(synthetic, 1, 1000, seed=0).batches(0))
    monkeypatch.setattr(samplers, "get_world_size", lambda: 2)
    shards = []
    for rank in (0, 1):
        monkeypatch.setattr(samplers, "get_rank", lambda r=rank: r)
        shards.append(list(PairwiseSampler(synthetic, 1, 1000, seed=0).batches(0)))
    assert len(shards[0]) == len(shards[1]) == len(full)
    for whole, first, second in zip(full, *shards):
        assert torch.equal(torch.sort(torch.cat([first[0], second[0]])).values, torch.sort(whole[0]).values)
        assert abs(len(first[0]) - len(second[0])) <= 1


def test_k_core_filter_is_iterative():
    import numpy as np

    from recsys_fair.data import k_core

    # user 2 has one pair; dropping it leaves item 2 with one user, which then drops too
    users = np.array([0, 0, 0, 1, 1, 1, 2, 3, 3])
    items = np.array([0, 1, 2, 0, 1, 3, 3, 0, 1])
    keep = k_core(users, items, min_user=2, min_item=2)
    assert keep.tolist() == [True, True, False, True, True, False, False, True, True]
