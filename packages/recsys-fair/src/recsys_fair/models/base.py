"""The interface every recommender of recsys-fair implements (recsys-common.md, section 1).

``embeddings() -> (user_repr [U, d'], item_repr [I, d'])``; scores are dot products of the final
representations, so ``full_scores`` is one dense matmul per user chunk; ``loss(users, pos, neg)``
returns a dict with the total under ``"loss"`` plus its named parts. ``forward`` is ``loss``, so a
``DistributedDataParallel`` wrapper sees the whole training computation. ``config`` holds the
constructor arguments (without the data) and ``from_data(data, **config)`` rebuilds the model,
including graphs, from a dataset.

Training hooks used by :class:`recsys_fair.Trainer`: ``make_optimizers(lr)`` (one Adam over all
parameters by default; FDA adds its augmentation optimizer, JMP-GCF keeps one per stage) and
``train_epoch(step_model, sampler, optimizers, epoch)`` (one pass of BPR steps by default; FDA runs
its task and augmentation passes, JMP-GCF switches stages) and ``may_stop_early(epoch)``. Models that
need none of them inherit the defaults.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from lab_common import all_reduce_mean, ensure_finite

from ..data.dataset import InteractionData
from .graph import transpose_csr


class Recommender(nn.Module, metaclass=abc.ABCMeta):
    """Base class: dot-product scoring over ``embeddings()``; subclasses define ``embeddings`` and ``loss``."""

    config: dict[str, Any]

    @classmethod
    def from_data(cls, data: InteractionData, **config: Any) -> Recommender:
        return cls(data.n_users, data.n_items, **config)

    @abc.abstractmethod
    def embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Final ``[U, d]`` user and ``[I, d]`` item representations."""

    @abc.abstractmethod
    def loss(self, users: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor) -> dict[str, torch.Tensor]:
        """Training loss parts of a batch; ``"loss"`` is the total that is back-propagated."""

    def score(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """``[B]`` scores of the pairs ``(users[b], items[b])``."""
        user_repr, item_repr = self.embeddings()
        return (user_repr[users] * item_repr[items]).sum(-1)

    def full_scores(self, users: torch.Tensor) -> torch.Tensor:
        """``[len(users), n_items]`` scores of every item (call it on a chunk of users)."""
        user_repr, item_repr = self.embeddings()
        return user_repr[users] @ item_repr.T

    def forward(self, users: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.loss(users, positives, negatives)

    # ------------------------------------------------------------------ training hooks
    def make_optimizers(self, lr: float) -> dict[str, torch.optim.Optimizer]:
        """The optimizers of training by name; their states are checkpointed by the trainer."""
        return {"model": torch.optim.Adam(self.parameters(), lr=lr)}

    def train_epoch(
        self,
        step_model: nn.Module,
        batches: Callable[[], Iterable[tuple[torch.Tensor, ...]]],
        optimizers: dict[str, torch.optim.Optimizer],
        epoch: int,
    ) -> dict[str, float]:
        """One epoch of updates; returns the mean of each loss part over the epoch's batches.

        ``step_model`` is this model or its DDP wrapper (call it for the loss so gradients are
        synchronised); ``batches()`` yields ``(users, positives, negatives)`` on the model's device,
        a fresh pass over the epoch's triples each time it is called.
        """
        return run_pass(step_model, batches(), optimizers["model"], f"epoch {epoch}")

    def may_stop_early(self, epoch: int) -> bool:
        """Whether early stopping may end training after ``epoch`` (JMP-GCF: only in its last stage)."""
        return True


def run_pass(
    step_model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, ...]],
    optimizer: torch.optim.Optimizer,
    where: str,
    loss_fn: Callable[..., dict[str, torch.Tensor]] | None = None,
) -> dict[str, float]:
    """Minimise ``loss_fn(*batch)["loss"]`` (default: ``step_model(*batch)``) over ``batches`` with
    ``optimizer``; the mean of each loss part, averaged over processes. A non-finite loss raises
    :class:`lab_common.NonFiniteLossError` before the update."""
    loss_fn = loss_fn or step_model
    totals: dict[str, torch.Tensor] = {}
    n_batches = 0
    for index, batch in enumerate(batches):
        parts = loss_fn(*batch)
        ensure_finite(parts["loss"], f"{where}, batch {index}")
        optimizer.zero_grad(set_to_none=True)
        parts["loss"].backward()
        optimizer.step()
        for name, value in parts.items():
            totals[name] = totals.get(name, 0.0) + value.detach()
        n_batches += 1
    return {name: float(all_reduce_mean(total / max(n_batches, 1))) for name, total in totals.items()}


class GraphRecommender(Recommender):
    """A recommender that propagates over a fixed sparse adjacency ``self.adjacency``.

    The adjacency is an attribute, not a buffer: it is rebuilt from data (never saved in
    checkpoints), follows ``.to(device)``, and stays out of DDP's buffer broadcast (sparse CSR
    tensors cannot be broadcast).
    """

    adjacency: torch.Tensor
    adjacency_t: torch.Tensor

    def set_adjacency(self, adjacency: torch.Tensor) -> None:
        """Keep ``adjacency`` and its transpose (for the backward pass of propagation)."""
        self.adjacency, self.adjacency_t = adjacency, transpose_csr(adjacency)

    def _apply(self, fn, recurse: bool = True):
        super()._apply(fn, recurse)
        self.adjacency, self.adjacency_t = fn(self.adjacency), fn(self.adjacency_t)
        return self
