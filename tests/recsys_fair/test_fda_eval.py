"""FDA's evaluation on a 4-user, 4-item case worked by hand (fda.md, section 4), K = 2.

Scores are the user rows (item table = identity). Groups [0, 1, 0, 1].
- user 0: train {3}, test {0, 1}, scores [.9, .8, .1, 1.]
- user 1: train {0}, test {1}, scores [1., .7, .9, .2]
- user 2: train {1}, no test,  scores [.1, 1., .6, .5]
- user 3: train {3}, test {2}, scores [.3, .2, .9, .95]

Clean lists (train masked): u0 [0, 1] both hits; u1 [2, 1] hit at 1; u2 [2, 3]; u3 [2, 0] hit at 0.
Compat keys (top 2 of [real with train+test masked || test scores], hit key = item + 4):
u0 [4, 5] (item 0's hit key 4 is not "> 4": defect 2); u1 [2, 5]; u2 [1, 2] (nothing masked:
defect 3); u3 [6, 0].
"""

import math

import pytest
import torch
from torch import nn

from recsys_fair import InteractionData
from recsys_fair.fda_eval import compat_lists, evaluate_fda

SCORES = [[0.9, 0.8, 0.1, 1.0], [1.0, 0.7, 0.9, 0.2], [0.1, 1.0, 0.6, 0.5], [0.3, 0.2, 0.9, 0.95]]


class FixedScores(nn.Module):
    def embeddings(self):
        return torch.tensor(SCORES), torch.eye(4)


@pytest.fixture
def case():
    return InteractionData(
        n_users=4,
        n_items=4,
        train=torch.tensor([[0, 3], [1, 0], [2, 1], [3, 3]]),
        test=torch.tensor([[0, 0], [0, 1], [1, 1], [3, 2]]),
        user_features={"gender": torch.tensor([0, 1, 0, 1])},
        sensitive="gender",
    )


def test_clean_fda_metrics_by_hand(case):
    metrics = evaluate_fda(FixedScores(), case, ks=(2,))
    ndcg_u1 = 1 / math.log2(3)
    assert metrics["capped_recall@2"] == pytest.approx(1.0)
    assert metrics["ndcg@2"] == pytest.approx((1 + ndcg_u1 + 1) / 3)
    # items 0: g0 u0, g1 u3 -> 0; 1: g0 u0, g1 u1 -> 0; 2: g1 u1, u3, g0 u2 -> 1/3; 3: g0 u2 -> 1
    assert metrics["dp@2"] == pytest.approx((0 + 0 + 1 / 3 + 1) / 4)
    assert metrics["eo@2"] == pytest.approx((1 + 0 + 1) / 3)  # hits: item 0 g0; item 1 g0 + g1; item 2 g1


def test_compat_keys_and_metrics_reproduce_the_official_defects(case):
    keys, n_relevant = compat_lists(FixedScores(), case, "test", 2)
    assert keys.tolist() == [[4, 5], [2, 5], [1, 2], [6, 0]] and n_relevant.tolist() == [2, 1, 0, 1]
    metrics = evaluate_fda(FixedScores(), case, ks=(2,), fda_compat=True)
    assert metrics["hr@2"] == pytest.approx((0.5 + 1 + 1) / 3)  # user 0's hit on item 0 is lost; user 2 skipped
    d = 1 / math.log2(3)
    assert metrics["ndcg@2"] == pytest.approx((d / (1 + d) + d + 0 + 1) / 4)  # user 2 counts as 0
    # keys 4: g0 -> 1; 5: g0 + g1 -> 0; 2: g1 + g0 -> 0; 1, 6, 0: one recipient each -> 1
    assert metrics["dp@2"] == pytest.approx(4 / 6)
    assert metrics["eo@2"] == pytest.approx((0 + 1) / 2)  # keys 5 and 6 only (key 4 is not "> 4")
