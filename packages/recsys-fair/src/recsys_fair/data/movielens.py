"""Readers of MovieLens-100K and MovieLens-1M as GroupLens publishes them (recsys-common.md, section 3).

- 100K: ``u.data`` (tab-separated ``user item rating timestamp``), ``u.user``
  (``user|age|gender|occupation|zip``; the shared copy starts with a blank line, which is skipped),
  optional ``u.item`` (latin-1, 24 ``|``-separated fields ending with 19 genre flags).
- 1M: ``ratings.dat`` (``UserID::MovieID::Rating::Timestamp``), ``users.dat``
  (``UserID::Gender::Age::Occupation::Zip``), optional ``movies.dat`` (``MovieID::Title::Genres``,
  latin-1).

Gender becomes the feature ``gender`` with F = 1, M = 0 (FDA's encoding) and ``sensitive="gender"``.
Every rating is an interaction unless ``min_rating`` is given (FDA, official code). Ids are re-indexed
to contiguous ranges in ascending raw-id order, or ``raw id - 1`` with ``keep_raw_ids``. Genres become
``item_entities={"genre": ...}`` and training-rating sentiment ``item_reviews`` (our MEGCF adaptation,
assumed), derived after the split.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from lab_common import DataFormatError

from .dataset import InteractionData, csr_from_pairs
from .splits import k_core, split_leave_one_out, split_random
from .text import check_range, int_table, records, to_int

GENDERS = {"F": 1, "M": 0}
GENRES_100K = 19


def _ratings(path: Path, sep: str) -> np.ndarray:
    """``[n, 4]`` int64 (user, item, rating, timestamp) with raw 1-based ids; ratings must be 1..5."""
    rows, lines = int_table(path, sep, ("user id", "item id", "rating", "timestamp"))
    check_range(path, rows[:, 0], lines, "a 1-based user id", 1)
    check_range(path, rows[:, 1], lines, "a 1-based item id", 1)
    check_range(path, rows[:, 2], lines, "a rating", 1, 5)
    return rows


def _users(path: Path, sep: str, order: tuple[int, int, int, int]) -> dict[int, tuple[int, int, int]]:
    """raw user id -> (gender, age, occupation code); ``order`` gives the field positions."""
    id_at, gender_at, age_at, occupation_at = order
    users: dict[int, tuple[int, int, int]] = {}
    occupations: dict[str, int] = {}
    for line_no, fields in records(path, sep, 5, encoding="latin-1"):
        user = to_int(path, line_no, fields[id_at], "user id", low=1)
        if fields[gender_at] not in GENDERS:
            raise DataFormatError(path, line_no, "gender M or F", repr(fields[gender_at]))
        age = to_int(path, line_no, fields[age_at], "age")
        occupation = occupations.setdefault(fields[occupation_at], len(occupations))
        users[user] = (GENDERS[fields[gender_at]], age, occupation)
    return users


def _genres_100k(path: Path) -> dict[int, list[int]]:
    genres = {}
    for line_no, fields in records(path, "|", 5 + GENRES_100K, encoding="latin-1"):
        item = to_int(path, line_no, fields[0], "movie id", low=1)
        flags = fields[5:]
        if any(flag not in ("0", "1") for flag in flags):
            raise DataFormatError(path, line_no, "19 genre flags 0/1", "|".join(flags))
        genres[item] = [g for g, flag in enumerate(flags) if flag == "1"]
    return genres


def _genres_1m(path: Path) -> tuple[dict[int, list[int]], int]:
    names: dict[str, int] = {}
    raw: dict[int, list[str]] = {}
    for line_no, fields in records(path, "::", 3, encoding="latin-1"):
        raw[to_int(path, line_no, fields[0], "movie id", low=1)] = fields[2].split("|")
    for name in sorted({g for gs in raw.values() for g in gs}):
        names[name] = len(names)
    return {item: [names[g] for g in gs] for item, gs in raw.items()}, len(names)


def load_movielens(
    path: str | os.PathLike,
    *,
    min_rating: int | None = None,
    keep_raw_ids: bool = False,
    min_user_interactions: int = 0,
    min_item_interactions: int = 0,
    split: str | None = "random",
    ratios: tuple[float, float, float] = (0.8, 0.1, 0.1),
    seed: int = 0,
) -> InteractionData:
    """Read MovieLens-100K or -1M from its folder and split it.

    ``split``: ``"random"`` (per user, ``ratios`` train/valid/test), ``"global"`` (one cut over all
    pairs), ``"loo_time"`` / ``"loo_random"`` (leave-one-out), or None (everything in train).
    ``min_user_interactions``/``min_item_interactions`` apply an iterative k-core filter first.
    """
    folder = Path(path)
    if (folder / "u.data").exists():
        variant, ratings = "100k", _ratings(folder / "u.data", "\t")
        users_file, users = folder / "u.user", _users(folder / "u.user", "|", (0, 2, 1, 3))
        genres, n_genres = (_genres_100k(folder / "u.item"), GENRES_100K) if (folder / "u.item").exists() else ({}, 0)
        files = ["u.data", "u.user", "u.item"]
    elif (folder / "ratings.dat").exists():
        variant, ratings = "1m", _ratings(folder / "ratings.dat", "::")
        users_file, users = folder / "users.dat", _users(folder / "users.dat", "::", (0, 1, 2, 3))
        genres, n_genres = _genres_1m(folder / "movies.dat") if (folder / "movies.dat").exists() else ({}, 0)
        files = ["ratings.dat", "users.dat", "movies.dat"]
    else:
        raise DataFormatError(
            folder, None, "a MovieLens folder with u.data + u.user or ratings.dat + users.dat", "neither"
        )
    missing = np.setdiff1d(np.unique(ratings[:, 0]), np.fromiter(users, dtype=np.int64))
    if len(missing):
        raise DataFormatError(users_file, None, "a line for every user who rated", f"no line for user {missing[0]}")
    if min_rating is not None:
        ratings = ratings[ratings[:, 2] >= min_rating]
    if min_user_interactions or min_item_interactions:
        ratings = ratings[k_core(ratings[:, 0], ratings[:, 1], min_user_interactions, min_item_interactions)]
    if len(ratings) == 0:
        raise DataFormatError(folder, None, "at least one interaction after filtering", "none")

    if keep_raw_ids:
        user_ids = np.arange(1, max(users) + 1)
        item_ids = np.arange(1, max(int(ratings[:, 1].max()), max(genres, default=0)) + 1)
    else:
        user_ids, item_ids = np.unique(ratings[:, 0]), np.unique(ratings[:, 1])
    user_index = np.searchsorted(user_ids, ratings[:, 0])
    item_index = np.searchsorted(item_ids, ratings[:, 1])
    features = np.array([users.get(int(u), (0, 0, 0)) for u in user_ids], dtype=np.int64).reshape(-1, 3)

    item_entities = None
    if genres:
        pairs = [(i, g) for i, raw in enumerate(item_ids) for g in genres.get(int(raw), [])]
        pairs_t = torch.tensor(pairs, dtype=torch.long).reshape(-1, 2)
        item_entities = {"genre": csr_from_pairs(pairs_t[:, 0], pairs_t[:, 1], (len(item_ids), n_genres))}
    data = InteractionData(
        n_users=len(user_ids),
        n_items=len(item_ids),
        train=torch.from_numpy(np.stack([user_index, item_index], 1)),
        train_ratings=torch.from_numpy(ratings[:, 2]).float(),
        timestamps={"train": torch.from_numpy(ratings[:, 3])},
        user_features={
            "gender": torch.from_numpy(features[:, 0]),
            "age": torch.from_numpy(features[:, 1]),
            "occupation": torch.from_numpy(features[:, 2]),
        },
        sensitive="gender",
        item_entities=item_entities,
        n_entities=n_genres if genres else 0,
        user_ids=user_ids,
        item_ids=item_ids,
        name=f"movielens-{variant}",
        meta={"format": f"movielens-{variant}", "files": [str(folder / f) for f in files], "min_rating": min_rating},
    )
    if split is None:
        return data.with_reviews_from_ratings()
    if split in ("random", "global"):
        return split_random(data, ratios=ratios, by="user" if split == "random" else "global", seed=seed)
    if split in ("loo_time", "loo_random"):
        return split_leave_one_out(data, order=split[4:], seed=seed)
    raise ValueError(f"split must be 'random', 'global', 'loo_time', 'loo_random' or None, got {split!r}")
