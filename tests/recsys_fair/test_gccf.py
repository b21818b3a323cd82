import pytest
import torch

from recsys_fair.models.gccf import GCCF, gccf_adjacency
from recsys_fair.training import build_model


def hand_weights(power: float) -> torch.Tensor:
    """W of the toy graph (user 0 - items 0, 1; user 1 - items 1, 2), nodes [u0, u1, i0, i1, i2].

    Degrees + 1: u0 3, u1 3, i0 2, i1 3, i2 2; each edge weight is 1 / ((d_u + 1)(d_i + 1))^power.
    """
    w = torch.zeros(5, 5)
    for user, item, product in [(0, 2, 6.0), (0, 3, 9.0), (1, 3, 9.0), (1, 4, 6.0)]:
        w[user, item] = w[item, user] = product**-power
    return w


@pytest.mark.parametrize(("norm", "power"), [("product", 1.0), ("sqrt", 0.5)])
def test_gccf_weights_match_the_hand_computed_graph(toy, norm, power):
    assert torch.allclose(gccf_adjacency(toy, norm).to_dense(), hand_weights(power))


def test_gccf_propagation_is_residual_and_concatenates_layers_0_to_2(toy):
    torch.manual_seed(0)
    model = GCCF.from_data(toy, dim=2)
    w, e0 = hand_weights(1.0), torch.cat([model.user, model.item]).detach()
    e1 = w @ e0 + e0
    e2 = w @ e1 + e1
    expected = torch.cat([e0, e1, e2], 1)
    users, items = model.embeddings()
    assert users.shape == (2, 6) and items.shape == (3, 6)
    assert torch.allclose(torch.cat([users, items]), expected, atol=1e-6)


def test_gccf_default_output_has_192_columns_and_a_finite_bpr_loss(toy):
    model = build_model("GCCF", toy)
    users, items = model.embeddings()
    assert users.shape[1] == items.shape[1] == 192
    parts = model.loss(torch.tensor([0, 1]), torch.tensor([0, 2]), torch.tensor([2, 0]))
    assert torch.isfinite(parts["loss"]) and torch.allclose(parts["loss"], parts["bpr"] + parts["reg"])


def test_gccf_rejects_an_unknown_norm(toy):
    with pytest.raises(ValueError, match="norm"):
        gccf_adjacency(toy, "mean")
