"""Ranking and fairness metrics (recsys-common.md, section 9), vectorised over users.

For user ``u`` with relevant set ``T_u``, a boolean hit matrix ``H[u, r]`` over the ranked list and
``h = sum_{r<K} H[u, r]``::

    Precision@K    = h / K
    Recall@K       = h / |T_u|
    CappedRecall@K = h / min(|T_u|, K)              ("HR" in FDA's code)
    Hit@K          = 1[h > 0]
    NDCG@K         = sum_{r<K} H[u,r] / log2(r+2)  /  sum_{r<min(|T_u|,K)} 1 / log2(r+2)
    MRR@K          = 1 / (r* + 1), r* the first hit position < K, else 0

Sampled 1 + N protocol: ``rank = #{negatives with score >= score_t}`` (ties count against the
held-out item), ``HR@K = 1[rank < K]``, ``NDCG@K = 1[rank < K] / log2(rank + 2)``,
``MRR@K = 1[rank < K] / (rank + 1)``.

FDA's item-level DP@K and EO@K (clean form): with ``n_g(v) = #{u in group g : v in R_u}``,
``DP@K = mean_{v : n(v) > 0} |n_1(v) - n_0(v)| / n(v)``; EO@K is the same with
``m_g(v) = #{u in g : v in R_u and v in T_u}`` over ``{v : m(v) > 0}``. ``norm="group_size"`` gives
the textbook rate difference ``|n_1(v)/|G_1| - n_0(v)/|G_0||`` over the same items. (FDA's
``fda_compat`` evaluation belongs to the FDA module, fda.md section 4.)
"""

from __future__ import annotations

import torch

RANKING = ("precision", "recall", "capped_recall", "hit", "ndcg", "mrr")


def _discounts(k: int) -> torch.Tensor:
    return 1.0 / torch.log2(torch.arange(k, dtype=torch.float64) + 2)


def ranking_metrics(hits: torch.Tensor, n_relevant: torch.Tensor, ks: tuple[int, ...]) -> dict[str, torch.Tensor]:
    """Per-user ``{"recall@K": [n], ...}`` from ``hits [n, >=max(ks)]`` and ``|T_u|`` (all >= 1)."""
    hits = hits.double()
    discount = _discounts(hits.shape[1])
    ideal = torch.cumsum(discount, 0)
    n_relevant = n_relevant.double()
    position = torch.arange(hits.shape[1])
    first_hit = torch.where(hits.bool(), position, hits.shape[1]).min(1).values
    out = {}
    for k in ks:
        h = hits[:, :k].sum(1)
        capped = torch.clamp(n_relevant, max=k)
        out[f"precision@{k}"] = h / k
        out[f"recall@{k}"] = h / n_relevant
        out[f"capped_recall@{k}"] = h / capped
        out[f"hit@{k}"] = (h > 0).double()
        out[f"ndcg@{k}"] = (hits[:, :k] * discount[:k]).sum(1) / ideal[capped.long() - 1]
        out[f"mrr@{k}"] = torch.where(first_hit < k, 1.0 / (first_hit.double() + 1), 0.0)
    return out


def sampled_metrics(rank: torch.Tensor, ks: tuple[int, ...]) -> dict[str, torch.Tensor]:
    """Per-case HR/NDCG/MRR at each K from the held-out item's rank among its candidates."""
    rank = rank.double()
    out = {}
    for k in ks:
        inside = rank < k
        out[f"hr@{k}"] = inside.double()
        out[f"ndcg@{k}"] = torch.where(inside, 1.0 / torch.log2(rank + 2), 0.0)
        out[f"mrr@{k}"] = torch.where(inside, 1.0 / (rank + 1), 0.0)
    return out


def _parity(items: torch.Tensor, group: torch.Tensor, n_items: int, group_sizes: torch.Tensor, norm: str) -> float:
    """Mean over items that occur of the distance of their recipients from parity."""
    if len(items) == 0:
        return 0.0
    n1 = torch.bincount(items, weights=group.double(), minlength=n_items)
    n = torch.bincount(items, minlength=n_items).double()
    n0 = n - n1
    seen = n > 0
    if norm == "items":
        gap = (n1 - n0).abs() / n.clamp_min(1)
    elif norm == "group_size":
        gap = (n1 / group_sizes[1] - n0 / group_sizes[0]).abs()
    else:
        raise ValueError(f"norm must be 'items' or 'group_size', got {norm!r}")
    return float(gap[seen].mean())


def exposure_fairness(
    top_items: torch.Tensor,
    hits: torch.Tensor,
    groups: torch.Tensor,
    n_items: int,
    k: int,
    norm: str = "items",
    has_relevant: torch.Tensor | None = None,
) -> dict[str, float]:
    """FDA's item-level ``dp@K`` and ``eo@K`` (clean form) over the ranked lists ``top_items [n, >=K]``.

    ``groups [n]`` is each listed user's binary group; ``hits [n, >=K]`` marks relevant entries.
    ``norm="group_size"`` divides by group sizes (users listed for DP; users with relevant items,
    ``has_relevant``, for EO).
    """
    top, hit = top_items[:, :k], hits[:, :k]
    group_rows = groups[:, None].expand_as(top)
    sizes = torch.stack([(groups == 0).sum(), (groups == 1).sum()]).double()
    relevant_groups = groups if has_relevant is None else groups[has_relevant]
    relevant_sizes = torch.stack([(relevant_groups == 0).sum(), (relevant_groups == 1).sum()]).double()
    return {
        f"dp@{k}": _parity(top.reshape(-1), group_rows.reshape(-1), n_items, sizes, norm),
        f"eo@{k}": _parity(top[hit], group_rows[hit], n_items, relevant_sizes, norm),
    }


def group_gaps(per_user: dict[str, torch.Tensor], groups: torch.Tensor, names: tuple[str, ...]) -> dict[str, float]:
    """Per-group means ``{name}_g0``, ``{name}_g1`` and the signed gap ``{name}_gap = M_0 - M_1``."""
    out = {}
    for name in names:
        values = per_user[name]
        m0 = float(values[groups == 0].mean()) if (groups == 0).any() else float("nan")
        m1 = float(values[groups == 1].mean()) if (groups == 1).any() else float("nan")
        out.update({f"{name}_g0": m0, f"{name}_g1": m1, f"{name}_gap": m0 - m1})
    return out
