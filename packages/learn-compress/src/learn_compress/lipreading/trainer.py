"""Training and evaluation of sequence lipreading models (``lipformer.md`` section 2).

Any model with ``loss(batch) -> (loss, parts)`` and ``decode(frames, landmarks, lengths, beam) ->
list[str]`` trains here (:class:`~.lipformer.LipFormer`, :class:`~.lipnet.LipNetCTC`). The learning rate
warms up linearly over ``warmup_steps``, then follows a cosine to ``min_lr`` over the remaining steps
(``schedule="constant"`` keeps it); gradients are clipped to ``grad_clip``. After every epoch the
validation CER/WER are recorded when a validation set is given, and ``checkpoint_dir/last.pt`` is written
(model, optimiser, history, step, RNG states) so ``fit(..., resume=path)`` continues the same run.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from lab_common import History, ensure_finite, get_rng_state, load_checkpoint, progress, save_checkpoint, set_rng_state

from ..metrics import cer, wer
from .dataset import collate_lips

log = logging.getLogger(__name__)


@dataclass
class LipTrainConfig:
    """Optimisation recipe (defaults: the CPU recipe of ``lipformer.md`` section 2)."""

    epochs: int = 15
    batch_size: int = 16
    optimizer: str = "adam"  # "adamw" at paper scale (betas 0.9/0.98, eps 1e-9, wd 0.01)
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0
    warmup_steps: int = 100
    schedule: str = "cosine"
    min_lr: float = 1e-6
    grad_clip: float = 1.0
    max_steps: int | None = None
    eval_beam: int = 1
    eval_batch_size: int = 32
    seed: int = 0

    def __post_init__(self) -> None:
        if self.optimizer not in ("adam", "adamw"):
            raise ValueError(f"optimizer must be 'adam' or 'adamw', got {self.optimizer!r}")
        if self.schedule not in ("cosine", "constant"):
            raise ValueError(f"schedule must be 'cosine' or 'constant', got {self.schedule!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@torch.no_grad()
def transcribe(model: nn.Module, data: Dataset, device="cpu", beam: int = 1, batch_size: int = 32) -> tuple[list, list]:
    """References and hypotheses of every clip of ``data`` (model in eval mode)."""
    model.eval()
    refs, hyps = [], []
    for batch in DataLoader(data, batch_size=batch_size, collate_fn=collate_lips):
        frames, landmarks, lengths = (batch[k].to(device) for k in ("frames", "landmarks", "lengths"))
        hyps += model.decode(frames, landmarks, lengths, beam=beam)
        refs += batch["texts"]
    return refs, hyps


def evaluate_lipreading(model: nn.Module, data: Dataset, device="cpu", beam: int = 1, batch_size: int = 32) -> dict:
    """Corpus-level ``cer`` and ``wer`` (``compress-common.md`` section 8)."""
    refs, hyps = transcribe(model, data, device, beam, batch_size)
    return {"cer": cer(refs, hyps), "wer": wer(refs, hyps)}


class LipReadingTrainer:
    """``LipReadingTrainer(model, config).fit(train, val) -> History`` (one record per epoch)."""

    def __init__(
        self,
        model: nn.Module,
        config: LipTrainConfig | None = None,
        device: str | torch.device = "cpu",
        quiet: bool = True,
        checkpoint_dir: str | os.PathLike | None = None,
    ):
        self.config = c = config or LipTrainConfig()
        self.device = torch.device(device)
        self.model = model.to(self.device)
        self.quiet = quiet
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else None
        optimizer = torch.optim.AdamW if c.optimizer == "adamw" else torch.optim.Adam
        self.optimizer = optimizer(model.parameters(), lr=c.lr, betas=c.betas, eps=c.eps, weight_decay=c.weight_decay)
        self.history = History()
        self.step = 0
        self.epoch = 0
        self.total_steps = 0

    def lr_at(self, step: int) -> float:
        """Linear warm-up to ``lr`` over ``warmup_steps``, then cosine to ``min_lr`` at ``total_steps``."""
        c = self.config
        if step < c.warmup_steps:
            return c.lr * (step + 1) / c.warmup_steps
        if c.schedule == "constant":
            return c.lr
        progress_ = min(1.0, (step - c.warmup_steps) / max(1, self.total_steps - c.warmup_steps))
        return c.min_lr + 0.5 * (c.lr - c.min_lr) * (1 + math.cos(math.pi * progress_))

    def fit(self, train: Dataset, val: Dataset | None = None, resume: str | os.PathLike | None = None) -> History:
        c = self.config
        steps_per_epoch = math.ceil(len(train) / c.batch_size)
        self.total_steps = min(c.epochs * steps_per_epoch, c.max_steps or math.inf)
        if resume is not None:
            self.load(resume)
        while self.epoch < c.epochs and self.step < self.total_steps:
            self.epoch += 1
            generator = torch.Generator().manual_seed(c.seed * 1000 + self.epoch)
            loader = DataLoader(train, c.batch_size, shuffle=True, generator=generator, collate_fn=collate_lips)
            record = self._train_epoch(loader)
            if val is not None:
                metrics = evaluate_lipreading(self.model, val, self.device, c.eval_beam, c.eval_batch_size)
                record.update({f"val_{k}": v for k, v in metrics.items()})
            self.history.append(record)
            log.info("epoch %d: %s", self.epoch, record)
            if self.checkpoint_dir is not None:
                self.save(self.checkpoint_dir / "last.pt")
        return self.history

    def _train_epoch(self, loader: DataLoader) -> dict[str, Any]:
        self.model.train()
        start, total, count = time.perf_counter(), 0.0, 0
        parts_sum: dict[str, float] = {}
        for batch in progress(loader, quiet=self.quiet):
            if self.step >= self.total_steps:
                break
            batch = {k: v.to(self.device) if torch.is_tensor(v) else v for k, v in batch.items()}
            for group in self.optimizer.param_groups:
                group["lr"] = self.lr_at(self.step)
            loss, parts = self.model.loss(batch)
            ensure_finite(loss, f"epoch {self.epoch}, step {self.step}")
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if self.config.grad_clip > 0:
                nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
            self.optimizer.step()
            self.step += 1
            total, count = total + float(loss.detach()), count + 1
            for k, v in parts.items():
                parts_sum[k] = parts_sum.get(k, 0.0) + v
        record = {
            "epoch": self.epoch,
            "step": self.step,
            "loss": total / max(count, 1),
            "lr": self.lr_at(self.step - 1),
        }
        record.update({k: v / max(count, 1) for k, v in parts_sum.items()})
        record["seconds"] = time.perf_counter() - start
        return record

    def save(self, path: str | os.PathLike) -> None:
        state = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "history": self.history.state_dict(),
            "step": self.step,
            "epoch": self.epoch,
            "rng": get_rng_state(),
        }
        save_checkpoint(path, state, config={"train": self.config.to_dict()})

    def load(self, path: str | os.PathLike) -> None:
        state = load_checkpoint(path, map_location="cpu")["state"]
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.history.load_state_dict(state["history"])
        self.step, self.epoch = int(state["step"]), int(state["epoch"])
        set_rng_state(state["rng"])
