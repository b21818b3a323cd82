"""``InteractionData``: the one dataset type of recsys-fair (recsys-common.md, section 2).

An immutable container of 0-based ``torch.long`` index tensors: training, validation and test
(user, item) pairs, optional explicit ratings and timestamps, user features with one binary
sensitive attribute, optional item-entity links (one CSR matrix per modality over a single entity
vocabulary) and optional per-item review sentiment counts. Everything is validated at construction;
an invalid field raises :class:`lab_common.DataFormatError` naming the field, the offending index,
what was expected and what was found.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lab_common import DataFormatError

SPLITS = ("train", "valid", "test")


def pair_keys(pairs: torch.Tensor, n_items: int) -> torch.Tensor:
    """``user * n_items + item`` for every row of a ``[n, 2]`` pair tensor."""
    return pairs[:, 0] * n_items + pairs[:, 1]


def _empty_pairs() -> torch.Tensor:
    return torch.empty(0, 2, dtype=torch.long)


def first_occurrences(keys: torch.Tensor) -> torch.Tensor:
    """Sorted positions of the first occurrence of every distinct value of ``keys``."""
    order = torch.argsort(keys, stable=True)
    sorted_keys = keys[order]
    first = torch.ones_like(sorted_keys, dtype=torch.bool)
    first[1:] = sorted_keys[1:] != sorted_keys[:-1]
    return order[first].sort().values


def make_csr(crow: torch.Tensor, col: torch.Tensor, values: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """``torch.sparse_csr_tensor`` without its "beta state" warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")
        return torch.sparse_csr_tensor(crow, col, values, size=shape)


def csr_from_pairs(rows: torch.Tensor, cols: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """A binary float32 CSR matrix with a 1 at every (row, col), duplicates collapsed."""
    keys = torch.unique(rows * shape[1] + cols)
    rows, cols = keys // shape[1], keys % shape[1]
    crow = torch.zeros(shape[0] + 1, dtype=torch.long)
    crow[1:] = torch.cumsum(torch.bincount(rows, minlength=shape[0]), 0)
    return make_csr(crow, cols, torch.ones(len(cols)), shape)


def csr_rows(csr: torch.Tensor, users: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The non-zeros of rows ``users`` of a CSR matrix as (position in ``users``, column) pairs."""
    crow, col = csr.crow_indices(), csr.col_indices()
    start, counts = crow[users], crow[users + 1] - crow[users]
    local = torch.repeat_interleave(torch.arange(len(users)), counts)
    offsets = torch.arange(int(counts.sum())) - torch.repeat_interleave(torch.cumsum(counts, 0) - counts, counts)
    return local, col[start[local] + offsets]


@dataclass(frozen=True, eq=False)
class InteractionData:
    """Users, items and their interactions (recsys-common.md, section 2).

    ``item_entities`` maps a modality (``title``, ``review``, ``visual``, ``genre``) to a binary CSR
    matrix ``[n_items, n_entities]``; ``item_reviews`` is ``[n_items, 2]`` (positive, total).
    Duplicated training rows are dropped (and counted in ``meta["warnings"]``) unless
    ``keep_duplicates`` (MEGCF's samplers draw positives from the raw list).
    """

    n_users: int
    n_items: int
    train: torch.Tensor
    valid: torch.Tensor = field(default_factory=_empty_pairs)
    test: torch.Tensor = field(default_factory=_empty_pairs)
    train_ratings: torch.Tensor | None = None
    timestamps: dict[str, torch.Tensor] | None = None
    user_features: dict[str, torch.Tensor] = field(default_factory=dict)
    sensitive: str | None = None
    item_entities: dict[str, torch.Tensor] | None = None
    n_entities: int = 0
    item_reviews: torch.Tensor | None = None
    user_ids: np.ndarray | None = None
    item_ids: np.ndarray | None = None
    name: str = "data"
    meta: dict[str, Any] = field(default_factory=dict)
    keep_duplicates: bool = False

    def __post_init__(self) -> None:
        meta = dict(self.meta)
        meta["warnings"] = list(meta.get("warnings", []))
        set_ = object.__setattr__
        set_(self, "meta", meta)
        for split in SPLITS:
            set_(self, split, self._check_pairs(split, getattr(self, split)))
        if len(self.train) == 0:
            raise DataFormatError(self.name, "field train", "at least one training pair", "none")
        self._check_aligned()
        if not self.keep_duplicates:
            self._drop_train_duplicates()
        self._check_features()
        self._check_entities()
        self._check_reviews()

    # ------------------------------------------------------------------ validation
    def _check_pairs(self, split: str, pairs: torch.Tensor) -> torch.Tensor:
        pairs = torch.as_tensor(pairs, dtype=torch.long).reshape(-1, 2).contiguous()
        for column, limit, what in ((0, self.n_users, "user"), (1, self.n_items, "item")):
            bad = (pairs[:, column] < 0) | (pairs[:, column] >= limit)
            if bad.any():
                row = int(bad.nonzero()[0])
                raise DataFormatError(
                    self.name, f"field {split}, row {row}", f"{what} ids in [0, {limit})", str(int(pairs[row, column]))
                )
        return pairs

    def _check_aligned(self) -> None:
        if self.train_ratings is not None and len(self.train_ratings) != len(self.train):
            raise DataFormatError(
                self.name, "field train_ratings", f"{len(self.train)} values", str(len(self.train_ratings))
            )
        for split, stamps in (self.timestamps or {}).items():
            if len(stamps) != len(getattr(self, split)):
                raise DataFormatError(
                    self.name, f"field timestamps[{split}]", f"{len(getattr(self, split))} values", str(len(stamps))
                )

    def _drop_train_duplicates(self) -> None:
        keep = first_occurrences(pair_keys(self.train, self.n_items))
        dropped = len(self.train) - len(keep)
        if not dropped:
            return
        set_ = object.__setattr__
        set_(self, "train", self.train[keep])
        if self.train_ratings is not None:
            set_(self, "train_ratings", self.train_ratings[keep])
        if self.timestamps and "train" in self.timestamps:
            set_(self, "timestamps", {**self.timestamps, "train": self.timestamps["train"][keep]})
        self.meta["warnings"].append(f"{dropped} duplicated (user, item) training rows dropped")
        self.meta["train_duplicates_dropped"] = dropped

    def _check_features(self) -> None:
        for name, values in self.user_features.items():
            if len(values) != self.n_users:
                raise DataFormatError(self.name, f"user feature {name!r}", f"{self.n_users} values", str(len(values)))
        if self.sensitive is None:
            return
        if self.sensitive not in self.user_features:
            raise DataFormatError(
                self.name, "field sensitive", f"one of the user features {sorted(self.user_features)}", self.sensitive
            )
        values = torch.unique(self.user_features[self.sensitive])
        if values.tolist() != [0, 1]:
            raise DataFormatError(
                self.name, f"user feature {self.sensitive!r}", "exactly the values {0, 1}", str(values.tolist())
            )

    def _check_entities(self) -> None:
        for modality, links in (self.item_entities or {}).items():
            if tuple(links.shape) != (self.n_items, self.n_entities):
                raise DataFormatError(
                    self.name,
                    f"item_entities[{modality!r}]",
                    f"shape ({self.n_items}, {self.n_entities})",
                    str(tuple(links.shape)),
                )

    def _check_reviews(self) -> None:
        if self.item_reviews is None:
            return
        reviews = self.item_reviews
        if tuple(reviews.shape) != (self.n_items, 2):
            raise DataFormatError(
                self.name, "field item_reviews", f"shape ({self.n_items}, 2)", str(tuple(reviews.shape))
            )
        bad = (reviews[:, 0] < 0) | (reviews[:, 0] > reviews[:, 1])
        if bad.any():
            item = int(bad.nonzero()[0])
            raise DataFormatError(
                self.name, f"item_reviews, item {item}", "0 <= positive <= total", str(reviews[item].tolist())
            )

    # ------------------------------------------------------------------ derived
    @cached_property
    def _train_csr(self) -> torch.Tensor:
        return csr_from_pairs(self.train[:, 0], self.train[:, 1], (self.n_users, self.n_items))

    def train_csr(self) -> torch.Tensor:
        """User x item binary CSR of the training pairs (duplicates collapsed), cached."""
        return self._train_csr

    def split_csr(self, *splits: str) -> torch.Tensor:
        """User x item binary CSR of the union of ``splits``."""
        pairs = torch.cat([getattr(self, s) for s in splits])
        return csr_from_pairs(pairs[:, 0], pairs[:, 1], (self.n_users, self.n_items))

    @cached_property
    def train_keys(self) -> torch.Tensor:
        """Sorted distinct ``user * n_items + item`` keys of the training pairs (for membership tests)."""
        return torch.unique(pair_keys(self.train, self.n_items))

    def groups(self) -> torch.Tensor:
        """The binary sensitive feature ``[n_users]`` (raises ``ValueError`` when there is none)."""
        if self.sensitive is None:
            raise ValueError(f"{self.name}: no sensitive user attribute; user features: {sorted(self.user_features)}")
        return self.user_features[self.sensitive]

    def item_entity_pairs(self, modalities: list[str] | None = None) -> torch.Tensor:
        """``[n, 2]`` distinct (item, entity) links over ``modalities`` (all by default)."""
        chosen = [m for m in (self.item_entities or {}) if modalities is None or m in modalities]
        if not chosen:
            return _empty_pairs()
        pairs = torch.cat([self.item_entities[m].to_sparse_coo().indices().T for m in chosen])
        keys = torch.unique(pair_keys(pairs, max(self.n_entities, 1)))
        return torch.stack([keys // self.n_entities, keys % self.n_entities], 1)

    def fingerprint(self) -> dict[str, Any]:
        """Sizes plus a SHA-1 of the training pairs: checkpoints refuse to resume on other data."""
        digest = hashlib.sha1(self.train.numpy().tobytes()).hexdigest()
        return {"n_users": self.n_users, "n_items": self.n_items, "n_train": len(self.train), "train_sha1": digest}

    def stats(self) -> dict[str, Any]:
        """Sizes, density, duplicates dropped, group sizes, users without training items, entity links."""
        train_users = torch.bincount(self.train[:, 0], minlength=self.n_users)
        out: dict[str, Any] = {
            "name": self.name,
            "users": self.n_users,
            "items": self.n_items,
            **{f"{s}_pairs": len(getattr(self, s)) for s in SPLITS},
            "density": len(self.train) / (self.n_users * self.n_items),
            "duplicates_dropped": self.meta.get("train_duplicates_dropped", 0),
            "users_without_train": int((train_users == 0).sum()),
        }
        if self.sensitive is not None:
            groups = self.groups()
            out["group_sizes"] = [int((groups == 0).sum()), int((groups == 1).sum())]
        if self.item_entities:
            out["entities"] = self.n_entities
            out["entity_links"] = {m: int(links.values().numel()) for m, links in self.item_entities.items()}
        if self.item_reviews is not None:
            out["reviews"] = int(self.item_reviews[:, 1].sum())
        return out

    def with_reviews_from_ratings(self, threshold: float = 4.0) -> InteractionData:
        """Per-item (positive, total) counts of the **training** ratings, positive = rating >= threshold.

        Our MEGCF adaptation to MovieLens (assumed, recsys-common.md section 3); computed from train
        only, so no held-out rating leaks into the sentiment weights.
        """
        if self.train_ratings is None:
            raise ValueError(f"{self.name}: no ratings to derive review sentiment from")
        items = self.train[:, 1]
        positive = torch.bincount(items[self.train_ratings >= threshold], minlength=self.n_items)
        total = torch.bincount(items, minlength=self.n_items)
        meta = {**self.meta, "item_reviews_from": f"train ratings >= {threshold}"}
        return replace(self, item_reviews=torch.stack([positive, total], 1), meta=meta)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike) -> Path:
        """Write ``.npz`` arrays plus a JSON header (never pickle); ``meta["latent"]`` is not saved."""
        path = Path(path)
        arrays: dict[str, np.ndarray] = {s: getattr(self, s).numpy() for s in SPLITS}
        if self.train_ratings is not None:
            arrays["train_ratings"] = self.train_ratings.numpy()
        for split, stamps in (self.timestamps or {}).items():
            arrays[f"timestamps/{split}"] = stamps.numpy()
        for name, values in self.user_features.items():
            arrays[f"feature/{name}"] = values.numpy()
        for modality, links in (self.item_entities or {}).items():
            arrays[f"entities/{modality}/crow"] = links.crow_indices().numpy()
            arrays[f"entities/{modality}/col"] = links.col_indices().numpy()
        if self.item_reviews is not None:
            arrays["item_reviews"] = self.item_reviews.numpy()
        for name in ("user_ids", "item_ids"):
            if getattr(self, name) is not None:
                arrays[name] = np.asarray(getattr(self, name)).astype(str)
        header = {
            "n_users": self.n_users,
            "n_items": self.n_items,
            "n_entities": self.n_entities,
            "sensitive": self.sensitive,
            "name": self.name,
            "keep_duplicates": self.keep_duplicates,
            "meta": {k: v for k, v in self.meta.items() if k != "latent"},
        }
        arrays["header"] = np.array(json.dumps(header, default=str))
        with open(path, "wb") as handle:
            np.savez_compressed(handle, **arrays)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> InteractionData:
        """Read a file written by :meth:`save` (``allow_pickle=False``)."""
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        header = json.loads(str(arrays.pop("header")))
        tensors = {k: torch.from_numpy(v) for k, v in arrays.items() if v.dtype.kind != "U"}
        n_entities = header["n_entities"]
        modalities = sorted({k.split("/")[1] for k in tensors if k.startswith("entities/")})
        entities = {
            m: make_csr(
                tensors[f"entities/{m}/crow"],
                tensors[f"entities/{m}/col"],
                torch.ones(len(tensors[f"entities/{m}/col"])),
                (header["n_items"], n_entities),
            )
            for m in modalities
        }
        return cls(
            n_users=header["n_users"],
            n_items=header["n_items"],
            train=tensors["train"],
            valid=tensors["valid"],
            test=tensors["test"],
            train_ratings=tensors.get("train_ratings"),
            timestamps={k.split("/")[1]: v for k, v in tensors.items() if k.startswith("timestamps/")} or None,
            user_features={k.split("/")[1]: v for k, v in tensors.items() if k.startswith("feature/")},
            sensitive=header["sensitive"],
            item_entities=entities or None,
            n_entities=n_entities,
            item_reviews=tensors.get("item_reviews"),
            user_ids=arrays.get("user_ids"),
            item_ids=arrays.get("item_ids"),
            name=header["name"],
            meta=header["meta"],
            keep_duplicates=header["keep_duplicates"],
        )
