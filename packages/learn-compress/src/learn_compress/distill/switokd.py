"""SwitOKD: switchable online knowledge distillation (Qian et al., ECCV 2022; ``switokd.md`` section 1).

One batch (section 1.2): every network is forwarded on the batch in ``train()``
mode before any update; for each (teacher, student) pair the switching state
of :func:`~learn_compress.distill.losses.switch_state` is computed on detached
logits. A pair in *expert* condition (``G > delta`` and ``t < s``) removes the
teacher's terms for that pair; a teacher whose pairs are all expert is
*paused*: no loss, no backward, no optimiser step. Losses (weights 1, ``tau =
1`` and no ``tau**2`` factor, official code), with ``w_ji = 0`` when pair
(T_j, S_i) is expert and ``w0_j = 0`` iff all ``w_ji`` are 0:

- teacher ``j``: ``w0_j (CE + sum_k KL(p_Tk || p_Tj)) + sum_i w_ji KL(p_Si || p_Tj)``;
- student ``i``: ``CE + sum_j KL(p_Tj || p_Si) + sum_l KL(p_Sl || p_Si)`` (always steps).

With one teacher and one student this is the two-network SwitOKD (expert:
teacher paused, student ``CE + KL(p_t || p_s)``; learning: both learn mutually,
DML); with one teacher and two students it is the 1T2S code of Table 7, with
two teachers and one student the 2T1S code (section 1.3). ``switch="never"``
is DML (:class:`learn_compress.distill.baselines.DML`), ``"always"`` pauses the
teachers on every batch, ``threshold="fixed"`` uses ``delta = fixed_delta``.

Teacher BN running statistics are updated by the forward even on expert
batches (official behaviour); with ``teacher_bn_update_in_expert=False`` they
are snapshotted before the forward and restored when the teacher is paused.

``faithful_bug_compat=True`` reproduces the official multi-network slips
(section 1.4): in 1T2S the pair (T, S1) takes ``eps`` from pair (T, S2)'s
distances and a fully paused teacher still steps on a zero loss (weight decay
and momentum move it); in 2T1S the pair (T2, S) takes ``eps`` from pair
(T1, S). By default each pair uses its own distances and a paused network
takes no step.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..trainer import TrainConfig
from .losses import SwitchState, kl_to, switch_state
from .online import DistillConfig, OnlineDistiller

TOPOLOGIES = {"1T1S": (1, 1), "1T2S": (1, 2), "2T1S": (2, 1)}
# (teacher j, student i) -> the pair whose distances the official code uses for eps (faithful_bug_compat)
EPS_SLIPS = {"1T2S": {(0, 0): (0, 1)}, "2T1S": {(1, 0): (0, 0)}}


class SwitOKDMulti(OnlineDistiller):
    """SwitOKD with ``teachers`` and ``students`` (topology ``"1T1S"``, ``"1T2S"`` or ``"2T1S"``).

    ``optim`` gives one :class:`~learn_compress.trainer.TrainConfig` for all
    networks or one per network, teachers first. Networks are named
    ``teacher``/``student`` in 1T1S and ``teacher1``, ``student2``, ... otherwise.
    """

    def __init__(
        self,
        teachers: Sequence[nn.Module],
        students: Sequence[nn.Module],
        topology: str = "1T2S",
        config: DistillConfig | None = None,
        optim: TrainConfig | Sequence[TrainConfig] | None = None,
        device: str | torch.device = "cpu",
        checkpoint_dir: str | os.PathLike | None = None,
        quiet: bool = True,
    ):
        if topology not in TOPOLOGIES:
            raise ValueError(f"topology must be one of {tuple(TOPOLOGIES)}, got {topology!r}")
        if TOPOLOGIES[topology] != (len(teachers), len(students)):
            raise ValueError(
                f"topology {topology} needs {TOPOLOGIES[topology]} (teachers, students), "
                f"got ({len(teachers)}, {len(students)})"
            )
        self.topology = topology
        single = topology == "1T1S"
        self.teacher_names = ["teacher"] if single else [f"teacher{j + 1}" for j in range(len(teachers))]
        self.student_names = ["student"] if single else [f"student{i + 1}" for i in range(len(students))]
        networks = dict(zip(self.teacher_names, teachers)) | dict(zip(self.student_names, students))
        super().__init__(networks, config, optim, device, checkpoint_dir, quiet)

    def pair_states(self, logits: dict[str, torch.Tensor], y: torch.Tensor) -> dict[tuple[int, int], SwitchState]:
        """The switching state of every (teacher j, student i) pair, with the configured switch and threshold."""
        cfg = self.config
        fixed = cfg.fixed_delta if cfg.threshold == "fixed" else None
        states = {
            (j, i): switch_state(logits[tn], logits[sn], y, cfg.tau, fixed)
            for j, tn in enumerate(self.teacher_names)
            for i, sn in enumerate(self.student_names)
        }
        if cfg.faithful_bug_compat:
            for pair, source in EPS_SLIPS.get(self.topology, {}).items():
                j, i = pair
                eps_from = (states[source].s, states[source].t)
                tn, sn = self.teacher_names[j], self.student_names[i]
                states[pair] = switch_state(logits[tn], logits[sn], y, cfg.tau, fixed, eps_from)
        if cfg.switch != "adaptive":
            states = {pair: st._replace(expert=cfg.switch == "always") for pair, st in states.items()}
        return states

    def switch_state(self, logits_t: torch.Tensor, logits_s: torch.Tensor, y: torch.Tensor) -> SwitchState:
        """The pure per-pair decision of section 1.1-1.2 under this run's ``tau`` and threshold setting."""
        fixed = self.config.fixed_delta if self.config.threshold == "fixed" else None
        return switch_state(logits_t, logits_s, y, self.config.tau, fixed)

    def compute_losses(
        self, logits: dict[str, torch.Tensor], y: torch.Tensor, states: dict[tuple[int, int], SwitchState]
    ) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
        """The loss of every network that steps this batch (paused teachers have none) and the loss statistics."""
        cfg = self.config
        ce = {name: F.cross_entropy(z, y) for name, z in logits.items()}
        kl = {(a, b): kl_to(logits[a], logits[b], cfg.tau) for a in logits for b in logits if a != b}
        losses, stats = {}, {}
        for j, tn in enumerate(self.teacher_names):
            w = [0.0 if states[j, i].expert else 1.0 for i in range(len(self.student_names))]
            w0 = 1.0 if any(w) else 0.0
            if w0 or (cfg.faithful_bug_compat and self.topology == "1T2S"):  # the official 1T2S steps on a zero loss
                peers = sum((kl[tk, tn] for tk in self.teacher_names if tk != tn), ce[tn].new_zeros(()))
                losses[tn] = w0 * (ce[tn] + peers) + sum(wi * kl[sn, tn] for wi, sn in zip(w, self.student_names))
            stats[f"paused_{tn}"] = 1.0 - w0
        for sn in self.student_names:
            losses[sn] = ce[sn] + sum(kl[other, sn] for other in logits if other != sn)
        for name in logits:
            stats[f"ce_{name}"] = float(ce[name].detach())
            stats[f"kl_{name}"] = float(sum(kl[other, name].detach() for other in logits if other != name))
        return losses, stats

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
        keep_bn = not self.config.teacher_bn_update_in_expert
        snapshots = {tn: _buffers(self.networks[tn]) for tn in self.teacher_names} if keep_bn else {}
        logits = {name: net(x) for name, net in self.networks.items()}
        states = self.pair_states(logits, y)
        losses, stats = self.compute_losses(logits, y, states)
        for tn, saved in snapshots.items():
            if stats[f"paused_{tn}"]:
                _restore(self.networks[tn], saved)
        for (j, i), st in states.items():
            suffix = "" if self.topology == "1T1S" else f"_{self.teacher_names[j]}_{self.student_names[i]}"
            stats.update({f"{key}{suffix}": float(getattr(st, key)) for key in ("s", "t", "gap", "delta", "eps")})
            stats[f"expert_ratio{suffix}"] = float(st.expert)
        self.update(losses, f"epoch {self.epoch}")
        return logits, stats


class SwitOKD(SwitOKDMulti):
    """Two-network SwitOKD: ``SwitOKD(teacher, student, config).fit(train, test) -> History`` (section 1.2).

    Each epoch's record has ``expert_ratio`` (share of expert-mode batches; the
    learning-mode share is its complement), means of ``s``, ``t``, ``gap``,
    ``delta``, ``eps``, ``ce_<network>``, ``kl_<network>``, both networks'
    train and test top-1 and learning rates.
    """

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
        super().__init__([teacher], [student], "1T1S", config, optim, device, checkpoint_dir, quiet)

    @property
    def teacher(self) -> nn.Module:
        return self.networks["teacher"]

    @property
    def student(self) -> nn.Module:
        return self.networks["student"]


def _buffers(net: nn.Module) -> list[torch.Tensor]:
    return [b.detach().clone() for b in net.buffers()]


def _restore(net: nn.Module, saved: list[torch.Tensor]) -> None:
    with torch.no_grad():
        for buffer, value in zip(net.buffers(), saved):
            buffer.copy_(value)
