"""AdaSG: data-free quantization as a zero-sum game, with its baselines GDFQ and min-max PTQ.

Qian, Wang, Hong, Wang, *Rethinking Data-Free Quantization as a Zero-Sum Game*, AAAI 2023
(arXiv 2302.09572); specification ``papers/adasg.md``, which follows the official code
(``hfutqian/AdaSG``, a GDFQ fork) and fixes its defects (section 1.8).

Three players (section 1.1): the full-precision network P (frozen, eval mode), the
fake-quantized copy Q (eval mode for the whole run: its batch norm always uses P's running
statistics; weights, biases and BN affine parameters are trained) and the conditional
generator G (train mode). One iteration (section 1.7):

1. maximisation step (G): ``x = G(z, y)``, ``L_G`` from ``P(x)`` and ``Q(x)``, only G steps;
2. minimisation step (Q): ``L_Q`` from ``P(x)`` and ``Q(x.detach())``, only Q steps, and only
   once the warm-up epochs are over.

:class:`AdaSG` and :class:`GDFQ` share every code path in :class:`DataFreeQuantization` and
differ only in :meth:`~DataFreeQuantization.generator_loss` and
:meth:`~DataFreeQuantization.quantized_loss`. :class:`MinMax` is naive post-training
quantization with the same quantizer (section 1.9).

Deviation for speed, numerically equivalent to the release: once the activation ranges are
frozen, Q's forward of step 1 is reused by step 2 (same parameters, same input, no range
update in between); while calibrating, step 2 forwards Q again so the ranges get the
release's two updates per iteration.
"""

from __future__ import annotations

import abc
import copy
import dataclasses
import logging
import math
import os
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from lab_common import (
    CheckpointError,
    History,
    ensure_finite,
    get_rng_state,
    load_checkpoint,
    progress,
    save_checkpoint,
    seed_everything,
    set_rng_state,
)

from ..evaluation import evaluate
from ..quantization import ConfigError, calibrate, quantize_model, set_calibrating
from ..registry import MODELS

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------


@dataclass
class GameConfig:
    """Hyper-parameters of the game (``papers/adasg.md`` section 2, CIFAR paper scale by default).

    AdaSG reads ``lambda_l``, ``lambda_u``, ``alpha_ds``, ``alpha_as``, ``beta``, ``gamma``;
    GDFQ reads ``gdfq_bns_weight`` and ``kl_reduction``; everything else is shared.
    """

    epochs: int = 400
    iters_per_epoch: int = 200
    batch_size: int = 16
    latent_dim: int = 100
    img_size: int = 32
    channels: int = 3
    conditional_bn: bool = False  # True: the ImageNet generator (categorical conditional BN)
    bn_eps_quirk: bool = True  # GDFQ's positional BatchNorm2d(c, 0.8)
    lr_q: float = 1e-4
    lr_g: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 1e-4
    nesterov: bool = True
    g_betas: tuple[float, float] = (0.5, 0.999)
    milestones: tuple[int, ...] = (100, 200, 300)
    lr_decay: float = 0.1
    calib_epochs: int = 4
    warmup_epochs: int = 4
    temperature: float = 20.0
    lambda_l: float = 0.3
    lambda_u: float = 0.8
    alpha_ds: float = 0.1
    alpha_as: float = 0.1
    beta: float = 1.0
    gamma: float = 1.0
    gdfq_bns_weight: float = 0.1
    kl_reduction: str = "batchmean"  # "elementwise_mean" reproduces the GDFQ release
    ema_mode: str = "official"
    ema_beta: float = 0.9
    min_calibration_updates: int = 200
    quantize_first_last: bool = True
    eval_batch_size: int = 500
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.lambda_l < self.lambda_u <= 1.0:
            raise ConfigError(f"need 0 <= lambda_l < lambda_u <= 1, got {self.lambda_l}, {self.lambda_u}")
        if self.kl_reduction not in ("batchmean", "elementwise_mean"):
            raise ConfigError(f"kl_reduction must be 'batchmean' or 'elementwise_mean', got {self.kl_reduction!r}")
        if self.batch_size < 2:
            raise ConfigError(
                f"batch_size must be >= 2 (the generator's last BN uses batch statistics), got {self.batch_size}"
            )
        if self.img_size % 4:
            raise ConfigError(f"img_size must be a multiple of 4, got {self.img_size}")
        self.milestones = tuple(self.milestones)
        self.g_betas = tuple(self.g_betas)

    @classmethod
    def imagenet(cls, **overrides: Any) -> GameConfig:
        """The ImageNet column of section 2 (224 px, conditional-BN generator, T = 5, 50 warm-up epochs)."""
        base = dict(
            img_size=224, conditional_bn=True, lr_q=1e-5, milestones=(350, 400), warmup_epochs=50, temperature=5.0
        )
        return cls(**{**base, **overrides})

    @classmethod
    def cpu_recipe(cls, **overrides: Any) -> GameConfig:
        """The CPU scale of section 2: 8 epochs of 100 iterations, 2 calibration and 2 warm-up epochs."""
        base = dict(epochs=8, iters_per_epoch=100, calib_epochs=2, warmup_epochs=2)
        return cls(**{**base, **overrides})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# --------------------------------------------------------------------------------------------
# Generator (section 1.2)
# --------------------------------------------------------------------------------------------


class _GeneratorBN(nn.Module):
    """BatchNorm2d, or categorical conditional BN (affine-free BN + per-class gamma/beta tables)."""

    def __init__(self, channels: int, eps: float, num_classes: int | None):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, eps=eps, affine=num_classes is None)
        self.gamma = self.beta = None
        if num_classes is not None:
            self.gamma = nn.Embedding(num_classes, channels)
            self.beta = nn.Embedding(num_classes, channels)
            nn.init.ones_(self.gamma.weight)
            nn.init.zeros_(self.beta.weight)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        out = self.bn(x)
        if self.gamma is None:
            return out
        return out * self.gamma(y)[:, :, None, None] + self.beta(y)[:, :, None, None]


class ConditionalGenerator(nn.Module):
    """GDFQ's conditional generator (``papers/adasg.md`` 1.2, official code).

    CIFAR (``conditional_bn=False``): ``h = z * Embedding(C, latent)(y)``; Linear to
    ``128 x s x s`` (``s = img_size // 4``); BN(128); [upsample x2, conv3x3, BN(eps 0.8),
    LeakyReLU 0.2] to 128 then 64 channels; conv3x3 to ``channels``; Tanh; affine-free BN,
    which standardises each channel over the batch (outputs live in normalised-image space).
    ImageNet (``conditional_bn=True``): ``h = z`` and the three middle BNs are categorical
    conditional BNs. ``bn_eps_quirk=False`` uses eps 1e-5 instead of GDFQ's 0.8.
    """

    def __init__(
        self,
        num_classes: int,
        latent_dim: int = 100,
        img_size: int = 32,
        channels: int = 3,
        conditional_bn: bool = False,
        bn_eps_quirk: bool = True,
    ):
        super().__init__()
        self.num_classes = num_classes
        self.latent_dim = latent_dim
        self.init_size = img_size // 4
        cond = num_classes if conditional_bn else None
        eps = 0.8 if bn_eps_quirk else 1e-5
        self.embed = None if conditional_bn else nn.Embedding(num_classes, latent_dim)
        self.fc = nn.Linear(latent_dim, 128 * self.init_size**2)
        self.bn0 = _GeneratorBN(128, 1e-5, cond)
        self.conv1 = nn.Conv2d(128, 128, 3, stride=1, padding=1)
        self.bn1 = _GeneratorBN(128, eps, cond)
        self.conv2 = nn.Conv2d(128, 64, 3, stride=1, padding=1)
        self.bn2 = _GeneratorBN(64, eps, cond)
        self.conv3 = nn.Conv2d(64, channels, 3, stride=1, padding=1)
        self.out_bn = nn.BatchNorm2d(channels, affine=False)

    def sample_inputs(
        self, batch_size: int, device: str | torch.device | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``z ~ N(0, I)`` of shape ``[B, latent_dim]`` and labels ``y ~ U{0..C-1}``."""
        device = device if device is not None else self.fc.weight.device
        z = torch.randn(batch_size, self.latent_dim, device=device)
        y = torch.randint(0, self.num_classes, (batch_size,), device=device)
        return z, y

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = z if self.embed is None else z * self.embed(y)
        h = self.fc(h).view(z.shape[0], 128, self.init_size, self.init_size)
        h = self.bn0(h, y)
        h = F.leaky_relu(self.bn1(self.conv1(F.interpolate(h, scale_factor=2)), y), 0.2)
        h = F.leaky_relu(self.bn2(self.conv2(F.interpolate(h, scale_factor=2)), y), 0.2)
        return self.out_bn(torch.tanh(self.conv3(h)))


# --------------------------------------------------------------------------------------------
# Losses (sections 1.4-1.6, 1.9)
# --------------------------------------------------------------------------------------------


class BNStatistics:
    """Forward hooks on every ``nn.BatchNorm2d`` of a network for the BNS loss (section 1.4).

    Each hooked forward records, for the BN *input* ``a [B, c, h, w]``, its per-channel mean
    and biased variance over ``(B, h, w)``; :meth:`loss` is
    ``(1/L) sum_l [MSE(mu_l, running_mean_l) + MSE(var_l, running_var_l)]``.
    Call :meth:`clear` before each forward of the hooked network.
    """

    def __init__(self, model: nn.Module):
        self.layers = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
        if not self.layers:
            raise ConfigError(f"{type(model).__name__} has no BatchNorm2d layer: the BNS loss needs one")
        self.records: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]] = []
        self.handles = [layer.register_forward_hook(self._hook) for layer in self.layers]

    def _hook(self, module: nn.BatchNorm2d, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        var, mean = torch.var_mean(inputs[0], dim=(0, 2, 3), correction=0)
        self.records.append((mean, var, module.running_mean, module.running_var))

    def clear(self) -> None:
        self.records.clear()

    def loss(self) -> torch.Tensor:
        if not self.records:
            raise RuntimeError("no BatchNorm2d statistics recorded: forward the hooked network first")
        terms = [F.mse_loss(mu, rm) + F.mse_loss(var, rv) for mu, var, rm, rv in self.records]
        return torch.stack(terms).mean()

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles = []
        self.clear()


def entropy(logits: torch.Tensor) -> torch.Tensor:
    """Per-row entropy ``H(z) = -sum softmax(z) log softmax(z)`` of logits ``[B, C]``."""
    log_p = F.log_softmax(logits, dim=1)
    return -(log_p.exp() * log_p).sum(dim=1)


def normalised_entropy(h: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``h' = (h - min h) / max(log C - min h, 1e-8)`` over the batch (section 1.5 step 2, guard added)."""
    h_min = h.min()
    return (h - h_min) / (math.log(num_classes) - h_min).clamp_min(1e-8)


def band_loss(h_norm: torch.Tensor, lower: float = 0.3, upper: float = 0.8) -> torch.Tensor:
    """Balance-gap hinge ``mean relu(lower - h') + mean relu(h' - upper)`` (section 1.5 step 3).

    Zero for samples inside ``[lower, upper]``; any batch size (the release hard-codes 16).
    """
    return F.relu(lower - h_norm).mean() + F.relu(h_norm - upper).mean()


def adasg_quantized_loss(p: torch.Tensor, q: torch.Tensor, temperature: float) -> torch.Tensor:
    """``L_Q = -T^2 mean_i H((p_i - q_i) / T)`` (section 1.6): Q removes its disagreement with P."""
    return -(temperature**2) * entropy((p - q) / temperature).mean()


def kd_loss(p: torch.Tensor, q: torch.Tensor, temperature: float, reduction: str = "batchmean") -> torch.Tensor:
    """``T^2 KL(softmax(p/T) || softmax(q/T))``; ``elementwise_mean`` averages over B*C (GDFQ release)."""
    kl = F.kl_div(
        F.log_softmax(q / temperature, dim=1),
        F.log_softmax(p / temperature, dim=1),
        reduction="batchmean",
        log_target=True,
    )
    return temperature**2 * (kl if reduction == "batchmean" else kl / p.shape[1])


# --------------------------------------------------------------------------------------------
# The game (sections 1.1, 1.7)
# --------------------------------------------------------------------------------------------


def _infer_num_classes(model: nn.Module, channels: int, img_size: int, device: torch.device) -> int:
    with torch.no_grad():
        return int(model(torch.zeros(2, channels, img_size, img_size, device=device)).shape[1])


def _as_dataset(data: Dataset | DataLoader | tuple[torch.Tensor, torch.Tensor]) -> Dataset | DataLoader:
    if isinstance(data, tuple | list) and len(data) == 2 and all(isinstance(t, torch.Tensor) for t in data):
        return TensorDataset(*data)
    return data


class DataFreeQuantization(abc.ABC):
    """Shared machinery of AdaSG and GDFQ: players, optimisers, schedules, calibration, ``fit``.

    Subclasses implement only :meth:`generator_loss` and :meth:`quantized_loss` and say with
    ``generator_uses_q`` whether the maximisation step needs ``Q(x)``.

    ``full_precision_model`` is copied, frozen and kept in eval mode (P); Q is
    :func:`~learn_compress.quantization.quantize_model` of it, in eval mode throughout.
    ``config`` is a :class:`GameConfig` (CIFAR paper scale by default); keyword ``overrides``
    replace its fields. The seed is applied at construction (G's initialisation) and the
    same seed gives the same history on CPU.
    """

    generator_uses_q: bool = True

    def __init__(
        self,
        full_precision_model: nn.Module,
        wbits: int = 4,
        abits: int = 4,
        num_classes: int | None = None,
        config: GameConfig | None = None,
        device: str | torch.device = "cpu",
        **overrides: Any,
    ):
        self.config = dataclasses.replace(config or GameConfig(), **overrides)
        cfg = self.config
        self.wbits, self.abits = wbits, abits
        self.device = torch.device(device)
        seed_everything(cfg.seed)
        self.teacher = copy.deepcopy(full_precision_model).to(self.device).eval()
        self.num_classes = num_classes or _infer_num_classes(self.teacher, cfg.channels, cfg.img_size, self.device)
        self.quantized = quantize_model(
            self.teacher, wbits, abits, cfg.quantize_first_last, ema_beta=cfg.ema_beta, ema_mode=cfg.ema_mode
        ).eval()
        self.quantized.requires_grad_(True)
        self.teacher.requires_grad_(False)
        self.generator = ConditionalGenerator(
            self.num_classes, cfg.latent_dim, cfg.img_size, cfg.channels, cfg.conditional_bn, cfg.bn_eps_quirk
        ).to(self.device)
        self.generator.train()
        self.bn_stats = BNStatistics(self.teacher)
        self.g_params = list(self.generator.parameters())
        self.q_params = [p for p in self.quantized.parameters() if p.requires_grad]
        self.opt_g = torch.optim.Adam(self.g_params, lr=cfg.lr_g, betas=cfg.g_betas)
        self.opt_q = torch.optim.SGD(
            self.q_params, lr=cfg.lr_q, momentum=cfg.momentum, weight_decay=cfg.weight_decay, nesterov=cfg.nesterov
        )
        self.epoch = 0
        self.history = History()
        self.best_top1: float | None = None
        self.best_state: dict[str, torch.Tensor] | None = None

    # -- the two losses: the only difference between AdaSG and GDFQ --------------------------

    @abc.abstractmethod
    def generator_loss(
        self, p: torch.Tensor, q: torch.Tensor | None, y: torch.Tensor, loss_bns: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """G's loss and its logged terms from P's and Q's logits on generated images."""

    @abc.abstractmethod
    def quantized_loss(self, p: torch.Tensor, q: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Q's loss from P's and Q's logits on generated images."""

    # -- one iteration ------------------------------------------------------------------------

    def maximisation_step(
        self, z: torch.Tensor, y: torch.Tensor, keep_q_graph: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, dict[str, float]]:
        """G's step (section 1.7): ``x = G(z, y)``, ``p = P(x)``, ``q = Q(x)``, ``L_G``; only G is updated.

        Returns ``(x, p, q, stats)``; ``q`` keeps its graph when ``keep_q_graph`` (reused by the
        minimisation step once the ranges are frozen), and is ``None`` if the loss does not use it.
        """
        x = self.generator(z, y)
        self.bn_stats.clear()
        p = self.teacher(x)
        loss_bns = self.bn_stats.loss()
        self.bn_stats.clear()
        q = self.quantized(x) if self.generator_uses_q else None
        loss, stats = self.generator_loss(p, q, y, loss_bns)
        ensure_finite(loss, f"{type(self).__name__} generator step, epoch {self.epoch}")
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward(inputs=self.g_params, retain_graph=keep_q_graph and q is not None)
        self.opt_g.step()
        stats.update(loss_g=float(loss.detach()), loss_bns=float(loss_bns.detach()))
        return x, p, q, stats

    def minimisation_step(
        self, x: torch.Tensor, p: torch.Tensor, y: torch.Tensor, q: torch.Tensor | None = None, train: bool = True
    ) -> dict[str, float]:
        """Q's step (section 1.6): ``L_Q`` on ``Q(x.detach())`` (or on the given ``q``); only Q is updated.

        With ``train=False`` (warm-up) the loss is only measured (the forward still updates
        the activation ranges while calibrating).
        """
        p = p.detach()
        if q is None:
            with torch.set_grad_enabled(train):
                q = self.quantized(x.detach())
        loss = self.quantized_loss(p, q, y)
        if train:
            ensure_finite(loss, f"{type(self).__name__} quantized-network step, epoch {self.epoch}")
            self.opt_q.zero_grad(set_to_none=True)
            loss.backward(inputs=self.q_params)
            self.opt_q.step()
        return {"loss_q": float(loss.detach()), **self._disagreement_stats(p, q.detach(), y)}

    def _disagreement_stats(self, p: torch.Tensor, q: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        """Mean ``h'``, fraction of ``h'`` inside the band, P's accuracy on the generated labels."""
        h_norm = normalised_entropy(entropy(p - q), self.num_classes)
        inside = (h_norm >= self.config.lambda_l) & (h_norm <= self.config.lambda_u)
        return {
            "h_norm_mean": float(h_norm.mean()),
            "frac_in_band": float(inside.float().mean()),
            "p_acc_generated": 100.0 * float((p.argmax(dim=1) == y).float().mean()),
        }

    def iteration(self, epoch: int) -> dict[str, float]:
        """One G step then one Q step (section 1.7); Q steps only from ``warmup_epochs`` on."""
        cfg = self.config
        calibrating = epoch < cfg.calib_epochs
        train_q = epoch >= cfg.warmup_epochs
        reuse_q = self.generator_uses_q and not calibrating
        z, y = self.generator.sample_inputs(cfg.batch_size, self.device)
        x, p, q, stats = self.maximisation_step(z, y, keep_q_graph=reuse_q and train_q)
        stats.update(self.minimisation_step(x, p, y, q=q if reuse_q else None, train=train_q))
        return stats

    # -- training -----------------------------------------------------------------------------

    def calibration_updates(self, epochs: int, iters_per_epoch: int) -> int:
        """How many range updates the calibration epochs give (2 Q forwards per iteration if G's loss uses Q)."""
        forwards = 2 if self.generator_uses_q else 1
        return min(self.config.calib_epochs, epochs) * iters_per_epoch * forwards

    def _check_calibration_budget(self, epochs: int, iters_per_epoch: int) -> None:
        updates = self.calibration_updates(epochs, iters_per_epoch)
        needed = self.config.min_calibration_updates if self.config.ema_mode == "official" else 1
        if self.epoch == 0 and updates < needed:
            raise ConfigError(
                f"{updates} activation-range updates (calib_epochs={self.config.calib_epochs}, "
                f"iters_per_epoch={iters_per_epoch}) but ema_mode={self.config.ema_mode!r} needs at least {needed}: "
                "the official EMA is still inflated after fewer updates; train longer or use ema_mode='standard'"
            )

    def learning_rate_factor(self, epoch: int) -> float:
        """``lr_decay ** (number of milestones <= epoch)``: the decay applies when the 0-based epoch reaches it."""
        return self.config.lr_decay ** sum(epoch >= m for m in self.config.milestones)

    def _set_learning_rates(self, epoch: int) -> None:
        factor = self.learning_rate_factor(epoch)
        for group in self.opt_g.param_groups:
            group["lr"] = self.config.lr_g * factor
        for group in self.opt_q.param_groups:
            group["lr"] = self.config.lr_q * factor

    def fit(
        self,
        test_data: Dataset | DataLoader | tuple[torch.Tensor, torch.Tensor] | None = None,
        epochs: int | None = None,
        iters_per_epoch: int | None = None,
        quiet: bool = True,
        checkpoint_dir: str | os.PathLike | None = None,
        resume: str | os.PathLike | None = None,
    ) -> tuple[nn.Module, History]:
        """Play the game for ``epochs`` x ``iters_per_epoch`` iterations (section 1.7).

        Per epoch: ranges are updated while ``epoch < calib_epochs`` and frozen after the
        epoch; losses, disagreement statistics and learning rates are averaged into one
        record; with ``test_data`` (normalised images and labels: a Dataset, a DataLoader or
        a tensor pair) Q's top-1 is measured (``test_top1``; best and final both kept, the
        best weights in ``best_state``). Returns the final quantized network and the history.
        Calling ``fit`` again with more epochs continues where it stopped; with
        ``checkpoint_dir`` the whole game (both players, both optimisers, history, best state,
        RNG) is written to ``last.pt`` after every epoch and ``fit(..., resume=path)`` continues
        it exactly.
        """
        if resume is not None:
            self.load_state_dict(load_checkpoint(resume)["state"])
        cfg = self.config
        epochs = cfg.epochs if epochs is None else epochs
        iters = cfg.iters_per_epoch if iters_per_epoch is None else iters_per_epoch
        self._check_calibration_budget(epochs, iters)
        test_data = _as_dataset(test_data) if test_data is not None else None
        for epoch in range(self.epoch, epochs):
            self.epoch = epoch
            self._set_learning_rates(epoch)
            calibrating = epoch < cfg.calib_epochs
            set_calibrating(self.quantized, calibrating)
            sums: dict[str, float] = defaultdict(float)
            start = time.perf_counter()
            for _ in progress(range(iters), quiet=quiet, desc=f"{type(self).__name__} epoch {epoch}"):
                for key, value in self.iteration(epoch).items():
                    sums[key] += value
            seconds = time.perf_counter() - start
            set_calibrating(self.quantized, False)
            record: dict[str, Any] = {"epoch": epoch, **{k: v / iters for k, v in sums.items()}}
            record.update(
                calibrating=calibrating,
                q_trained=epoch >= cfg.warmup_epochs,
                lr_g=self.opt_g.param_groups[0]["lr"],
                lr_q=self.opt_q.param_groups[0]["lr"],
                seconds=seconds,
                seconds_per_iter=seconds / iters,
            )
            if test_data is not None:
                record["test_top1"] = self.evaluate(test_data)
                if self.best_top1 is None or record["test_top1"] > self.best_top1:
                    self.best_top1 = record["test_top1"]
                    self.best_state = {k: v.detach().cpu().clone() for k, v in self.quantized.state_dict().items()}
            self.history.append(record)
            self.epoch = epoch + 1
            logger.info("%s epoch %d: %s", type(self).__name__, epoch, record)
            if checkpoint_dir is not None:
                self.save(Path(checkpoint_dir) / "last.pt")
        return self.quantized, self.history

    # -- checkpoints ---------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue the game exactly (tensors and builtins only)."""
        return {
            "method": type(self).__name__,
            "bits": [self.wbits, self.abits],
            "generator": self.generator.state_dict(),
            "quantized": self.quantized.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_q": self.opt_q.state_dict(),
            "epoch": self.epoch,
            "history": self.history.state_dict(),
            "best_top1": self.best_top1,
            "best_state": self.best_state,
            "rng": get_rng_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` of the same method, bit widths and networks."""
        found = (state.get("method"), list(state.get("bits", ())))
        if found != (type(self).__name__, [self.wbits, self.abits]):
            raise CheckpointError(
                f"checkpoint of {found[0]} W{found[1][0]}A{found[1][1]}, not {type(self).__name__} "
                f"W{self.wbits}A{self.abits}"
                if len(found[1]) == 2
                else f"not a game checkpoint (method {found[0]!r})"
            )
        self.generator.load_state_dict(state["generator"])
        self.quantized.load_state_dict(state["quantized"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_q.load_state_dict(state["opt_q"])
        self.epoch = state["epoch"]
        self.history.load_state_dict(state["history"])
        self.best_top1, self.best_state = state["best_top1"], state["best_state"]
        set_rng_state(state["rng"])

    def save(self, path: str | os.PathLike) -> Path:
        """Write :meth:`state_dict` atomically with the game's configuration."""
        config = {"method": type(self).__name__, "wbits": self.wbits, "abits": self.abits}
        config["game"] = self.config.to_dict()
        return save_checkpoint(path, self.state_dict(), config)

    def evaluate(self, test_data: Dataset | DataLoader | tuple[torch.Tensor, torch.Tensor]) -> float:
        """Top-1 (%) of Q (eval mode, frozen ranges) on normalised test data."""
        set_calibrating(self.quantized, False)
        return float(evaluate(self.quantized, _as_dataset(test_data), self.device, self.config.eval_batch_size)["top1"])


class AdaSG(DataFreeQuantization):
    """AdaSG (``papers/adasg.md``): the generator keeps samples inside the balance gap, Q removes disagreement.

    Maximisation step (section 1.5):
    ``L_G = L_bal + beta (alpha_ds CE(p - q, y) + alpha_as CE(p + q, y)) + gamma L_BNS`` with
    ``L_bal`` the hinge band on the batch-normalised disagreement entropy ``h'_i = H(p_i - q_i)``
    (``lambda_l = 0.3``, ``lambda_u = 0.8``). Minimisation step (section 1.6):
    ``L_Q = -T^2 mean H((p - q) / T)``, T = 20 (CIFAR). Defaults give AdaSG; the AdaDFQ
    variants only change the bounds and weights of :class:`GameConfig`.

    >>> quantized, history = AdaSG(resnet20, wbits=4, abits=4).fit(test_set, epochs=400, iters_per_epoch=200)
    """

    generator_uses_q = True

    def generator_loss(
        self, p: torch.Tensor, q: torch.Tensor | None, y: torch.Tensor, loss_bns: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        cfg = self.config
        h_norm = normalised_entropy(entropy(p - q), self.num_classes)
        loss_bal = band_loss(h_norm, cfg.lambda_l, cfg.lambda_u)
        loss_ds = F.cross_entropy(p - q, y)
        loss_as = F.cross_entropy(p + q, y)
        loss_lab = cfg.alpha_ds * loss_ds + cfg.alpha_as * loss_as
        loss = loss_bal + cfg.beta * loss_lab + cfg.gamma * loss_bns
        stats = {"loss_bal": float(loss_bal.detach()), "loss_ds": float(loss_ds.detach())}
        stats.update(loss_as=float(loss_as.detach()), loss_lab=float(loss_lab.detach()))
        return loss, stats

    def quantized_loss(self, p: torch.Tensor, q: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return adasg_quantized_loss(p, q, self.config.temperature)


class GDFQ(DataFreeQuantization):
    """GDFQ (Xu et al., ECCV 2020) in AdaSG's harness (``papers/adasg.md`` section 1.9).

    ``L_G = CE(P(x), y) + 0.1 L_BNS`` (no Q in G's loss);
    ``L_Q = CE(q, y) + T^2 KL(softmax(p/T) || softmax(q/T))``, T = 20, KL ``batchmean`` by
    default (``kl_reduction="elementwise_mean"`` reproduces the release's extra 1/C).
    """

    generator_uses_q = False

    def generator_loss(
        self, p: torch.Tensor, q: torch.Tensor | None, y: torch.Tensor, loss_bns: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        loss_ce = F.cross_entropy(p, y)
        return loss_ce + self.config.gdfq_bns_weight * loss_bns, {"loss_ce": float(loss_ce.detach())}

    def quantized_loss(self, p: torch.Tensor, q: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        return F.cross_entropy(q, y) + kd_loss(p, q, cfg.temperature, cfg.kl_reduction)


# --------------------------------------------------------------------------------------------
# Naive post-training quantization (section 1.9)
# --------------------------------------------------------------------------------------------


def calibration_batches(
    calib: str | torch.Tensor | ConditionalGenerator,
    num_batches: int,
    batch_size: int,
    image_shape: tuple[int, int, int],
    device: torch.device,
) -> Iterable[torch.Tensor]:
    """Calibration inputs in normalised-image space.

    ``"gaussian"``: ``num_batches`` batches of ``N(0, I)``; a tensor ``[N, c, h, w]``: its
    chunks of ``batch_size``; a :class:`ConditionalGenerator`: ``num_batches`` generated
    batches (train mode, random labels, no gradient).
    """
    if isinstance(calib, str):
        if calib != "gaussian":
            raise ConfigError(f"calib must be 'gaussian', an image tensor or a ConditionalGenerator, got {calib!r}")
        return (torch.randn(batch_size, *image_shape, device=device) for _ in range(num_batches))
    if isinstance(calib, torch.Tensor):
        if calib.dim() != 4 or tuple(calib.shape[1:]) != tuple(image_shape):
            raise ConfigError(
                f"calibration images must have shape [N, {', '.join(map(str, image_shape))}], got {list(calib.shape)}"
            )
        return (chunk.to(device) for chunk in calib.split(batch_size))
    if isinstance(calib, ConditionalGenerator):

        def generated() -> Iterable[torch.Tensor]:
            calib.train()
            for _ in range(num_batches):
                with torch.no_grad():
                    yield calib(*calib.sample_inputs(batch_size, device))

        return generated()
    raise ConfigError(
        f"calib must be 'gaussian', an image tensor or a ConditionalGenerator, got {type(calib).__name__}"
    )


def ptq_minmax(
    model: nn.Module,
    wbits: int,
    abits: int,
    calib: str | torch.Tensor | ConditionalGenerator = "gaussian",
    num_batches: int = 8,
    batch_size: int = 64,
    image_shape: tuple[int, int, int] = (3, 32, 32),
    quantize_first_last: bool = True,
    device: str | torch.device = "cpu",
) -> nn.Module:
    """Naive min-max PTQ: a quantized copy of ``model`` (eval mode) with running min/max activation ranges,
    calibrated on :func:`calibration_batches` and frozen."""
    device = torch.device(device)
    quantized = quantize_model(model, wbits, abits, quantize_first_last, ema_mode="minmax").to(device).eval()
    calibrate(quantized, calibration_batches(calib, num_batches, batch_size, image_shape, device))
    return quantized


class MinMax:
    """Naive min-max post-training quantization, no fine-tuning (``papers/adasg.md`` section 1.9).

    Same quantizer as AdaSG; activation ranges are the running min/max over ``num_batches``
    batches of ``batch_size`` calibration inputs (Gaussian noise in normalised space by
    default, or given real images, or samples of a generator); weights per channel.
    """

    def __init__(
        self,
        full_precision_model: nn.Module,
        wbits: int = 4,
        abits: int = 4,
        calib: str | torch.Tensor | ConditionalGenerator = "gaussian",
        num_batches: int = 8,
        batch_size: int = 64,
        image_shape: tuple[int, int, int] = (3, 32, 32),
        quantize_first_last: bool = True,
        eval_batch_size: int = 500,
        device: str | torch.device = "cpu",
        seed: int = 0,
    ):
        self.device = torch.device(device)
        self.teacher = copy.deepcopy(full_precision_model).to(self.device).eval()
        self.wbits, self.abits = wbits, abits
        self.calib, self.num_batches, self.batch_size = calib, num_batches, batch_size
        self.image_shape = tuple(image_shape)
        self.quantize_first_last = quantize_first_last
        self.eval_batch_size = eval_batch_size
        self.seed = seed
        self.quantized: nn.Module | None = None

    def fit(
        self, test_data: Dataset | DataLoader | tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[nn.Module, History]:
        """Quantize and calibrate; returns Q and a one-record history (``test_top1`` with test data)."""
        seed_everything(self.seed)
        start = time.perf_counter()
        self.quantized = ptq_minmax(
            self.teacher,
            self.wbits,
            self.abits,
            self.calib,
            self.num_batches,
            self.batch_size,
            self.image_shape,
            self.quantize_first_last,
            self.device,
        )
        record: dict[str, Any] = {"epoch": 0, "seconds": time.perf_counter() - start}
        if test_data is not None:
            result = evaluate(self.quantized, _as_dataset(test_data), self.device, self.eval_batch_size)
            record["test_top1"] = float(result["top1"])
        return self.quantized, History([record])


MODELS.register("AdaSG", AdaSG)
MODELS.register("GDFQ", GDFQ)
MODELS.register("MinMax", MinMax)
