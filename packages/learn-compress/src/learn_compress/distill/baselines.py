"""Baselines of SwitOKD in the same harness (``switokd.md`` section 1.5).

Same data order, augmentation, optimisers, schedule and seeds as SwitOKD (the
loop of :class:`~learn_compress.distill.online.OnlineDistiller`):

- :class:`Independent` ("Vanilla"): each network alone with cross-entropy (the
  networks see the same batches but never each other's outputs);
- :class:`KD` (Hinton et al. 2015): a trained teacher, frozen in eval mode, and
  a student trained with ``(1 - alpha) CE + alpha T^2 KL(p_t^T || p_s^T)``
  (``T = 4``, ``alpha = 0.9``, assumed common setting), or with
  ``kd_variant="tau1"`` ``CE + KL`` at ``tau = 1`` (SwitOKD's permanent expert
  mode with a fixed teacher);
- :class:`DML` (Zhang et al. 2018): SwitOKD with ``switch="never"`` (learning
  mode on every batch), the same class and code path.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..trainer import TrainConfig
from .losses import hinton_kd_loss, kl_to
from .online import DistillConfig, OnlineDistiller
from .switokd import SwitOKD


class Independent(OnlineDistiller):
    """Every network of ``networks`` (name -> module) trained alone with ``CE`` on the shared batches."""

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
        logits = {name: net(x) for name, net in self.networks.items()}
        losses = {name: F.cross_entropy(z, y) for name, z in logits.items()}
        self.update(losses, f"epoch {self.epoch}")
        return logits, {f"ce_{name}": float(loss.detach()) for name, loss in losses.items()}


class KD(OnlineDistiller):
    """Offline distillation of a trained, frozen ``teacher`` (eval mode, never updated) into ``student``."""

    def __init__(
        self,
        teacher: nn.Module,
        student: nn.Module,
        config: DistillConfig | None = None,
        optim: TrainConfig | None = None,
        device: str | torch.device = "cpu",
        checkpoint_dir: str | os.PathLike | None = None,
        quiet: bool = True,
    ):
        super().__init__({"student": student}, config, optim, device, checkpoint_dir, quiet)
        self.teacher = teacher.to(self.device).eval()  # forwarded under no_grad, never stepped

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
        with torch.no_grad():
            logits_t = self.teacher(x)
        logits_s = self.networks["student"](x)
        if self.config.kd_variant == "hinton":
            loss, ce, kl = hinton_kd_loss(logits_s, logits_t, y, self.config.kd_temperature, self.config.kd_alpha)
        else:
            ce, kl = F.cross_entropy(logits_s, y), kl_to(logits_t, logits_s)
            loss = ce + kl
        self.update({"student": loss}, f"epoch {self.epoch}")
        return {"student": logits_s}, {"ce_student": float(ce.detach()), "kl_student": float(kl.detach())}


class DML(SwitOKD):
    """Deep mutual learning: :class:`SwitOKD` with ``switch="never"`` (whatever ``config.switch`` says)."""

    def __init__(
        self,
        teacher: nn.Module,
        student: nn.Module,
        config: DistillConfig | None = None,
        optim: TrainConfig | Sequence[TrainConfig] | None = None,
        device: str | torch.device = "cpu",
        checkpoint_dir: str | os.PathLike | None = None,
        quiet: bool = True,
    ):
        config = dataclasses.replace(config or DistillConfig(), switch="never")
        super().__init__(teacher, student, config, optim, device, checkpoint_dir, quiet)
