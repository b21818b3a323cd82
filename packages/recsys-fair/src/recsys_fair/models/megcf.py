"""MEGCF: Multimodal Entity Graph Collaborative Filtering (Liu et al., TOIS 41(2) 2023; megcf.md).

Section 2 (model, official code ``kangliu1225/MEGCF``):

- three free ID tables ``E_U``, ``E_I``, ``E_E`` (``d = 64``, Xavier-uniform per table); no raw
  multimodal feature vector enters anywhere, modality enters only through item-entity links ``L``
  (the union over modalities, a modality list kept only when it holds at least
  ``min_entities_per_modality`` entities, 2 in the official code);
- two graphs over users, items and entities: ``A_UI`` (user-item edges) and ``A_UIE`` (plus the
  item-entity edges), both normalised ``d_r^-1/2 d_c^-beta`` over ``A + I`` with ``beta = 0.5 -
  alpha``, every user-item and item-entity edge multiplied by the item's sentiment weight ``s_i``
  and the self-loop doubled (``self_loop_scale=2``: the code adds the identity twice);
- ``X_g^l = Ahat_g X_g^(l-1)`` and **only** ``X_g^L`` is used (no layer combination);
- ``y(u, i) = <x_UI,u^L, x_UI,i^L> + <x_UIE,u^L, x_UIE,i^L>``, i.e. the dot product of
  ``[x_UI || x_UIE]``.

In ``A_UI`` entity nodes are isolated apart from their self-loop, so they never reach users or
items: we build and propagate that graph over the ``U + I`` user and item nodes only (identical
rows, checked by a test). Section 3 (loss): one BPR per graph on that graph's score, plus
``(lambda_1 * 0.5 ||[u, i, j]_UI^L||^2 + lambda_2 * 0.5 ||[u, i, j]_UIE^L||^2) / B``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..data.dataset import InteractionData
from ..registry import MODELS
from .base import GraphRecommender
from .graph import normalized_adjacency, propagate, transpose_csr, user_item_edges
from .losses import bpr_loss, l2_half_sum

PAPER_CONFIGS: dict[str, dict[str, Any]] = {
    "beauty": {"n_layers": 3, "alpha": 0.1, "lambda_ui": 1e-2, "lambda_uie": 1e-3},
    "art": {"n_layers": 5, "alpha": 0.1, "lambda_ui": 1e-2, "lambda_uie": 1e-3},
    "taobao": {"n_layers": 5, "alpha": 0.2, "lambda_ui": 1e-3, "lambda_uie": 1e-4},
}
"""Per-dataset defaults of megcf.md section 3 (batch 2048, lr 1e-3, d 64 and 1000 epochs for all)."""
PAPER_TRAINING = {"sampler": "user", "batch_size": 2048, "lr": 1e-3, "epochs": 1000, "eval_every": 20}
"""The official training recipe (megcf.md section 3): Adam 1e-3, ``UserBatchSampler`` batch 2048."""


def sentiment_weights(item_reviews: torch.Tensor) -> torch.Tensor:
    """``[I]`` item weights from (positive, total) review counts (megcf.md section 2, official code).

    ``f_i = positive / total``, ``s~_i = f_i^0.1``, rescaled to mean 1 over the items that have
    reviews; ``f_i = 0`` gives 0 (the item keeps only its self-loop); items without reviews get 1.
    """
    positive, total = item_reviews[:, 0].double(), item_reviews[:, 1].double()
    reviewed = total > 0
    raw = (positive[reviewed] / total[reviewed]).pow(0.1)
    weights = torch.ones(len(item_reviews), dtype=torch.float64)
    weights[reviewed] = raw * reviewed.sum() / raw.sum()
    return weights.float()


def popularity_weights(train: torch.Tensor, n_items: int, megcf_compat: bool = False) -> torch.Tensor:
    """``[I]`` fallback weights for data without reviews (Taobao; official code).

    ``s~_i = (c_i / max_j c_j)^0.01`` with ``c_i`` the item's training rows, 1 for an item with no
    row, normalised to mean 1 over all items. ``megcf_compat`` reproduces the official count, one
    short for every item (its first user is never appended), so an item with one row gets 1.
    """
    counts = torch.bincount(train[:, 1], minlength=n_items).double()
    if megcf_compat:
        counts = (counts - 1).clamp_min(0)
    raw = torch.where(counts > 0, (counts / counts.max().clamp_min(1)).pow(0.01), 1.0)
    return (raw / raw.mean()).float()


def item_weights(data: InteractionData, use_sentiment: bool = True, megcf_compat: bool = False) -> torch.Tensor:
    """The sentiment weight ``s_i`` of every item: from reviews when the data have them, else the
    popularity fallback; all ones with ``use_sentiment=False`` (the paper's ablation)."""
    if not use_sentiment:
        return torch.ones(data.n_items)
    if data.item_reviews is None:
        return popularity_weights(data.train, data.n_items, megcf_compat)
    return sentiment_weights(data.item_reviews)


def entity_links(data: InteractionData, min_entities_per_modality: int = 2) -> torch.Tensor:
    """``[n, 2]`` distinct (item, entity) links: the union over modalities of the item lists that hold
    at least ``min_entities_per_modality`` entities (official code: 2; 1 is the clean reading)."""
    pairs = []
    for links in (data.item_entities or {}).values():
        crow = links.crow_indices()
        counts = crow[1:] - crow[:-1]
        items = torch.repeat_interleave(torch.arange(data.n_items), counts)
        kept = counts[items] >= min_entities_per_modality
        pairs.append(torch.stack([items[kept], links.col_indices()[kept]], 1))
    if not pairs:
        return torch.empty(0, 2, dtype=torch.long)
    keys = torch.unique(torch.cat(pairs) @ torch.tensor([max(data.n_entities, 1), 1]))
    return torch.stack([keys // max(data.n_entities, 1), keys % max(data.n_entities, 1)], 1)


def megcf_adjacency(
    data: InteractionData,
    weights: torch.Tensor,
    beta: float = 0.4,
    links: torch.Tensor | None = None,
    self_loop_scale: float = 2.0,
    entity_nodes: bool = True,
) -> torch.Tensor:
    """``(D^-1/2 (A + I) D^-beta) * W`` over users, items and (with ``entity_nodes``) entities.

    ``links`` (item, entity) adds the item-entity edges (``A_UIE``); without them the graph is
    ``A_UI``. ``weights[i]`` scales every user-item and item-entity edge of item ``i``; the diagonal
    is ``self_loop_scale * d^(-1/2 - beta)``. ``entity_nodes=False`` (only without ``links``) drops the
    isolated entity nodes of ``A_UI``.
    """
    edges, scale = user_item_edges(data), weights[data.train[:, 1]]
    num_nodes = data.n_users + data.n_items + (data.n_entities if entity_nodes else 0)
    if links is not None:
        offset = data.n_users
        entity_edges = torch.stack([links[:, 0] + offset, links[:, 1] + offset + data.n_items])
        edges, scale = torch.cat([edges, entity_edges], 1), torch.cat([scale, weights[links[:, 0]]])
    return normalized_adjacency(
        edges, num_nodes, left=0.5, right=beta, self_loop=1.0, edge_scale=scale, self_loop_scale=self_loop_scale
    )


def _xavier(rows: int, dim: int) -> nn.Parameter:
    """A table initialised Xavier-uniform, limit ``sqrt(6 / (rows + dim))`` (TF ``xavier_initializer``)."""
    table = torch.empty(rows, dim)
    return nn.Parameter(nn.init.xavier_uniform_(table) if rows else table)


@MODELS.register("MEGCF")
class MEGCF(GraphRecommender):
    """MEGCF over ``data`` (megcf.md sections 2-3); ``paper_config(name)`` gives a dataset's defaults.

    ``use_entities=False`` makes the UIE graph the UI graph and ``use_sentiment=False`` sets every
    ``s_i = 1``: the paper's two ablations. ``megcf_compat`` reproduces the official popularity
    undercount of the no-review fallback.
    """

    def __init__(
        self,
        data: InteractionData,
        n_layers: int = 3,
        alpha: float = 0.1,
        dim: int = 64,
        lambda_ui: float = 1e-2,
        lambda_uie: float = 1e-3,
        self_loop_scale: float = 2.0,
        min_entities_per_modality: int = 2,
        use_entities: bool = True,
        use_sentiment: bool = True,
        megcf_compat: bool = False,
    ):
        super().__init__()
        self.config = {
            "n_layers": n_layers,
            "alpha": alpha,
            "dim": dim,
            "lambda_ui": lambda_ui,
            "lambda_uie": lambda_uie,
            "self_loop_scale": self_loop_scale,
            "min_entities_per_modality": min_entities_per_modality,
            "use_entities": use_entities,
            "use_sentiment": use_sentiment,
            "megcf_compat": megcf_compat,
        }
        self.n_users, self.n_items, self.n_layers = data.n_users, data.n_items, n_layers
        self.lambda_ui, self.lambda_uie = lambda_ui, lambda_uie
        weights = item_weights(data, use_sentiment, megcf_compat)
        beta = 0.5 - alpha
        self.set_adjacency(megcf_adjacency(data, weights, beta, None, self_loop_scale, entity_nodes=False))
        links = entity_links(data, min_entities_per_modality) if use_entities else None
        n_entities = data.n_entities if use_entities else 0
        if links is None:
            self.entity_adjacency, self.entity_adjacency_t = self.adjacency, self.adjacency_t
        else:
            self.entity_adjacency = megcf_adjacency(data, weights, beta, links, self_loop_scale)
            self.entity_adjacency_t = transpose_csr(self.entity_adjacency)
        self.user, self.item, self.entity = (_xavier(n, dim) for n in (data.n_users, data.n_items, n_entities))

    @classmethod
    def from_data(cls, data: InteractionData, **config: Any) -> MEGCF:
        return cls(data, **config)

    @staticmethod
    def paper_config(dataset_name: str) -> dict[str, Any]:
        """The model arguments of megcf.md section 3 for ``(megcf-|amazon-)beauty``, ``art`` or ``taobao``."""
        key = dataset_name.lower().removeprefix("megcf-").removeprefix("amazon-")
        if key not in PAPER_CONFIGS:
            raise KeyError(f"no MEGCF defaults for {dataset_name!r}; known: {sorted(PAPER_CONFIGS)}")
        return dict(PAPER_CONFIGS[key])

    def _apply(self, fn, recurse: bool = True):
        super()._apply(fn, recurse)
        self.entity_adjacency, self.entity_adjacency_t = fn(self.entity_adjacency), fn(self.entity_adjacency_t)
        return self

    def branches(self) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
        """The final-layer (user, item) rows of the UI graph and of the UIE graph."""
        ego = torch.cat([self.user, self.item])
        ui = propagate(self.adjacency, ego, self.n_layers, self.adjacency_t)[-1]
        uie_ego = torch.cat([ego, self.entity]) if self.entity_adjacency is not self.adjacency else ego
        uie = propagate(self.entity_adjacency, uie_ego, self.n_layers, self.entity_adjacency_t)[-1]
        n, m = self.n_users, self.n_users + self.n_items
        return (ui[:n], ui[n:m]), (uie[:n], uie[n:m])

    def embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``[x_UI || x_UIE]`` of users and items: their dot product is the summed two-graph score."""
        (ui_users, ui_items), (uie_users, uie_items) = self.branches()
        return torch.cat([ui_users, uie_users], 1), torch.cat([ui_items, uie_items], 1)

    def loss(self, users: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor) -> dict[str, torch.Tensor]:
        """Two BPR losses, one per graph, each with its own L2 weight (megcf.md section 3)."""
        parts: dict[str, torch.Tensor] = {}
        for name, (user_repr, item_repr), weight in zip(
            ("ui", "uie"), self.branches(), (self.lambda_ui, self.lambda_uie)
        ):
            u, i, j = user_repr[users], item_repr[positives], item_repr[negatives]
            parts[f"bpr_{name}"] = bpr_loss((u * i).sum(-1), (u * j).sum(-1))
            parts[f"reg_{name}"] = weight * l2_half_sum(u, i, j, batch_size=len(users))
        parts["loss"] = sum(parts.values())
        return parts
