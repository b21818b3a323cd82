"""Normalised sparse adjacencies and propagation (recsys-common.md, section 7).

Node layout: users ``[0, U)``, items ``[U, U+I)``, entities ``[U+I, U+I+E)``. With the binary
symmetric adjacency ``A`` and self-loop weight ``w``::

    d_n       = sum_m A[n, m] + w
    Ahat[r,c] = m_rc * d_r^(-a) * d_c^(-b)      for every edge r != c
    Ahat[r,r] = sigma * w * d_r^(-(a+b))         (only when w > 0)

Row ``r`` receives: ``X' = Ahat X``. One builder covers LightGCN (a = b = 0.5, w = 0), JMP-GCF
(a = 0.5, b = beta, w = 1), MEGCF (a = 0.5, b = 0.5 - alpha, w = 1, sentiment ``m``, sigma = 2) and
FDA's GCCF (a = b = w = 1, self-loops dropped). Construction is vectorised (coalesce by unique keys,
degrees by ``bincount``, one gather per endpoint).
"""

from __future__ import annotations

import torch

from ..data.dataset import InteractionData, first_occurrences, make_csr


def normalized_adjacency(
    edge_index: torch.Tensor,
    num_nodes: int,
    left: float = 0.5,
    right: float = 0.5,
    self_loop: float = 0.0,
    edge_scale: torch.Tensor | None = None,
    self_loop_scale: float = 1.0,
    drop_self_loops: bool = False,
) -> torch.Tensor:
    """``D^-left (A + w I) D^-right`` as a float32 CSR tensor ``[num_nodes, num_nodes]``.

    ``edge_index`` ``[2, E]`` lists undirected edges (either or both directions; duplicates and
    self-pairs are removed); ``edge_scale`` ``[E]`` is the multiplier ``m`` of each listed edge, applied
    to both directions after normalisation.
    """
    src, dst = edge_index[0].long(), edge_index[1].long()
    scale = torch.ones(len(src)) if edge_scale is None else edge_scale.float()
    rows, cols, scale = torch.cat([dst, src]), torch.cat([src, dst]), torch.cat([scale, scale])
    off_diagonal = rows != cols
    rows, cols, scale = rows[off_diagonal], cols[off_diagonal], scale[off_diagonal]
    keep = first_occurrences(rows * num_nodes + cols)
    rows, cols, scale = rows[keep], cols[keep], scale[keep]

    degree = torch.bincount(rows, minlength=num_nodes).double() + self_loop
    safe = degree.clamp_min(1e-300)
    inv_left = torch.where(degree > 0, safe.pow(-left), 0.0)
    inv_right = torch.where(degree > 0, safe.pow(-right), 0.0)
    values = (inv_left[rows] * inv_right[cols]).float() * scale
    if self_loop > 0 and not drop_self_loops:
        nodes = torch.arange(num_nodes)
        rows, cols = torch.cat([rows, nodes]), torch.cat([cols, nodes])
        values = torch.cat([values, (self_loop_scale * self_loop * inv_left * inv_right).float()])
    order = torch.argsort(rows * num_nodes + cols)
    rows, cols, values = rows[order], cols[order], values[order]
    crow = torch.zeros(num_nodes + 1, dtype=torch.long)
    crow[1:] = torch.cumsum(torch.bincount(rows, minlength=num_nodes), 0)
    return make_csr(crow, cols, values, (num_nodes, num_nodes))


def to_edge_index(adjacency: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """PyG's ``(edge_index, edge_weight)`` of a CSR adjacency: ``edge_index[0]`` is the source
    (column ``c``), ``edge_index[1]`` the target (row ``r``)."""
    crow, col = adjacency.crow_indices(), adjacency.col_indices()
    row = torch.repeat_interleave(torch.arange(len(crow) - 1), crow[1:] - crow[:-1])
    return torch.stack([col, row]), adjacency.values()


def transpose_csr(adjacency: torch.Tensor) -> torch.Tensor:
    """``Ahat^T`` as a CSR tensor (what the backward pass of ``Ahat X`` multiplies by)."""
    (cols, rows), values = to_edge_index(adjacency)
    n = adjacency.shape[0]
    order = torch.argsort(cols * n + rows)
    crow = torch.zeros(n + 1, dtype=torch.long)
    crow[1:] = torch.cumsum(torch.bincount(cols, minlength=n), 0)
    return make_csr(crow, rows[order], values[order], (adjacency.shape[1], n))


class _SparseProduct(torch.autograd.Function):
    """``Ahat X`` whose backward is ``Ahat^T G`` with a precomputed transpose: torch's own CSR
    backward rebuilds it on every call and costs ~25x the forward pass on CPU."""

    @staticmethod
    def forward(ctx, adjacency, transposed, x):
        ctx.transposed = transposed
        return torch.sparse.mm(adjacency, x)

    @staticmethod
    def backward(ctx, grad):
        return None, None, torch.sparse.mm(ctx.transposed, grad)


def propagate(
    adjacency: torch.Tensor, x: torch.Tensor, layers: int, transposed: torch.Tensor | None = None
) -> list[torch.Tensor]:
    """``[x, Ahat x, Ahat^2 x, ...]`` (``layers + 1`` tensors) with ``torch.sparse.mm``.

    ``transposed`` (``transpose_csr(adjacency)``, computed here when not given) serves the backward
    pass; callers that propagate every step pass a cached one.
    """
    if x.requires_grad and transposed is None:
        transposed = transpose_csr(adjacency)
    out = [x]
    for _ in range(layers):
        previous = out[-1]
        if previous.requires_grad:
            out.append(_SparseProduct.apply(adjacency, transposed, previous))
        else:
            out.append(torch.sparse.mm(adjacency, previous))
    return out


def user_item_edges(data: InteractionData) -> torch.Tensor:
    """``[2, n]`` user -> item-node edges of the training pairs (item nodes offset by ``n_users``)."""
    return torch.stack([data.train[:, 0], data.train[:, 1] + data.n_users])


def item_entity_edges(data: InteractionData, modalities: list[str] | None = None) -> torch.Tensor:
    """``[2, n]`` item-node -> entity-node edges (entities offset by ``n_users + n_items``)."""
    pairs = data.item_entity_pairs(modalities)
    return torch.stack([pairs[:, 0] + data.n_users, pairs[:, 1] + data.n_users + data.n_items])


def interaction_adjacency(data: InteractionData, entities: bool = False, **normalisation) -> torch.Tensor:
    """The normalised user-item (or user-item-entity) adjacency of ``data``'s training pairs."""
    edges = user_item_edges(data)
    num_nodes = data.n_users + data.n_items
    if entities:
        edges = torch.cat([edges, item_entity_edges(data)], 1)
        num_nodes += data.n_entities
    return normalized_adjacency(edges, num_nodes, **normalisation)
