"""Negative samplers (recsys-common.md, section 6).

Each epoch's draw is a pure function of ``(seed, epoch)``, so a resumed run redraws exactly what an
uninterrupted one would. Under ``torchrun`` every rank draws the same global batches and keeps its
own shard of each (rows ``rank::world_size``), so the ranks take the same number of steps and the
averaged gradient equals the single-process one.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from lab_common import get_rank, get_world_size

from .dataset import InteractionData

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch)


def sample_negatives(users: torch.Tensor, keys: torch.Tensor, n_items: int, generator: torch.Generator) -> torch.Tensor:
    """Uniform items not in each user's training set, by vectorised rejection.

    Draw all, test membership against the sorted keys ``u * n_items + i`` with ``searchsorted``,
    redraw only the rejected ones, repeat until none.
    """
    negatives = torch.randint(n_items, (len(users),), generator=generator)
    pending = torch.arange(len(users))
    while len(pending):
        candidate = users[pending] * n_items + negatives[pending]
        position = torch.searchsorted(keys, candidate).clamp(max=len(keys) - 1)
        pending = pending[keys[position] == candidate]
        negatives[pending] = torch.randint(n_items, (len(pending),), generator=generator)
    return negatives


def _check_not_saturated(data: InteractionData) -> None:
    counts = torch.bincount(data.train_keys // data.n_items, minlength=data.n_users)
    full = (counts >= data.n_items).nonzero()
    if len(full):
        raise ValueError(f"user {int(full[0])} has interacted with every item: no negative can be sampled")


def _shard(batch: Batch) -> Batch:
    rank, world = get_rank(), get_world_size()
    return tuple(t[rank::world] for t in batch) if world > 1 else batch


class PairwiseSampler:
    """Per-interaction triples (FDA, official code): every training pair repeated ``n_negatives``
    times, each copy with a uniform negative outside the user's training items; shuffled and cut
    into batches of ``batch_size`` (the last one smaller)."""

    def __init__(self, data: InteractionData, n_negatives: int = 1, batch_size: int = 2048, seed: int = 0):
        _check_not_saturated(data)
        self.data, self.n_negatives, self.batch_size, self.seed = data, n_negatives, batch_size, seed

    def epoch(self, epoch: int) -> Batch:
        """All shuffled ``(users, positives, negatives)`` of ``epoch``."""
        generator = epoch_generator(self.seed, epoch)
        pairs = self.data.train.repeat(self.n_negatives, 1)
        negatives = sample_negatives(pairs[:, 0], self.data.train_keys, self.data.n_items, generator)
        order = torch.randperm(len(pairs), generator=generator)
        return pairs[order, 0], pairs[order, 1], negatives[order]

    def __len__(self) -> int:
        return -(-len(self.data.train) * self.n_negatives // self.batch_size)

    def batches(self, epoch: int) -> Iterator[Batch]:
        users, positives, negatives = self.epoch(epoch)
        for start in range(0, len(users), self.batch_size):
            end = start + self.batch_size
            yield _shard((users[start:end], positives[start:end], negatives[start:end]))


class UserBatchSampler:
    """Per-user batches (LightGCN-TF style; MEGCF and JMP-GCF official code).

    ``n_train_rows // batch_size + 1`` batches per epoch; each holds ``batch_size`` distinct users
    drawn uniformly among users with training items (with replacement only when ``batch_size``
    exceeds their number, where the official code would crash (assumed)), one positive uniform over
    the user's training list (a multiset when the data keep duplicates) and one negative uniform over
    the items outside the user's training set.
    """

    def __init__(self, data: InteractionData, batch_size: int = 2048, seed: int = 0):
        _check_not_saturated(data)
        self.data, self.batch_size, self.seed = data, batch_size, seed
        order = torch.argsort(data.train[:, 0], stable=True)
        self._items = data.train[order, 1]
        counts = torch.bincount(data.train[:, 0], minlength=data.n_users)
        self._start = torch.cumsum(counts, 0) - counts
        self._counts = counts
        self._active = (counts > 0).nonzero().flatten()

    def __len__(self) -> int:
        return len(self.data.train) // self.batch_size + 1

    def epoch(self, epoch: int) -> Batch:
        """``[n_batches, batch_size]`` users, positives and negatives of ``epoch``."""
        generator = epoch_generator(self.seed, epoch)
        n_batches, n_active = len(self), len(self._active)
        if self.batch_size <= n_active:
            keys = torch.rand(n_batches, n_active, generator=generator)
            chosen = torch.topk(keys, self.batch_size, dim=1).indices
        else:
            chosen = torch.randint(n_active, (n_batches, self.batch_size), generator=generator)
        users = self._active[chosen].flatten()
        offsets = (torch.rand(len(users), generator=generator) * self._counts[users]).long()
        positives = self._items[self._start[users] + offsets.clamp(max=self._counts[users] - 1)]
        negatives = sample_negatives(users, self.data.train_keys, self.data.n_items, generator)
        shape = (n_batches, -1)
        return users.view(shape), positives.view(shape), negatives.view(shape)

    def batches(self, epoch: int) -> Iterator[Batch]:
        users, positives, negatives = self.epoch(epoch)
        for b in range(len(users)):
            yield _shard((users[b], positives[b], negatives[b]))
