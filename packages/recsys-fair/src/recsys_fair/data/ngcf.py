"""Readers of the NGCF/LightGCN split files ``train.txt``/``test.txt`` (recsys-common.md, section 3).

Each line is ``uid i1 i2 ...``, space-separated and 0-based; a test line with a user id only has no
test items. Ids are kept as they are, so ``n_users = max uid + 1`` and ``n_items = max item + 1``
over both files.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from lab_common import DataFormatError

from .dataset import InteractionData
from .text import id_lists


def read_user_lists(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """``[n, 2]`` (user, item) rows in file order, and ``[n]`` line numbers of each row."""
    _, pairs, lines = id_lists(path)
    return torch.from_numpy(pairs), torch.from_numpy(lines)


def check_users_trained(
    path: Path, pairs: torch.Tensor, lines: torch.Tensor, train: torch.Tensor, n_users: int
) -> None:
    """Every user with held-out items in ``path`` must have training items."""
    trained = torch.bincount(train[:, 0], minlength=n_users) > 0
    bad = ~trained[pairs[:, 0]]
    if bad.any():
        row = int(bad.nonzero()[0])
        raise DataFormatError(
            path,
            int(lines[row]),
            "a user that also has training items",
            f"user {int(pairs[row, 0])} absent from training",
        )


def load_ngcf(path: str | os.PathLike, name: str | None = None) -> InteractionData:
    """Read an NGCF/LightGCN data folder (Gowalla, Yelp2018, Amazon-Book) as train + test."""
    folder = Path(path)
    train, _ = read_user_lists(folder / "train.txt")
    if len(train) == 0:
        raise DataFormatError(folder / "train.txt", None, "at least one training item", "only user ids")
    test, test_lines = read_user_lists(folder / "test.txt")
    both = torch.cat([train, test])
    n_users, n_items = int(both[:, 0].max()) + 1, int(both[:, 1].max()) + 1
    check_users_trained(folder / "test.txt", test, test_lines, train, n_users)
    return InteractionData(
        n_users=n_users,
        n_items=n_items,
        train=train,
        test=test,
        name=name or folder.name,
        meta={"files": [str(folder / "train.txt"), str(folder / "test.txt")], "format": "ngcf"},
    )
