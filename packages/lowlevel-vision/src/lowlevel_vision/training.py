"""The generic training loop of the package (vision-common §10).

One step for every model: forward the degraded views, the loss summed over views
(``loss(out_l, gt_l) + loss(out_r, gt_r)`` for stereo, ``loss(out, gt)`` for mono), backward, step.
Defaults follow NAFNet's recipe used by StereoIRR (stereoirr.md §3): AdamW lr 1e-3, betas (0.9, 0.9),
no weight decay, cosine annealing to 1e-7 over the run; a method passes its own loss callable and
optimizer/scheduler factories (e.g. SufrinNet's Adam + MultiStepLR).

Data order is a pure function of (seed, step): position p of the stream is item ``perm_e[p mod N]``
of the seeded permutation of epoch ``e = p div N``, so resuming from a checkpoint (weights, optimiser,
scheduler, step, RNG states, history) continues exactly where the run stopped. Under ``torchrun`` the
global batch is split across ranks, the model is wrapped in DDP and rank 0 writes checkpoints.
On CPU, model and batches use ``channels_last`` (much faster depthwise backward on torch 2.9).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from lab_common import (
    History,
    all_reduce_mean,
    barrier,
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

from .data.base import collate
from .evaluation import evaluate, views_of
from .losses import charbonnier_loss

log = logging.getLogger(__name__)

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


LOSSES: dict[str, Loss] = {"charbonnier": charbonnier_loss, "l1": F.l1_loss}


@dataclass
class TrainConfig:
    """Schedule and bookkeeping of a run (defaults: NAFNet/StereoIRR recipe, shortened)."""

    steps: int = 1000
    batch_size: int = 8
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.9)
    weight_decay: float = 0.0
    min_lr: float = 1e-7
    grad_clip: float | None = None
    seed: int = 0
    checkpoint_every: int = 0
    eval_every: int = 0
    log_every: int = 50
    channels_last: bool = True
    protocol: str = "rgb"


def default_optimizer(params, config: TrainConfig) -> torch.optim.Optimizer:
    return torch.optim.AdamW(params, lr=config.lr, betas=config.betas, weight_decay=config.weight_decay)


def default_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig):
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, config.steps), eta_min=config.min_lr)


def constant_lr(optimizer: torch.optim.Optimizer, config: TrainConfig):
    """A scheduler that keeps the learning rate (for short runs of a recipe whose decay comes much later)."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)


class Trainer:
    """Train a stereo or mono restoration model with checkpoints, exact resume and a non-finite guard.

    ``model_name`` and ``model.config`` are stored in checkpoints so the CLI rebuilds the model.
    ``out_dir`` receives ``last.pt`` (every ``checkpoint_every`` steps and at the end) and ``best.pt``
    (best ``psnr_avg``/``psnr`` on ``eval_set``, checked every ``eval_every`` steps and at the end).
    """

    def __init__(
        self,
        model: nn.Module,
        config: TrainConfig | None = None,
        loss: Loss = charbonnier_loss,
        device: str | torch.device = "cpu",
        out_dir: str | Path | None = None,
        model_name: str = "",
        optimizer: Callable | None = None,
        scheduler: Callable | None = None,
        quiet: bool = True,
    ):
        self.config = config or TrainConfig()
        self.device = torch.device(device)
        self.memory_format = (
            torch.channels_last if self.config.channels_last and self.device.type == "cpu" else torch.preserve_format
        )
        self.model = model.to(self.device, memory_format=self.memory_format)
        self.loss = loss
        self.out_dir = Path(out_dir) if out_dir else None
        self.model_name = model_name or type(model).__name__
        self.optimizer = (optimizer or default_optimizer)(self.model.parameters(), self.config)
        self.scheduler = (scheduler or default_scheduler)(self.optimizer, self.config)
        self.quiet = quiet
        self.step = 0
        self.best: float | None = None
        self.history = History()
        self._permutations: dict[int, torch.Tensor] = {}

    # -- data order ---------------------------------------------------------------------------------
    def batch_indices(self, step: int, size: int) -> list[int]:
        """This rank's item indices of ``step`` (a pure function of seed and step)."""
        batch = self.config.batch_size
        positions = range(step * batch + get_rank(), (step + 1) * batch, get_world_size())
        return [int(self._permutation(p // size, size)[p % size]) for p in positions]

    def _permutation(self, epoch: int, size: int) -> torch.Tensor:
        if epoch not in self._permutations:
            generator = torch.Generator().manual_seed(self.config.seed * 1_000_003 + epoch)
            self._permutations = {epoch: torch.randperm(size, generator=generator)}
        return self._permutations[epoch]

    # -- one step -------------------------------------------------------------------------------------
    def compute_loss(self, model: nn.Module, batch: dict[str, Any]) -> torch.Tensor:
        inputs = [v.to(self.device, memory_format=self.memory_format) for v in views_of(batch, "lq")]
        targets = [v.to(self.device, memory_format=self.memory_format) for v in views_of(batch, "gt")]
        outputs = model(*inputs)
        outputs = (outputs,) if isinstance(outputs, torch.Tensor) else tuple(outputs)
        return sum(self.loss(out, gt) for out, gt in zip(outputs, targets, strict=True))

    def train_step(self, model: nn.Module, dataset: Dataset) -> float:
        size = len(dataset)
        epoch = self.step * self.config.batch_size // size
        if hasattr(dataset, "set_epoch"):
            dataset.set_epoch(epoch)
        batch = collate([dataset[i] for i in self.batch_indices(self.step, size)])
        model.train()
        loss = self.compute_loss(model, batch)
        ensure_finite(loss, f"step {self.step + 1}")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.grad_clip:
            nn.utils.clip_grad_norm_(model.parameters(), self.config.grad_clip)
        self.optimizer.step()
        self.scheduler.step()
        self.step += 1
        return float(all_reduce_mean(loss.detach()))

    # -- the loop -------------------------------------------------------------------------------------
    def fit(self, train_set: Dataset, eval_set: Dataset | None = None, resume: bool = False) -> History:
        """Train until ``config.steps``; ``resume=True`` continues from ``out_dir/last.pt`` if present."""
        if resume and self.out_dir and (self.out_dir / "last.pt").is_file():
            self.load(self.out_dir / "last.pt")
            log.info("resumed %s at step %d", self.model_name, self.step)
        model = wrap_ddp(self.model)
        cfg = self.config
        losses: list[float] = []
        bar = progress(range(self.step, cfg.steps), quiet=self.quiet, desc=f"train {self.model_name}")
        for _ in bar:
            losses.append(self.train_step(model, train_set))
            last = self.step == cfg.steps
            if (cfg.log_every and self.step % cfg.log_every == 0) or last:
                record = {"step": self.step, "loss": sum(losses) / len(losses), "lr": self.scheduler.get_last_lr()[0]}
                losses = []
                if eval_set is not None and ((cfg.eval_every and self.step % cfg.eval_every == 0) or last):
                    record.update(self.validate(eval_set))
                self.history.append(record)
                log.info("%s %s", self.model_name, record)
            if (cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0) or last:
                self._save_last()
        return self.history

    def validate(self, eval_set: Dataset) -> dict[str, float]:
        """Metrics on ``eval_set``; keeps ``best.pt`` when the PSNR improves."""
        metrics = evaluate(unwrap_model(self.model), eval_set, self.config.protocol, self.device).metrics
        score = metrics.get("psnr_avg", metrics.get("psnr"))
        if self.best is None or score > self.best:
            self.best = score
            if self.out_dir:
                self.save(self.out_dir / "best.pt")
        return {f"val_{k}": v for k, v in metrics.items()}

    # -- checkpoints ----------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "model": unwrap_model(self.model).state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "step": self.step,
            "best": self.best,
            "history": self.history.state_dict(),
            "rng": get_rng_state(),
        }

    def checkpoint_config(self) -> dict[str, Any]:
        train = dataclasses.asdict(self.config)
        return {
            "model": self.model_name,
            "model_config": dict(getattr(unwrap_model(self.model), "config", {})),
            "train": train,
        }

    def _save_last(self) -> None:
        if self.out_dir is not None:
            self.save(self.out_dir / "last.pt")

    def save(self, path: str | Path) -> None:
        if is_main_process():
            save_checkpoint(path, self.state_dict(), self.checkpoint_config(), {"package": "lowlevel-vision"})
        barrier()

    def load(self, path: str | Path) -> None:
        checkpoint = load_checkpoint(path, map_location=self.device)
        state = checkpoint["state"]
        unwrap_model(self.model).load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.step, self.best = state["step"], state["best"]
        self.history.load_state_dict(state["history"])
        set_rng_state(state["rng"])


def load_trained_model(path: str | Path, name: str | None = None, device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild the model a :class:`Trainer` checkpoint holds (``name``, if given, must match it)."""
    from .registry import MODELS

    checkpoint = load_checkpoint(path, map_location=device)
    stored = checkpoint["config"].get("model")
    if name is not None and stored != name:
        raise ValueError(f"{path} holds a {stored!r} model, not {name!r}")
    model = MODELS.build(stored, **checkpoint["config"].get("model_config", {}))
    model.load_state_dict(checkpoint["state"]["model"])
    return model.to(device).eval()
