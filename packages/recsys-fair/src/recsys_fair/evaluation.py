"""The two evaluation protocols (recsys-common.md, section 9).

``evaluate_full_sort``: every item is ranked for every user, in chunks of ``batch_size`` users so
the only dense users x items matrix is one chunk's; items of the user's other splits are set to
``-inf`` (train, plus valid when testing); ``torch.topk`` gives the ranked lists. Ranking metrics
average over users with a relevant item; DP/EO use the lists of every user with training items;
per-group means and gaps are added when the data carry a sensitive attribute.

``evaluate_sampled``: each held-out pair is ranked against ``n_negatives`` items drawn uniformly
without replacement from the items outside the user's train, valid and test sets (MEGCF protocol).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .data.dataset import InteractionData, csr_rows
from .data.samplers import epoch_generator
from .metrics import exposure_fairness, group_gaps, ranking_metrics, sampled_metrics

GAP_METRICS = ("recall", "ndcg")


@dataclass
class Evaluation:
    """Averaged ``metrics``, and the ``per_user`` values over ``users`` (rows with a relevant item)."""

    metrics: dict[str, float]
    per_user: dict[str, torch.Tensor]
    users: torch.Tensor


def dense_rows(csr: torch.Tensor, users: torch.Tensor, n_items: int, device: torch.device) -> torch.Tensor:
    """``[len(users), n_items]`` boolean rows of the CSR matrix ``csr`` (a user's items of one split)."""
    rows, cols = csr_rows(csr, users)
    dense = torch.zeros(len(users), n_items, dtype=torch.bool, device=device)
    dense[rows.to(device), cols.to(device)] = True
    return dense


def _masked_splits(split: str) -> tuple[str, ...]:
    if split not in ("valid", "test"):
        raise ValueError(f"split must be 'valid' or 'test', got {split!r}")
    return ("train", "valid") if split == "test" else ("train",)


@torch.no_grad()
def evaluate_full_sort(
    model: nn.Module,
    data: InteractionData,
    split: str = "test",
    ks: tuple[int, ...] = (10, 20, 50),
    batch_size: int = 1024,
    fairness: bool = True,
    dp_norm: str = "items",
) -> Evaluation:
    """Full-sort top-K evaluation of ``model`` (any :class:`Recommender`) on ``split``."""
    k_max = max(ks)
    if k_max > data.n_items:
        raise ValueError(f"K = {k_max} exceeds the {data.n_items} items")
    was_training = model.training
    model.eval()
    user_repr, item_repr = model.embeddings()
    device = item_repr.device
    relevant = data.split_csr(split)
    masked = data.split_csr(*_masked_splits(split))
    n_relevant = torch.bincount(getattr(data, split)[:, 0], minlength=data.n_users)
    n_train = torch.bincount(data.train[:, 0], minlength=data.n_users)
    users = ((n_relevant > 0) | (n_train > 0)).nonzero().flatten()
    tops, hits = [], []
    for chunk in users.split(batch_size):
        scores = user_repr[chunk.to(device)] @ item_repr.T
        scores.masked_fill_(dense_rows(masked, chunk, data.n_items, device), float("-inf"))
        top = torch.topk(scores, k_max, dim=1).indices
        tops.append(top.cpu())
        hits.append(dense_rows(relevant, chunk, data.n_items, device).gather(1, top).cpu())
    model.train(was_training)
    top_items, hit_matrix = torch.cat(tops), torch.cat(hits)

    has_relevant = n_relevant[users] > 0
    per_user = ranking_metrics(hit_matrix[has_relevant], n_relevant[users][has_relevant], ks)
    metrics = {name: float(values.mean()) for name, values in per_user.items()}
    if fairness and data.sensitive is not None:
        groups = data.groups()
        listed = n_train[users] > 0
        for k in ks:
            metrics.update(
                exposure_fairness(
                    top_items[listed],
                    hit_matrix[listed],
                    groups[users][listed],
                    data.n_items,
                    k,
                    dp_norm,
                    has_relevant=has_relevant[listed],
                )
            )
        names = tuple(f"{m}@{k}" for m in GAP_METRICS for k in ks)
        metrics.update(group_gaps(per_user, groups[users][has_relevant], names))
    return Evaluation(metrics=metrics, per_user=per_user, users=users[has_relevant])


def _candidates(data: InteractionData, split: str, n_negatives: int, generator: torch.Generator) -> torch.Tensor:
    """``[n_cases, n_negatives]`` negatives, uniform without replacement outside the user's known items."""
    cases = getattr(data, split)
    known = data.split_csr("train", "valid", "test")
    available = data.n_items - (known.crow_indices()[1:] - known.crow_indices()[:-1])
    short = (available[cases[:, 0]] < n_negatives).nonzero()
    if len(short):
        user = int(cases[int(short[0]), 0])
        raise ValueError(
            f"user {user} has only {int(available[user])} unseen items, fewer than {n_negatives} negatives"
        )
    chunks = []
    for users in cases[:, 0].split(1024):
        keys = torch.rand(len(users), data.n_items, generator=generator)
        rows, cols = csr_rows(known, users)
        keys[rows, cols] = 2.0  # known items sort last and are never among the n_negatives smallest keys
        chunks.append(torch.topk(keys, n_negatives, dim=1, largest=False).indices)
    return torch.cat(chunks) if chunks else torch.empty(0, n_negatives, dtype=torch.long)


_CANDIDATE_CACHE: dict[tuple, torch.Tensor] = {}


def sampled_candidates(
    data: InteractionData, split: str, n_negatives: int, seed: int, call: int | None = None
) -> torch.Tensor:
    """The candidate negatives of ``split``: drawn once per ``(data, split, seed)`` and reused
    (``call=None``), or drawn afresh from ``(seed, call)``."""
    if call is not None:
        return _candidates(data, split, n_negatives, epoch_generator(seed, call + 1))
    key = (data.fingerprint()["train_sha1"], len(getattr(data, split)), split, n_negatives, seed)
    if key not in _CANDIDATE_CACHE:
        _CANDIDATE_CACHE.clear()
        _CANDIDATE_CACHE[key] = _candidates(data, split, n_negatives, epoch_generator(seed, 0))
    return _CANDIDATE_CACHE[key]


@torch.no_grad()
def evaluate_sampled(
    model: nn.Module,
    data: InteractionData,
    split: str = "test",
    n_negatives: int = 99,
    ks: tuple[int, ...] = (5, 10, 20),
    seed: int = 0,
    call: int | None = None,
) -> Evaluation:
    """Sampled 1 + ``n_negatives`` ranking (MEGCF protocol): ``rank = #{negatives scoring >= the
    held-out item}``. ``call=None`` reuses one candidate draw per ``(seed, split)`` for every model and
    epoch; an integer ``call`` redraws from ``(seed, call)`` (the official code's re-drawing, made
    reproducible)."""
    _masked_splits(split)
    cases = getattr(data, split)
    negatives = sampled_candidates(data, split, n_negatives, seed, call)
    was_training = model.training
    model.eval()
    user_repr, item_repr = model.embeddings()
    device = item_repr.device
    users, targets, negatives = cases[:, 0].to(device), cases[:, 1].to(device), negatives.to(device)
    u = user_repr[users]
    target_score = (u * item_repr[targets]).sum(-1)
    negative_score = torch.einsum("nd,nkd->nk", u, item_repr[negatives])
    model.train(was_training)
    rank = (negative_score >= target_score[:, None]).sum(1).cpu()
    per_case = sampled_metrics(rank, ks)
    return Evaluation({k: float(v.mean()) for k, v in per_case.items()}, per_case, cases[:, 0])
