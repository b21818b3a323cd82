import math

import pytest
import torch

from recsys_fair import InteractionData, MostPopular, evaluate_full_sort, evaluate_sampled
from recsys_fair.metrics import exposure_fairness, ranking_metrics, sampled_metrics
from recsys_fair.models.base import Recommender

LOG3 = math.log2(3)


class FixedScores(Recommender):
    """Scores given as a matrix: user one-hot times the transposed score table."""

    def __init__(self, scores: torch.Tensor):
        super().__init__()
        self.config = {}
        self.register_buffer("scores", scores.float())

    def embeddings(self):
        return torch.eye(self.scores.shape[0]), self.scores.T

    def loss(self, users, positives, negatives):
        raise AssertionError("an evaluation-only model is never trained")


def test_ranking_metrics_by_hand():
    hits = torch.tensor([[1, 0, 1, 0], [0, 0, 0, 0], [0, 1, 0, 0]], dtype=torch.bool)
    n_relevant = torch.tensor([5, 1, 1])
    out = ranking_metrics(hits, n_relevant, ks=(2, 4))
    # user 0 has |T| = 5 > K = 2: Recall and CappedRecall differ
    assert out["recall@2"][0] == pytest.approx(0.2) and out["capped_recall@2"][0] == pytest.approx(0.5)
    assert out["ndcg@2"][0] == pytest.approx(1 / (1 + 1 / LOG3))
    assert out["ndcg@4"][0] == pytest.approx((1 + 0.5) / (1 + 1 / LOG3 + 0.5 + 1 / math.log2(5)))
    assert out["precision@4"][0] == pytest.approx(0.5) and out["mrr@2"][0] == 1
    # a user with no hit: NDCG 0, MRR 0, Hit 0
    assert out["ndcg@4"][1] == 0 and out["mrr@4"][1] == 0 and out["hit@4"][1] == 0
    # |T| = 1 < K: the ideal DCG runs over one position
    assert out["ndcg@4"][2] == pytest.approx(1 / LOG3) and out["mrr@4"][2] == pytest.approx(0.5)
    assert out["recall@2"][2] == 1 and out["hit@2"][2] == 1 and out["precision@2"][2] == pytest.approx(0.5)


def test_sampled_rank_metrics_and_ties():
    out = sampled_metrics(torch.tensor([0, 3, 10]), ks=(5, 10))
    assert out["hr@5"].tolist() == [1, 1, 0] and out["hr@10"].tolist() == [1, 1, 0]
    assert out["ndcg@5"][1] == pytest.approx(1 / math.log2(5)) and out["mrr@10"][1] == pytest.approx(0.25)
    data = InteractionData(2, 120, torch.tensor([[0, 0], [1, 1]]), test=torch.tensor([[0, 5], [1, 6]]))
    tied = FixedScores(torch.zeros(2, 120))  # all scores equal: ties go against the held-out item
    result = evaluate_sampled(tied, data, ks=(10,))
    assert result.metrics["hr@10"] == 0 and result.metrics["ndcg@10"] == 0


def test_sampled_candidates_avoid_known_items_and_are_reused():
    from recsys_fair.evaluation import sampled_candidates

    data = InteractionData(
        1, 104, torch.tensor([[0, 0], [0, 1]]), valid=torch.tensor([[0, 2]]), test=torch.tensor([[0, 3]])
    )
    first = sampled_candidates(data, "test", 99, seed=0)
    assert len(set(first[0].tolist())) == 99 and not {0, 1, 2, 3} & set(first[0].tolist())
    assert sampled_candidates(data, "test", 99, seed=0) is first
    assert not torch.equal(sampled_candidates(data, "test", 99, seed=0, call=1), first)
    with pytest.raises(ValueError, match="user 0 has only 100 unseen items"):
        sampled_candidates(data, "test", 101, seed=0)


def test_dp_and_eo_on_a_worked_example():
    top = torch.tensor([[0, 1], [0, 2], [0, 1], [2, 1]])
    hits = torch.tensor([[1, 0], [1, 1], [1, 1], [0, 1]], dtype=torch.bool)
    groups = torch.tensor([0, 0, 1, 1])
    clean = exposure_fairness(top, hits, groups, n_items=3, k=2)
    assert clean["dp@2"] == pytest.approx(2 / 9) and clean["eo@2"] == pytest.approx(7 / 9)
    rates = exposure_fairness(top, hits, groups, n_items=3, k=2, norm="group_size")
    assert rates["dp@2"] == pytest.approx(1 / 3) and rates["eo@2"] == pytest.approx(2 / 3)
    fair = exposure_fairness(torch.tensor([[0], [0]]), torch.tensor([[True], [True]]), torch.tensor([0, 1]), 3, 1)
    assert fair == {"dp@1": 0.0, "eo@1": 0.0}


def test_full_sort_masks_training_items_and_averages_by_hand():
    scores = torch.tensor([[0.9, 0.1, 0.5, 0.2, 1.0], [5.0, 0.0, 0.3, 0.2, 0.1], [0.1, 0.2, 0.3, 9.0, 0.5]])
    data = InteractionData(
        3,
        5,
        train=torch.tensor([[0, 4], [1, 0], [2, 3]]),
        test=torch.tensor([[0, 0], [0, 2], [1, 1]]),
        user_features={"g": torch.tensor([0, 1, 0])},
        sensitive="g",
    )
    result = evaluate_full_sort(FixedScores(scores), data, ks=(2, 4), batch_size=2)
    m = result.metrics
    assert m["recall@2"] == pytest.approx(0.5) and m["ndcg@2"] == pytest.approx(0.5)
    assert m["recall@4"] == pytest.approx(1.0) and m["precision@4"] == pytest.approx(0.375)
    assert m["mrr@4"] == pytest.approx(0.625) and m["ndcg@4"] == pytest.approx((1 + 1 / math.log2(5)) / 2)
    assert m["recall@2_g0"] == 1 and m["recall@2_g1"] == 0 and m["recall@2_gap"] == 1
    assert result.users.tolist() == [0, 1]  # user 2 has no test item: not in ranking averages
    # DP@2 over all three users' masked lists: u0 [0, 2], u1 [2, 3], u2 [4, 2]
    assert m["dp@2"] == pytest.approx((1 + 1 / 3 + 1 + 1) / 4)


def test_a_recommender_must_define_embeddings_and_loss():
    class ScoresOnly(Recommender):
        def embeddings(self):
            return torch.zeros(1, 1), torch.zeros(1, 1)

    with pytest.raises(TypeError, match="abstract method.*loss"):
        ScoresOnly()


def test_most_popular_refuses_training_with_a_clear_error():
    data = InteractionData(2, 3, torch.tensor([[0, 1], [1, 1], [1, 2]]))
    with pytest.raises(TypeError, match="MostPop is not trainable"):
        MostPopular.from_data(data).loss(torch.tensor([0]), torch.tensor([1]), torch.tensor([[2]]))
