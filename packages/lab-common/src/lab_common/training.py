"""Small pieces every training loop of the lab shares.

The loops themselves live with their methods (a recommender's epoch, AdaSG's
game, a restoration network's iterations); these helpers keep the behaviour
they have in common identical: a non-finite loss stops training with a clear
error, early stopping follows one rule, and the per-epoch history returned by
``fit(...)`` has one shape.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

import torch

from .errors import NonFiniteLossError


def ensure_finite(loss: torch.Tensor | float, where: str) -> None:
    """Raise :class:`NonFiniteLossError` if ``loss`` is NaN or infinite.

    ``where`` says when it happened (``"epoch 3, batch 17"``) and appears in
    the message. Call it before ``backward()`` so the weights stay untouched.
    """
    value = float(loss.detach()) if isinstance(loss, torch.Tensor) else float(loss)
    if not math.isfinite(value):
        raise NonFiniteLossError(
            f"non-finite loss ({value}) at {where}; training stopped before the update, "
            "the last saved checkpoint is intact (lower the learning rate or check the data)"
        )


class History:
    """Per-epoch records (dicts of numbers) returned by every ``fit(...)``."""

    def __init__(self, records: list[dict[str, Any]] | None = None):
        self.records: list[dict[str, Any]] = list(records or [])

    def append(self, record: Mapping[str, Any]) -> None:
        self.records.append(dict(record))

    def column(self, key: str) -> list[Any]:
        """The values of ``key`` in the records that have it, in order."""
        return [r[key] for r in self.records if key in r]

    def best(self, key: str, mode: str = "max") -> dict[str, Any]:
        """The record with the best value of ``key``."""
        candidates = [r for r in self.records if key in r]
        if not candidates:
            raise KeyError(f"no record has {key!r}; keys seen: {sorted({k for r in self.records for k in r})}")
        choose = max if mode == "max" else min
        return choose(candidates, key=lambda r: r[key])

    def state_dict(self) -> dict[str, Any]:
        return {"records": [dict(r) for r in self.records]}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.records = [dict(r) for r in state["records"]]

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.records[index]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def __repr__(self) -> str:
        return f"History({len(self.records)} records, last={self.records[-1] if self.records else None})"


class EarlyStopping:
    """Stop when a monitored metric has not improved for ``patience`` checks.

    ``step(value)`` returns True when the value is a new best (the caller then
    keeps a best checkpoint); ``should_stop`` turns True after ``patience``
    checks without improvement by more than ``min_delta``.
    """

    def __init__(self, patience: int = 10, mode: str = "max", min_delta: float = 0.0):
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
        self.patience = patience
        self.mode = mode
        self.min_delta = min_delta
        self.best: float | None = None
        self.bad_checks = 0

    def step(self, value: float) -> bool:
        improved = self.best is None or (
            value > self.best + self.min_delta if self.mode == "max" else value < self.best - self.min_delta
        )
        if improved:
            self.best = float(value)
            self.bad_checks = 0
        else:
            self.bad_checks += 1
        return improved

    @property
    def should_stop(self) -> bool:
        return self.patience > 0 and self.bad_checks >= self.patience

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "bad_checks": self.bad_checks}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.best = state["best"]
        self.bad_checks = state["bad_checks"]
