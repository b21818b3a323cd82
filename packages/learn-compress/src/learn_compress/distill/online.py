"""The training loop that SwitOKD and its baselines share (``switokd.md`` sections 1.5 and 2).

Several networks see the *same* mini-batches (same data order, same
augmentation, one ``DistributedSampler`` seeded by ``DistillConfig.seed``),
each with its own optimiser and schedule (:func:`learn_compress.trainer.build_optimizer`,
:func:`learn_compress.trainer.lr_at`: epochs numbered from 1, the rate multiplied
by ``gamma`` at the start of each milestone epoch). A subclass says what one
batch does in :meth:`OnlineDistiller.train_step`: it returns the logits of each
network and the loss of each network that takes a step this batch; a network
without a loss takes no backward and no optimiser step (so neither weight decay
nor momentum moves it).

``fit`` returns a :class:`lab_common.History` with, per epoch, each network's
learning rate, train top-1 and (given test data) test loss/top-1, the means over
batches of the method's statistics (mode shares, distances, CE and KL terms) and
the wall time. A checkpoint with every network, optimiser, the history and the
RNG states is written after each epoch when ``checkpoint_dir`` is given, and
``fit(..., resume=path)`` continues exactly where it stopped (same numbers on
CPU). Training runs in one process: the switching decision is a batch mean, so
a DDP version would first have to all-reduce the distances (not implemented).
"""

from __future__ import annotations

import abc
import dataclasses
import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from lab_common import (
    History,
    ensure_finite,
    get_rng_state,
    load_checkpoint,
    progress,
    save_checkpoint,
    set_rng_state,
)

from ..evaluation import evaluate
from ..trainer import TrainConfig, build_optimizer, lr_at

log = logging.getLogger(__name__)

SWITCHES = ("adaptive", "never", "always")
THRESHOLDS = ("adaptive", "fixed")
KD_VARIANTS = ("hinton", "tau1")


@dataclass
class DistillConfig:
    """Run-level settings of the online/offline distillers (defaults: the CPU recipe of ``switokd.md`` section 2).

    Per-network optimiser settings (optimiser, lr, momentum, weight decay,
    schedule, milestones) are :class:`~learn_compress.trainer.TrainConfig`
    objects given to the distiller; their ``epochs``/``batch_size`` are
    replaced by the ones here.
    """

    epochs: int = 20
    batch_size: int = 64
    seed: int = 0
    eval_batch_size: int = 256
    tau: float = 1.0
    switch: str = "adaptive"
    threshold: str = "adaptive"
    fixed_delta: float = 0.5
    teacher_bn_update_in_expert: bool = True
    faithful_bug_compat: bool = False
    kd_variant: str = "hinton"
    kd_temperature: float = 4.0
    kd_alpha: float = 0.9

    def __post_init__(self) -> None:
        for name, value, allowed in (
            ("switch", self.switch, SWITCHES),
            ("threshold", self.threshold, THRESHOLDS),
            ("kd_variant", self.kd_variant, KD_VARIANTS),
        ):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
        if self.epochs < 1 or self.batch_size < 1 or self.tau <= 0:
            raise ValueError(
                f"epochs, batch_size and tau must be positive, got {self.epochs}, {self.batch_size}, {self.tau}"
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class OnlineDistiller(abc.ABC):
    """Trains ``networks`` (name -> module) together on the same batches; subclasses define one batch."""

    def __init__(
        self,
        networks: Mapping[str, nn.Module],
        config: DistillConfig | None = None,
        optim: TrainConfig | Sequence[TrainConfig] | None = None,
        device: str | torch.device = "cpu",
        checkpoint_dir: str | os.PathLike | None = None,
        quiet: bool = True,
    ):
        self.config = config or DistillConfig()
        self.device = torch.device(device)
        self.networks = {name: net.to(self.device) for name, net in networks.items()}
        optims = [optim or TrainConfig()] * len(self.networks) if not isinstance(optim, Sequence) else list(optim)
        if len(optims) != len(self.networks):
            raise ValueError(f"give one TrainConfig or one per network ({len(self.networks)}), got {len(optims)}")
        self.optim_configs = {
            name: dataclasses.replace(c, epochs=self.config.epochs, batch_size=self.config.batch_size)
            for name, c in zip(self.networks, optims)
        }
        self.optimizers = {name: build_optimizer(net, self.optim_configs[name]) for name, net in self.networks.items()}
        self.checkpoint_dir = checkpoint_dir
        self.quiet = quiet
        self.history = History()
        self.epoch = 0

    @abc.abstractmethod
    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
        """Process one batch: return each network's logits and the batch statistics to average per epoch."""

    def update(self, losses: Mapping[str, torch.Tensor], where: str) -> None:
        """One backward through the sum of ``losses`` (their graphs are disjoint) and a step of each network named."""
        total = sum(losses.values())
        ensure_finite(total, where)
        for name in losses:
            self.optimizers[name].zero_grad(set_to_none=True)
        total.backward()
        for name in losses:
            self.optimizers[name].step()

    def set_epoch_lr(self, epoch: int) -> dict[str, float]:
        """Set every optimiser's rate for 1-based ``epoch`` and return them (``lr_<network>``)."""
        rates = {}
        for name, optimizer in self.optimizers.items():
            rates[f"lr_{name}"] = lr_at(self.optim_configs[name], epoch)
            for group in optimizer.param_groups:
                group["lr"] = rates[f"lr_{name}"]
        return rates

    def fit(
        self,
        train_data: Dataset,
        test_data: Dataset | None = None,
        epochs: int | None = None,
        resume: str | os.PathLike | None = None,
    ) -> History:
        """Train up to ``epochs`` (default ``config.epochs``) epochs, from the checkpoint ``resume`` when given."""
        if resume is not None:
            self.load(resume)
        epochs = self.config.epochs if epochs is None else epochs
        sampler = DistributedSampler(train_data, num_replicas=1, rank=0, shuffle=True, seed=self.config.seed)
        loader = DataLoader(train_data, batch_size=self.config.batch_size, sampler=sampler)
        while self.epoch < epochs:
            self.epoch += 1
            sampler.set_epoch(self.epoch)
            start = time.perf_counter()
            record = {"epoch": self.epoch, **self.set_epoch_lr(self.epoch), **self._train_epoch(loader)}
            if test_data is not None:
                record.update(self.evaluate(test_data))
            record["seconds"] = time.perf_counter() - start
            self.history.append(record)
            log.info("epoch %d: %s", self.epoch, ", ".join(f"{k} {v:.4g}" for k, v in record.items()))
            self._checkpoint(record)
        return self.history

    def _train_epoch(self, loader: DataLoader) -> dict[str, float]:
        for net in self.networks.values():
            net.train()
        sums: dict[str, float] = {}
        correct = dict.fromkeys(self.networks, 0)
        batches = seen = 0
        for x, y in progress(loader, quiet=self.quiet, desc=f"epoch {self.epoch}"):
            x, y = x.to(self.device), y.to(self.device)
            logits, stats = self.train_step(x, y)
            for name, z in logits.items():
                correct[name] += int((z.detach().argmax(dim=1) == y).sum())
            for key, value in stats.items():
                sums[key] = sums.get(key, 0.0) + float(value)
            batches += 1
            seen += len(y)
        record = {key: value / batches for key, value in sums.items()}
        record.update({f"{name}_train_top1": 100.0 * c / seen for name, c in correct.items()})
        return record

    def evaluate(self, data: Dataset) -> dict[str, float]:
        """Test loss and top-1 of every network (``<network>_test_loss``, ``<network>_test_top1``)."""
        record = {}
        for name, net in self.networks.items():
            metrics = evaluate(net, data, self.device, self.config.eval_batch_size, quiet=self.quiet)
            record[f"{name}_test_loss"], record[f"{name}_test_top1"] = metrics["loss"], metrics["top1"]
        return record

    def state_dict(self) -> dict[str, Any]:
        return {
            "networks": {name: net.state_dict() for name, net in self.networks.items()},
            "optimizers": {name: opt.state_dict() for name, opt in self.optimizers.items()},
            "epoch": self.epoch,
            "history": self.history.state_dict(),
            "rng": get_rng_state(),
        }

    def load(self, path: str | os.PathLike) -> None:
        """Restore every network, optimiser, the history, the epoch and the RNG states from a checkpoint of ``fit``."""
        state = load_checkpoint(path, map_location="cpu")["state"]
        for name, net in self.networks.items():
            net.load_state_dict(state["networks"][name])
            self.optimizers[name].load_state_dict(state["optimizers"][name])
        self.epoch = int(state["epoch"])
        self.history.load_state_dict(state["history"])
        set_rng_state(state["rng"])

    def _checkpoint(self, record: dict[str, Any]) -> None:
        if self.checkpoint_dir is None:
            return
        config = {
            "distill": self.config.to_dict(),
            "optim": {name: c.to_dict() for name, c in self.optim_configs.items()},
            "method": type(self).__name__,
        }
        save_checkpoint(Path(self.checkpoint_dir) / "last.pt", self.state_dict(), config, {"record": record})
