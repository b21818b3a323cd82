import pytest
import torch
from torch_geometric.nn import LGConv
from torch_geometric.nn.models import LightGCN as PyGLightGCN

from recsys_fair import LightGCN, normalized_adjacency, propagate
from recsys_fair.models.graph import interaction_adjacency, to_edge_index

# 2 users x 3 items: u0-i0, u0-i1, u1-i1, u1-i2; nodes u0=0, u1=1, i0=2, i1=3, i2=4
EDGES = torch.tensor([[0, 0, 1, 1], [2, 3, 3, 4]])
DEGREE = torch.tensor([2.0, 2.0, 1.0, 2.0, 1.0])


def expected(left, right, w, scale=None, sigma=1.0, drop=False):
    dense = torch.zeros(5, 5)
    d = DEGREE + w
    for k, (u, i) in enumerate(EDGES.T.tolist()):
        m = 1.0 if scale is None else float(scale[k])
        dense[u, i] = m * d[u] ** -left * d[i] ** -right
        dense[i, u] = m * d[i] ** -left * d[u] ** -right
    if w > 0 and not drop:
        dense += torch.diag(sigma * w * d ** -(left + right))
    return dense


@pytest.mark.parametrize(
    "kwargs",
    [
        {"left": 0.5, "right": 0.5},  # LightGCN
        {"left": 0.5, "right": 0.3, "self_loop": 1.0},  # JMP-GCF, beta = 0.3 (a != b: orientation matters)
        {
            "left": 0.5,
            "right": 0.4,
            "self_loop": 1.0,
            "edge_scale": torch.tensor([0.5, 1.0, 2.0, 1.5]),
            "self_loop_scale": 2.0,
        },  # MEGCF
        {"left": 1.0, "right": 1.0, "self_loop": 1.0, "drop_self_loops": True},  # GCCF in FDA
    ],
)
def test_normalized_adjacency_entries(kwargs):
    adjacency = normalized_adjacency(EDGES, 5, **kwargs).to_dense()
    want = expected(
        kwargs["left"],
        kwargs["right"],
        kwargs.get("self_loop", 0.0),
        kwargs.get("edge_scale"),
        kwargs.get("self_loop_scale", 1.0),
        kwargs.get("drop_self_loops", False),
    )
    assert torch.allclose(adjacency, want, atol=1e-6)


def test_duplicated_and_reversed_edges_collapse():
    doubled = torch.cat([EDGES, EDGES.flip(0), EDGES], 1)
    assert torch.allclose(normalized_adjacency(doubled, 5).to_dense(), normalized_adjacency(EDGES, 5).to_dense())


def test_propagate_matches_dense_powers_and_pyg_lgconv():
    adjacency = normalized_adjacency(EDGES, 5, left=0.5, right=0.3, self_loop=1.0)
    x = torch.randn(5, 4, generator=torch.Generator().manual_seed(0))
    layers = propagate(adjacency, x, 3)
    dense = adjacency.to_dense()
    for power, layer in enumerate(layers):
        assert torch.allclose(layer, torch.linalg.matrix_power(dense, power) @ x, atol=1e-5)
    edge_index, edge_weight = to_edge_index(adjacency)
    assert torch.allclose(LGConv(normalize=False)(x, edge_index, edge_weight), layers[1], atol=1e-6)


def test_lightgcn_equals_pyg_for_copied_weights(synthetic):
    model = LightGCN.from_data(synthetic, dim=8)
    peer = PyGLightGCN(synthetic.n_users + synthetic.n_items, 8, num_layers=3)
    with torch.no_grad():
        peer.embedding.weight.copy_(torch.cat([model.user, model.item]))
    edges = torch.stack([synthetic.train[:, 0], synthetic.train[:, 1] + synthetic.n_users])
    theirs = peer.get_embedding(torch.cat([edges, edges.flip(0)], 1))
    users, items = model.embeddings()
    assert torch.allclose(torch.cat([users, items]), theirs, atol=1e-5)


def test_lightgcn_gradients_flow_through_sparse_propagation(toy):
    model = LightGCN.from_data(toy, dim=4)
    parts = model.loss(torch.tensor([0, 1]), torch.tensor([0, 2]), torch.tensor([2, 0]))
    parts["loss"].backward()
    assert model.user.grad is not None and model.item.grad.abs().sum() > 0
    limit = (6 / (toy.n_items + 4)) ** 0.5
    assert model.item.abs().max() <= limit
    assert interaction_adjacency(toy).to_dense()[0, 2] == pytest.approx(0.5**0.5)


def test_pyg_peer_matches_lightgcn_embeddings_and_trains(synthetic):
    from recsys_fair import LightGCNPyG

    ours = LightGCN.from_data(synthetic, dim=8)
    peer = LightGCNPyG.from_data(synthetic, dim=8)
    with torch.no_grad():
        peer.net.embedding.weight.copy_(torch.cat([ours.user, ours.item]))
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(ours.embeddings(), peer.embeddings()))
    users, positives, negatives = torch.tensor([0, 1, 2]), synthetic.train[:3, 1], torch.tensor([5, 6, 7])
    loss = peer.loss(users, positives, negatives)["loss"]
    loss.backward()
    assert torch.isfinite(loss) and peer.net.embedding.weight.grad.abs().sum() > 0
