"""Supervised training of a classifier: the recipe every method of this package starts from.

The schedules follow the official code of the methods built on it
(``switokd.md`` section 2): SGD with momentum (or Adam), epochs numbered from 1,
and for the step schedule the learning rate multiplied by ``gamma`` at the
*start* of each listed milestone epoch; the cosine schedule anneals per epoch
from ``lr`` to 0. The rate is set from the epoch number at the start of each
epoch, so resuming needs no scheduler state.

A checkpoint (``lab_common.save_checkpoint``) is written after every epoch with
the model, optimiser, AMP scaler, history and RNG states, so ``fit(...,
resume=path)`` continues exactly where the run stopped: on CPU the resumed
run's history equals the uninterrupted one. Mixed precision is used on CUDA
only (``amp=True`` on CPU logs a warning and trains in float32). A non-finite
loss raises :class:`lab_common.NonFiniteLossError` before the update, leaving
the last checkpoint intact. Under ``torchrun`` the model is wrapped in DDP and
each rank reads its shard through a :class:`DistributedSampler`.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from lab_common import (
    History,
    all_reduce_mean,
    ensure_finite,
    get_rank,
    get_rng_state,
    get_world_size,
    is_main_process,
    load_checkpoint,
    progress,
    save_checkpoint,
    set_rng_state,
    unwrap_model,
    wrap_ddp,
)

from .evaluation import evaluate

log = logging.getLogger(__name__)

OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("step", "cosine", "constant")


@dataclass
class TrainConfig:
    """Hyper-parameters of :class:`ClassifierTrainer` (defaults: the CPU recipe of ``switokd.md`` section 2)."""

    epochs: int = 20
    batch_size: int = 64
    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 5e-4
    schedule: str = "step"
    milestones: Sequence[int] = (12, 17)
    gamma: float = 0.1
    amp: bool = False
    eval_batch_size: int = 256
    num_workers: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError(
                f"epochs, batch_size and lr must be positive, got {self.epochs}, {self.batch_size}, {self.lr}"
            )
        self.milestones = tuple(int(m) for m in self.milestones)

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


def lr_at(config: TrainConfig, epoch: int) -> float:
    """Learning rate of 1-based ``epoch``: step (x gamma from each milestone epoch on), cosine or constant."""
    if config.schedule == "step":
        return config.lr * config.gamma ** sum(epoch >= m for m in config.milestones)
    if config.schedule == "cosine":
        return 0.5 * config.lr * (1.0 + math.cos(math.pi * (epoch - 1) / config.epochs))
    return config.lr


def build_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(
        model.parameters(),
        lr=config.lr,
        momentum=config.momentum,
        nesterov=config.nesterov,
        weight_decay=config.weight_decay,
    )


@dataclass
class ClassifierTrainer:
    """Train ``model`` with cross-entropy; ``fit`` returns a :class:`lab_common.History` of per-epoch records.

    Each record has ``epoch``, ``lr``, ``train_loss``, ``train_top1`` and, when
    test data is given, ``test_loss``, ``test_top1``, ``test_top5``, plus
    ``seconds``. ``checkpoint_dir`` receives ``last.pt`` after every epoch and
    ``best.pt`` when ``test_top1`` improves (main process only).
    """

    model: nn.Module
    config: TrainConfig = field(default_factory=TrainConfig)
    device: str | torch.device = "cpu"
    checkpoint_dir: str | os.PathLike | None = None
    model_config: dict[str, Any] = field(default_factory=dict)
    quiet: bool = True

    def __post_init__(self) -> None:
        self.device = torch.device(self.device)
        self.model.to(self.device)
        self.optimizer = build_optimizer(self.model, self.config)
        self.use_amp = self.config.amp and self.device.type == "cuda"
        if self.config.amp and not self.use_amp:
            log.warning("mixed precision runs on CUDA only; training on %s in float32", self.device)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        self.history = History()
        self.epoch = 0

    def fit(
        self, train_data: Dataset, test_data: Dataset | None = None, resume: str | os.PathLike | None = None
    ) -> History:
        """Train for ``config.epochs`` epochs (from the checkpoint ``resume`` when given)."""
        if resume is not None:
            self.load(resume)
        net = wrap_ddp(self.model)
        sampler = DistributedSampler(
            train_data, num_replicas=get_world_size(), rank=get_rank(), shuffle=True, seed=self.config.seed
        )
        loader = DataLoader(
            train_data, batch_size=self.config.batch_size, sampler=sampler, num_workers=self.config.num_workers
        )
        while self.epoch < self.config.epochs:
            self.epoch += 1
            sampler.set_epoch(self.epoch)
            start = time.perf_counter()
            record = {"epoch": self.epoch, **self._train_epoch(net, loader)}
            if test_data is not None:
                metrics = evaluate(self.model, test_data, self.device, self.config.eval_batch_size)
                record.update({f"test_{k}": metrics[k] for k in ("loss", "top1", "top5")})
            record["seconds"] = time.perf_counter() - start
            self.history.append(record)
            log.info("epoch %d: %s", self.epoch, ", ".join(f"{k} {v:.4g}" for k, v in record.items()))
            self._checkpoint(record)
        return self.history

    def _train_epoch(self, net: nn.Module, loader: DataLoader) -> dict[str, float]:
        lr = lr_at(self.config, self.epoch)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        net.train()
        loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)
        correct = torch.zeros((), dtype=torch.float64, device=self.device)
        seen = 0
        for step, (x, y) in enumerate(progress(loader, quiet=self.quiet, desc=f"epoch {self.epoch}")):
            x, y = x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
            with torch.autocast(device_type=self.device.type, dtype=torch.float16, enabled=self.use_amp):
                logits = net(x)
                loss = F.cross_entropy(logits, y)
            ensure_finite(loss, f"epoch {self.epoch}, batch {step}")
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            loss_sum += loss.detach().double() * len(y)
            correct += (logits.detach().argmax(dim=1) == y).sum()
            seen += len(y)
        # means over ranks of per-rank sums: their ratios are the global ratios
        totals = all_reduce_mean(torch.stack([loss_sum, correct, torch.tensor(float(seen), device=self.device)]))
        loss, top1 = totals[0] / totals[2], 100.0 * totals[1] / totals[2]
        return {"lr": lr, "train_loss": float(loss), "train_top1": float(top1)}

    def state_dict(self) -> dict[str, Any]:
        return {
            "model": unwrap_model(self.model).state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "epoch": self.epoch,
            "history": self.history.state_dict(),
            "rng": get_rng_state(),
        }

    def load(self, path: str | os.PathLike) -> None:
        """Restore model, optimiser, scaler, history, epoch and RNG states from a checkpoint of :meth:`fit`."""
        state = load_checkpoint(path, map_location="cpu")["state"]  # RNG states must stay on the CPU
        unwrap_model(self.model).load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if state["scaler"]:
            self.scaler.load_state_dict(state["scaler"])
        self.epoch = int(state["epoch"])
        self.history.load_state_dict(state["history"])
        set_rng_state(state["rng"])

    def _checkpoint(self, record: dict[str, Any]) -> None:
        if self.checkpoint_dir is None or not is_main_process():
            return
        directory = Path(self.checkpoint_dir)
        config = {"model": self.model_config, "train": self.config.to_dict()}
        state = self.state_dict()
        save_checkpoint(directory / "last.pt", state, config, {"record": record})
        if "test_top1" in record and record["test_top1"] >= self.history.best("test_top1")["test_top1"]:
            save_checkpoint(directory / "best.pt", state, config, {"record": record})
