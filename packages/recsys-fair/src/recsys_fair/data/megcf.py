"""Reader of MEGCF's released data folders (recsys-common.md, section 3; megcf.md, section 2).

Files: ``train.txt``, ``validation.txt``, ``test.txt`` (``user item item ...``, 0-based; one item
per user in validation and test), ``i2e_all.txt`` and the per-modality ``i2e_{title,review,visual}
.txt`` (``item entity entity ...``, a line may list no entity; ``i2e_review.txt`` is optional), and
optionally ``item2sentiment.pickle`` (dict item -> list of ``'positive'``/``'negative'``), read with
:func:`lab_common.restricted_load`, which refuses every pickled global so nothing can execute. The
precomputed ``origin/`` and ``all/`` adjacency files are ignored: graphs are rebuilt from the links.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from lab_common import DataFormatError, restricted_load

from .dataset import InteractionData, csr_from_pairs, pair_keys
from .ngcf import check_users_trained, read_user_lists
from .text import id_lists

MODALITIES = ("title", "review", "visual")
SENTIMENT_LABELS = {"positive": 1, "negative": 0}


def _read_links(path: Path) -> torch.Tensor:
    """``[n, 2]`` (item, entity) links of an ``i2e_*.txt`` file."""
    return torch.from_numpy(id_lists(path)[1])


def read_sentiment(path: Path, n_items: int) -> torch.Tensor:
    """``[n_items, 2]`` (positive, total) review counts from ``item2sentiment.pickle``."""
    content = restricted_load(path)
    if not isinstance(content, dict):
        raise DataFormatError(path, None, "a dict item -> list of labels", type(content).__name__)
    counts = torch.zeros(n_items, 2, dtype=torch.long)
    for item, labels in content.items():
        if not isinstance(item, int) or not 0 <= item < n_items:
            raise DataFormatError(path, f"key {item!r}", f"an integer item id in [0, {n_items})", repr(item))
        if not isinstance(labels, list) or any(label not in SENTIMENT_LABELS for label in labels):
            raise DataFormatError(path, f"item {item}", "a list of 'positive'/'negative'", repr(labels)[:80])
        counts[item] = torch.tensor([sum(SENTIMENT_LABELS[label] for label in labels), len(labels)])
    return counts


def _one_per_user(path: Path, pairs: torch.Tensor, lines: torch.Tensor) -> None:
    counts = torch.bincount(pairs[:, 0])
    if (counts > 1).any():
        user = int((counts > 1).nonzero()[0])
        row = int((pairs[:, 0] == user).nonzero()[1])
        raise DataFormatError(path, int(lines[row]), "exactly one held-out item per user", f"{int(counts[user])} items")


def _in_train(pairs: torch.Tensor, train: torch.Tensor, n_items: int) -> torch.Tensor:
    return torch.isin(pair_keys(pairs, n_items), pair_keys(train, n_items))


def load_megcf(
    path: str | os.PathLike,
    validation: str = "in_train",
    drop_test_from_train: bool = False,
    keep_duplicates: bool = False,
    name: str | None = None,
) -> InteractionData:
    """Read a MEGCF data folder (amazon-beauty, Art, taobao).

    ``validation="in_train"`` keeps the shipped files (every validation item is also in train, so it
    is not held out; reported in ``meta["warnings"]``); ``"holdout"`` removes each user's validation
    item from train so it can select models. ``drop_test_from_train`` removes test items that also
    occur in the user's training list (Art). ``keep_duplicates`` keeps duplicated training rows
    (MEGCF's sampler draws positives from the raw list).
    """
    if validation not in ("in_train", "holdout"):
        raise ValueError(f"validation must be 'in_train' or 'holdout', got {validation!r}")
    folder = Path(path)
    train, _ = read_user_lists(folder / "train.txt")
    valid, valid_lines = read_user_lists(folder / "validation.txt")
    test, test_lines = read_user_lists(folder / "test.txt")
    _one_per_user(folder / "validation.txt", valid, valid_lines)
    _one_per_user(folder / "test.txt", test, test_lines)

    links_all = _read_links(folder / "i2e_all.txt")
    modal = {m: _read_links(folder / f"i2e_{m}.txt") for m in MODALITIES if (folder / f"i2e_{m}.txt").exists()}
    entity_ids = torch.unique(links_all[:, 1])
    n_entities = len(entity_ids)
    if n_entities and int(entity_ids[-1]) != n_entities - 1:
        raise DataFormatError(
            folder / "i2e_all.txt",
            None,
            f"entity ids 0..{n_entities - 1} (contiguous)",
            f"max id {int(entity_ids[-1])}",
        )
    for modality, links in modal.items():
        if len(links) and int(links[:, 1].max()) >= n_entities:
            raise DataFormatError(
                folder / f"i2e_{modality}.txt",
                None,
                f"entity ids < {n_entities} (those of i2e_all.txt)",
                str(int(links[:, 1].max())),
            )

    everything = torch.cat([train, valid, test])
    n_users = int(everything[:, 0].max()) + 1
    n_items = int(torch.cat([everything[:, 1], links_all[:, 0]]).max()) + 1
    check_users_trained(folder / "test.txt", test, test_lines, train, n_users)
    check_users_trained(folder / "validation.txt", valid, valid_lines, train, n_users)

    warnings = []
    n_valid_in_train = int(_in_train(valid, train, n_items).sum())
    if n_valid_in_train:
        warnings.append(f"{n_valid_in_train} of {len(valid)} validation items are also in the user's training list")
    n_test_in_train = int(_in_train(test, train, n_items).sum())
    if n_test_in_train:
        warnings.append(f"{n_test_in_train} of {len(test)} test items are also in the user's training list")
    rows_read = len(train)
    if validation == "holdout":
        train = train[~torch.isin(pair_keys(train, n_items), pair_keys(valid, n_items))]
    if drop_test_from_train:
        train = train[~torch.isin(pair_keys(train, n_items), pair_keys(test, n_items))]

    sentiment_path = folder / "item2sentiment.pickle"
    item_reviews = read_sentiment(sentiment_path, n_items) if sentiment_path.exists() else None
    item_entities = {m: csr_from_pairs(links[:, 0], links[:, 1], (n_items, n_entities)) for m, links in modal.items()}
    if not item_entities and len(links_all):
        item_entities = {"all": csr_from_pairs(links_all[:, 0], links_all[:, 1], (n_items, n_entities))}
    return InteractionData(
        n_users=n_users,
        n_items=n_items,
        train=train,
        valid=valid,
        test=test,
        item_entities=item_entities or None,
        n_entities=n_entities,
        item_reviews=item_reviews,
        name=name or folder.name,
        keep_duplicates=keep_duplicates,
        meta={
            "format": "megcf",
            "folder": str(folder),
            "validation": validation,
            "drop_test_from_train": drop_test_from_train,
            "train_rows_read": rows_read,
            "entity_links_all": len(links_all),
            "warnings": warnings,
        },
    )
