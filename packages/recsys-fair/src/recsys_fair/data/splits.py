"""Seeded, vectorised splits of interaction data (recsys-common.md, section 4).

Every per-user split sorts the pairs on (user, key), where the key is random (seeded
``torch.Generator``) or the timestamp, and cuts each user's run at offsets computed from the user's
count: no Python loop over users. The same seed gives the same split.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from .dataset import InteractionData

TRAIN, VALID, TEST = 0, 1, 2


def k_core(users: np.ndarray, items: np.ndarray, min_user: int, min_item: int) -> np.ndarray:
    """Boolean mask of the rows kept by the iterative k-core filter (each pass is vectorised)."""
    keep = np.ones(len(users), dtype=bool)
    while True:
        user_counts = np.bincount(users[keep], minlength=users.max() + 1)
        item_counts = np.bincount(items[keep], minlength=items.max() + 1)
        new_keep = keep & (user_counts[users] >= min_user) & (item_counts[items] >= min_item)
        if new_keep.sum() == keep.sum():
            return new_keep
        keep = new_keep


def _rank_within_user(users: torch.Tensor, key: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(order, rank, count)``: rows sorted by (user, key); ``rank`` of each sorted row inside its
    user's run (0 = smallest key) and that user's row count."""
    order = torch.argsort(key, stable=True)
    order = order[torch.argsort(users[order], stable=True)]
    sorted_users = users[order]
    counts = torch.bincount(sorted_users)
    starts = torch.cumsum(counts, 0) - counts
    rank = torch.arange(len(users)) - starts[sorted_users]
    return order, rank, counts[sorted_users]


def _held_out_counts(n: torch.Tensor, ratio: float, min_rows: int = 3) -> torch.Tensor:
    """``round(ratio * n)``, at least 1 when ``ratio > 0`` and ``n >= min_rows``."""
    count = torch.round(ratio * n.double()).long()
    if ratio > 0:
        count = torch.where(n >= min_rows, count.clamp(min=1), count)
    return count


def _apply(data: InteractionData, assignment: torch.Tensor, description: dict) -> InteractionData:
    """A copy of ``data`` whose train rows are moved to valid/test by ``assignment`` (0/1/2 per row)."""
    stamps = (data.timestamps or {}).get("train")
    parts = {s: assignment == code for s, code in (("train", TRAIN), ("valid", VALID), ("test", TEST))}
    result = replace(
        data,
        train=data.train[parts["train"]],
        valid=data.train[parts["valid"]],
        test=data.train[parts["test"]],
        train_ratings=None if data.train_ratings is None else data.train_ratings[parts["train"]],
        timestamps=None if stamps is None else {s: stamps[mask] for s, mask in parts.items()},
        item_reviews=None if data.train_ratings is not None else data.item_reviews,
        meta={**data.meta, "split": description},
    )
    return result.with_reviews_from_ratings() if data.train_ratings is not None else result


def _require_unsplit(data: InteractionData) -> None:
    if len(data.valid) or len(data.test):
        raise ValueError(f"{data.name} is already split; split functions take data with every pair in train")


def split_random(
    data: InteractionData, ratios: tuple[float, float, float] = (0.8, 0.1, 0.1), by: str = "user", seed: int = 0
) -> InteractionData:
    """Random train/valid/test split of ``data.train`` (section 4).

    ``by="user"``: per user, ``n_test = round(r_test * n_u)`` and ``n_valid = round(r_valid * n_u)``,
    each at least 1 when its ratio is > 0 and ``n_u >= 3``; the rest (at least 1) is train.
    ``by="global"``: one permutation of all pairs cut once (FDA's ML-1M file is of this kind).
    """
    _require_unsplit(data)
    _, r_valid, r_test = ratios
    generator = torch.Generator().manual_seed(seed)
    key = torch.rand(len(data.train), generator=generator)
    assignment = torch.full((len(data.train),), TRAIN, dtype=torch.long)
    if by == "global":
        order = torch.argsort(key)
        n_test, n_valid = round(r_test * len(order)), round(r_valid * len(order))
        assignment[order[:n_test]] = TEST
        assignment[order[n_test : n_test + n_valid]] = VALID
    elif by == "user":
        order, rank, count = _rank_within_user(data.train[:, 0], key)
        n_test = _held_out_counts(count, r_test).clamp(max=count - 1)
        n_valid = torch.minimum(_held_out_counts(count, r_valid), count - 1 - n_test).clamp(min=0)
        assignment[order] = torch.where(rank < n_test, TEST, torch.where(rank < n_test + n_valid, VALID, TRAIN))
    else:
        raise ValueError(f"by must be 'user' or 'global', got {by!r}")
    return _apply(data, assignment, {"kind": "random", "by": by, "ratios": list(ratios), "seed": seed})


def split_leave_one_out(data: InteractionData, order: str = "time", n_valid: int = 1, seed: int = 0) -> InteractionData:
    """Leave-one-out: each user's last pair (by time, or random) is test, the ``n_valid`` before it
    validation; users with fewer than ``n_valid + 2`` pairs keep everything in train."""
    _require_unsplit(data)
    if order == "time":
        if not data.timestamps or "train" not in data.timestamps:
            raise ValueError(f"{data.name} has no timestamps; use order='random'")
        key = data.timestamps["train"].double()
    elif order == "random":
        key = torch.rand(len(data.train), generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    else:
        raise ValueError(f"order must be 'time' or 'random', got {order!r}")
    sorted_rows, rank, count = _rank_within_user(data.train[:, 0], key)
    from_end = count - 1 - rank
    eligible = count >= n_valid + 2
    assignment = torch.full((len(data.train),), TRAIN, dtype=torch.long)
    assignment[sorted_rows] = torch.where(
        eligible & (from_end == 0), TEST, torch.where(eligible & (from_end <= n_valid), VALID, TRAIN)
    )
    return _apply(data, assignment, {"kind": "leave_one_out", "order": order, "n_valid": n_valid, "seed": seed})


def holdout_from_train(data: InteractionData, ratio: float = 0.1, seed: int = 0) -> InteractionData:
    """Carve a per-user validation split out of pre-split training data (NGCF files have none)."""
    if len(data.valid):
        raise ValueError(f"{data.name} already has a validation split")
    key = torch.rand(len(data.train), generator=torch.Generator().manual_seed(seed))
    sorted_rows, rank, count = _rank_within_user(data.train[:, 0], key)
    n_valid = _held_out_counts(count, ratio).clamp(max=count - 1)
    is_valid = torch.zeros(len(data.train), dtype=torch.bool)
    is_valid[sorted_rows] = rank < n_valid
    stamps = data.timestamps or {}
    return replace(
        data,
        train=data.train[~is_valid],
        valid=data.train[is_valid],
        train_ratings=None if data.train_ratings is None else data.train_ratings[~is_valid],
        timestamps=(
            {**stamps, "train": stamps["train"][~is_valid], "valid": stamps["train"][is_valid]}
            if "train" in stamps
            else data.timestamps
        ),
        meta={**data.meta, "split": {**data.meta.get("split", {}), "holdout": ratio, "holdout_seed": seed}},
    )
