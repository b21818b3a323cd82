"""FDA: fairness-aware data augmentation (Chen et al., WWW 2023; fda.md).

A wrapper around any embedding-based recommender of the package whose base tables are the
parameters ``user`` and ``item`` (``MF``, ``GCCF``, ``LightGCN``). It adds one learnable perturbation
per item, ``delta [I, d]`` (``N(0, 0.01^2)``, section 2.2); a "similar item" of ``i`` is item ``i``'s
base embedding moved by ``delta_i`` and pushed through the backbone (section 2.4)::

    F = propagate(E_U, base(E_I) + delta).items,     base = clamp(., -1, 1) for MF, identity for graphs

- **Task loss** (section 3.1, outer problem; ``E_U``, ``E_I`` only): with ``n_f = floor(rho * B)``, the
  last ``n_f`` positives are replaced by their fake versions and the fake versions of the last ``n_f``
  negatives are put in front of the first ``B - n_f`` real negatives; the regulariser uses the real
  negatives. ``delta`` is detached. ``n_f = 0`` is exactly the backbone's BPR loss (no fake data).
- **Augmentation loss** (section 3.2, inner problem; ``delta`` only): each group's users receive the
  other group's fake positives of the batch (its last row dropped), tiled cyclically, against their
  own real negatives. A batch with fewer than 2 rows of either group is skipped and counted.
- **Schedule** (section 3.3, official code): each epoch runs a full task pass (``Adam_task``) then a
  full augmentation pass (``Adam_aug``) over a fresh shuffle of the same epoch's triples, with the
  tables already updated by the task pass. Both optimizers keep their state across epochs.

Cost: the graph backbones (``GCCF``, ``LightGCN``) are linear in their base tables, so the fake table
is the real one shifted by the propagation of ``delta`` alone,
``represent(E_U, E_I + delta).items = I_f + represent(0, delta).items``: the task step reuses the
representations it propagates anyway (the shift carries no gradient, ``delta`` being detached there),
and the augmentation pass propagates the fixed real tables once per pass, then only ``delta`` per step
(equal to the direct computation up to float rounding; tested).

The registered ``FDA-MF``, ``FDA-GCCF`` and ``FDA-LightGCN`` are :class:`FDAModel` subclasses that
build their backbone from data; :class:`recsys_fair.Trainer` trains them through the
``make_optimizers`` / ``train_epoch`` hooks, checkpoints ``delta`` with both optimizer states and
evaluates the backbone (``delta`` is used only in training). :class:`FDA` is the procedure of
section 3.5: ``FDA(backbone="mf").fit(data)`` returns the history and ``FDA.model`` is the trained
backbone.
"""

from __future__ import annotations

import inspect
import logging
import math
import os
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import torch
from torch import nn
from torch.func import functional_call

from lab_common import History

from ..data.dataset import InteractionData
from ..registry import MODELS
from .base import Recommender, run_pass
from .gccf import GCCF
from .lightgcn import LightGCN
from .losses import bpr_loss, l2_batch_mean
from .mf import MF

log = logging.getLogger(__name__)

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]
DELTA_STD = 0.01
"""``delta ~ N(0, 0.01^2)`` (official code)."""
FDA_KEYS = ("rho", "lr_aug", "weight", "augment", "clamp_fake_base")
LINEAR_BACKBONES: tuple[type[Recommender], ...] = (GCCF, LightGCN)
"""Backbones whose representations are linear in ``(E_U, E_I)`` (no activation, fixed adjacency)."""

PAPER_SETTINGS: dict[tuple[str, str], dict[str, Any]] = {
    ("mf", "ml-1m"): {"rho": 0.4, "lr": 1e-3, "lr_aug": 1e-3, "epochs": 136, "seed": 2022},
    ("mf", "lastfm-360k"): {"rho": 0.3, "lr": 1e-3, "lr_aug": 1e-3, "epochs": 83, "seed": 2024},
    ("gccf", "ml-1m"): {"rho": 0.5, "lr": 2e-3, "lr_aug": 1e-3, "epochs": 86, "seed": 2022},
    ("gccf", "lastfm-360k"): {"rho": 0.4, "lr": 1e-3, "lr_aug": 1e-3, "epochs": 49, "seed": 2024},
}
"""Per-dataset settings of the official code (fda.md, section 3.3); batch 204,800 (``"auto"`` keeps its
22 batches per epoch) and 5 negatives in all four."""


def mix_fake(
    p: torch.Tensor,
    n: torch.Tensor,
    fake: torch.Tensor | None,
    positives: torch.Tensor,
    negatives: torch.Tensor,
    rho: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The task loss's positives ``P`` and negatives ``N`` (fda.md, section 3.1; official code).

    ``p``, ``n`` are the real rows of the batch's positives and negatives, ``fake`` the fake item
    table. ``P = [p[:B-n_f]; fake[i_b[B-n_f:]]]``, ``N = [fake[j_b[B-n_f:]]; n[:B-n_f]]`` with
    ``n_f = floor(rho * B)``; with ``n_f = 0`` they are ``p`` and ``n`` themselves (the official slicing
    would replace every positive then; that is not reproduced).
    """
    n_fake = math.floor(rho * len(positives))
    if n_fake == 0:
        return p, n
    cut = len(positives) - n_fake
    return torch.cat([p[:cut], fake[positives[cut:]]]), torch.cat([fake[negatives[cut:]], n[:cut]])


def cross_group_pairs(groups: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """Batch positions of the augmentation loss's pairs (fda.md, section 3.2; the code's ``fake_pos``).

    ``groups [B]`` is the group of each row. Returns ``(idx_1, src_1, idx_0, src_0)``: the rows of
    group 1 and, for each, the batch row whose fake positive it receives,
    ``src_1[k] = idx_0[k mod (n_0 - 1)]`` (and the reverse for group 0), or ``None`` when either
    group has fewer than 2 rows.
    """
    idx_1, idx_0 = (groups == 1).nonzero().flatten(), (groups == 0).nonzero().flatten()
    n_1, n_0 = len(idx_1), len(idx_0)
    if n_1 < 2 or n_0 < 2:
        return None
    positions_1 = torch.arange(n_1, device=groups.device)
    positions_0 = torch.arange(n_0, device=groups.device)
    return idx_1, idx_0[positions_1 % (n_0 - 1)], idx_0, idx_1[positions_0 % (n_1 - 1)]


class _Representations(nn.Module):
    """``backbone.embeddings()`` as a forward pass, so ``functional_call`` can swap its base tables."""

    def __init__(self, backbone: Recommender):
        super().__init__()
        self.backbone = backbone

    def forward(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.backbone.embeddings()


class FDAModel(Recommender):
    """A backbone with FDA's perturbation table, losses and two-pass epoch (see the module docstring).

    ``groups [U]`` is the binary sensitive feature (``data.groups()``). Scores, evaluation and
    :meth:`embeddings` are the backbone's.
    """

    def __init__(
        self,
        backbone: Recommender,
        groups: torch.Tensor,
        rho: float = 0.4,
        lr_aug: float = 1e-3,
        weight: float = 0.01,
        augment: bool = True,
        clamp_fake_base: bool = True,
    ):
        super().__init__()
        for table in ("user", "item"):
            if not isinstance(getattr(backbone, table, None), nn.Parameter):
                raise TypeError(f"FDA needs a backbone with a parameter table {table!r}; {type(backbone).__name__}")
        if not 0.0 <= rho < 1.0:
            raise ValueError(f"rho must be in [0, 1), got {rho}")
        self.backbone = backbone
        self.rho, self.lr_aug, self.weight, self.augment = rho, lr_aug, weight, augment
        self.clamp_fake_base = clamp_fake_base
        self.register_buffer("groups", groups.long(), persistent=False)
        self.delta = nn.Parameter(torch.randn_like(backbone.item.detach()) * DELTA_STD)
        fda_config = {"rho": rho, "lr_aug": lr_aug, "weight": weight, "augment": augment}
        self.config = {**backbone.config, **fda_config, "clamp_fake_base": clamp_fake_base}

    # ------------------------------------------------------------------ representations
    def embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.backbone.embeddings()

    def represent(self, user_table: torch.Tensor, item_table: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The backbone's final representations computed from the given base tables."""
        tables = {"backbone.user": user_table, "backbone.item": item_table}
        return functional_call(_Representations(self.backbone), tables, ())

    def fake_items(
        self,
        user_table: torch.Tensor,
        item_table: torch.Tensor,
        delta: torch.Tensor,
        real_items: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``F = represent(E_U, base(E_I) + delta).items`` (fda.md, section 2.4).

        ``real_items`` is ``represent(E_U, E_I).items`` when the caller has it; for a linear backbone
        without the clamp, ``F`` is then ``real_items + represent(0, delta).items`` (one propagation of
        ``delta`` instead of the whole graph's; gradients reach the tables through ``real_items``).
        """
        if real_items is not None and self.shares_propagation:
            return real_items + self.represent(torch.zeros_like(user_table), delta)[1]
        base = item_table.clamp(-1.0, 1.0) if self.clamp_fake_base else item_table
        return self.represent(user_table, base + delta)[1]

    @property
    def shares_propagation(self) -> bool:
        """Whether the fake table is the real one plus the propagated ``delta`` (see the module docstring)."""
        return isinstance(self.backbone, LINEAR_BACKBONES) and not self.clamp_fake_base

    # ------------------------------------------------------------------ losses
    def loss(self, users: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor) -> dict[str, torch.Tensor]:
        """Task loss ``BPR(u, P, N) + weight * mean_b(|u_b|^2 + |P_b|^2 + |n_b|^2)`` (section 3.1)."""
        user_repr, item_repr = self.embeddings()
        fake = None
        if math.floor(self.rho * len(users)) > 0:
            fake = self.fake_items(self.backbone.user, self.backbone.item, self.delta.detach(), item_repr)
        u, p, n = user_repr[users], item_repr[positives], item_repr[negatives]
        p_rows, n_rows = mix_fake(p, n, fake, positives, negatives, self.rho)
        bpr = bpr_loss((u * p_rows).sum(-1), (u * n_rows).sum(-1))
        reg = self.weight * l2_batch_mean(u, p_rows, n)
        return {"loss": bpr + reg, "bpr": bpr, "reg": reg}

    def augmentation_loss(
        self,
        users: torch.Tensor,
        positives: torch.Tensor,
        negatives: torch.Tensor,
        representations: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> dict[str, torch.Tensor] | None:
        """Cross-group fake-data loss (section 3.2); gradients reach ``delta`` only. ``None`` when the
        batch has fewer than 2 rows of a group. ``representations`` are the backbone's current
        ``embeddings()`` without gradient (computed here when not given; the augmentation pass
        computes them once, since only ``delta`` changes during it)."""
        pairs = cross_group_pairs(self.groups[users])
        if pairs is None:
            return None
        if representations is None:
            representations = self.real_representations()
        user_repr, item_repr = representations
        fake = self.fake_items(self.backbone.user.detach(), self.backbone.item.detach(), self.delta, item_repr)
        u, n = user_repr[users], item_repr[negatives]
        bpr, reg = 0.0, 0.0
        for rows, sources in (pairs[:2], pairs[2:]):
            like = fake[positives[sources]]
            bpr = bpr + bpr_loss((u[rows] * like).sum(-1), (u[rows] * n[rows]).sum(-1))
            reg = reg + self.weight * like.pow(2).sum(-1).mean()
        return {"loss": bpr + reg, "bpr": bpr, "reg": reg}

    @torch.no_grad()
    def real_representations(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The backbone's ``embeddings()``, detached (MF returns its parameter tables themselves)."""
        user_repr, item_repr = self.embeddings()
        return user_repr.detach(), item_repr.detach()

    # ------------------------------------------------------------------ training hooks
    def make_optimizers(self, lr: float) -> dict[str, torch.optim.Optimizer]:
        """``Adam_task`` over the backbone's tables (``lr``) and ``Adam_aug`` over ``delta`` (``lr_aug``),
        no weight decay (section 3.3)."""
        return {
            "task": torch.optim.Adam(self.backbone.parameters(), lr=lr),
            "augment": torch.optim.Adam([self.delta], lr=self.lr_aug),
        }

    def train_epoch(
        self,
        step_model: nn.Module,
        batches: Callable[[], Iterable[Batch]],
        optimizers: dict[str, torch.optim.Optimizer],
        epoch: int,
    ) -> dict[str, float]:
        """The task pass over the epoch's batches, then (with ``augment``) the augmentation pass over
        a fresh shuffle of the same triples cut into batches of the same sizes."""
        seen: list[Batch] = []

        def recorded() -> Iterable[Batch]:
            for batch in batches():
                seen.append(batch)
                yield batch

        parts = run_pass(step_model, recorded(), optimizers["task"], f"epoch {epoch}, task pass")
        if self.augment:
            parts.update(self._augmentation_pass(seen, optimizers["augment"], epoch))
        return parts

    def _augmentation_pass(self, seen: list[Batch], optimizer: torch.optim.Optimizer, epoch: int) -> dict[str, float]:
        users, positives, negatives = (torch.cat(column) for column in zip(*seen))
        order = torch.randperm(len(users)).to(users.device)
        pending = [(users[i], positives[i], negatives[i]) for i in order.split([len(b[0]) for b in seen])]
        steps = [batch for batch in pending if cross_group_pairs(self.groups[batch[0]]) is not None]
        skipped = len(pending) - len(steps)
        if skipped:
            log.info("epoch %d: %d augmentation batches skipped (a group has fewer than 2 rows)", epoch, skipped)
        where = f"epoch {epoch}, augmentation pass"
        representations = self.real_representations()  # the tables stay fixed during this pass

        def loss_fn(*batch: torch.Tensor) -> dict[str, torch.Tensor] | None:
            return self.augmentation_loss(*batch, representations=representations)

        means = run_pass(self, steps, optimizer, where, loss_fn=loss_fn)
        return {**{f"aug_{name}": value for name, value in means.items()}, "aug_skipped": float(skipped)}


class _RegisteredFDA(FDAModel):
    """FDA over a registered backbone, built from data with the backbone's per-kind defaults."""

    backbone_name: ClassVar[str]
    default_rho: ClassVar[float]
    default_clamp: ClassVar[bool]

    @classmethod
    def from_data(cls, data: InteractionData, **config: Any) -> FDAModel:
        """``config`` holds FDA's keys (``rho``, ``lr_aug``, ``weight``, ``augment``,
        ``clamp_fake_base``) and the backbone's (``dim``, ...). ``weight`` also goes to a backbone
        that has one, so its own loss is FDA's task loss without fake data. A dataset without a
        sensitive attribute raises ``ValueError`` here, before any training."""
        groups = data.groups()
        fda = {key: config.pop(key) for key in FDA_KEYS if key in config}
        fda.setdefault("rho", cls.default_rho)
        fda.setdefault("clamp_fake_base", cls.default_clamp)
        backbone_cls = MODELS.get(cls.backbone_name)
        if "weight" in inspect.signature(backbone_cls.__init__).parameters and "weight" in fda:
            config["weight"] = fda["weight"]
        return cls(backbone_cls.from_data(data, **config), groups, **fda)


def _register(name: str, backbone: str, rho: float, clamp: bool) -> type[FDAModel]:
    attributes = {
        "backbone_name": backbone,
        "default_rho": rho,
        "default_clamp": clamp,
        "__doc__": (
            f"FDA over ``{backbone}`` (rho {rho}, fake base {'clamped' if clamp else 'not clamped'}; fda.md 2.4, 3.3)."
        ),
    }
    return MODELS.register(name)(type(name.replace("-", ""), (_RegisteredFDA,), attributes))


FDAMF = _register("FDA-MF", "MF", rho=0.4, clamp=True)
FDAGCCF = _register("FDA-GCCF", "GCCF", rho=0.5, clamp=False)
FDALightGCN = _register("FDA-LightGCN", "LightGCN", rho=0.5, clamp=False)
BACKBONES = {"mf": "FDA-MF", "gccf": "FDA-GCCF", "lightgcn": "FDA-LightGCN"}
"""``FDA(backbone=...)`` names and the registered FDA model each builds."""


class FDA:
    """FDA's training procedure (fda.md, section 3.5): ``FDA(backbone="mf").fit(data)``.

    ``backbone`` is ``"mf"``, ``"gccf"``, ``"lightgcn"`` or a :class:`Recommender` module with ``user``
    and ``item`` parameter tables. ``rho=None`` takes the backbone's default (0.4 MF, 0.5 graphs);
    ``augment=False, rho=0`` is the baseline with the same backbone (section 3.4). ``fit`` trains with
    :class:`recsys_fair.Trainer` (``protocol="clean"``: validation NDCG@20 every ``eval_every`` epochs,
    patience ``patience``; ``"paper"``: fixed epochs, test-selected) on a ``PairwiseSampler`` with
    ``n_negatives`` negatives and returns the history; :attr:`model` is the trained backbone.
    """

    def __init__(
        self,
        backbone: str | Recommender = "mf",
        rho: float | None = None,
        lr: float = 1e-3,
        lr_aug: float = 1e-3,
        weight: float = 0.01,
        n_negatives: int = 5,
        batch_size: int | str = "auto",
        epochs: int = 136,
        augment: bool = True,
        eval_every: int = 5,
        patience: int = 10,
        device: str | torch.device = "cpu",
        seed: int = 0,
        checkpoint_dir: str | os.PathLike | None = None,
        quiet: bool = True,
        **backbone_config: Any,
    ):
        if isinstance(backbone, str) and backbone.lower() not in BACKBONES:
            raise ValueError(f"backbone must be one of {sorted(BACKBONES)} or a Recommender, got {backbone!r}")
        self.backbone, self.backbone_config = backbone, backbone_config
        fda = {"rho": rho, "lr_aug": lr_aug, "weight": weight, "augment": augment}
        self.fda_config = {k: v for k, v in fda.items() if v is not None}
        self.lr, self.n_negatives, self.batch_size, self.epochs = lr, n_negatives, batch_size, epochs
        self.eval_every, self.patience, self.device, self.seed = eval_every, patience, device, seed
        self.checkpoint_dir, self.quiet = checkpoint_dir, quiet
        self.wrapper: FDAModel | None = None

    @classmethod
    def paper(cls, backbone: str, dataset: str, **overrides: Any) -> FDA:
        """The official script's settings for ``backbone`` (``"mf"``, ``"gccf"``) on ``dataset``
        (``"ml-1m"``, ``"lastfm-360k"``), e.g. ``FDA.paper("gccf", "ml-1m").fit(data, protocol="paper")``."""
        key = (backbone.lower(), dataset.lower())
        if key not in PAPER_SETTINGS:
            raise KeyError(f"no official setting for {key}; known: {sorted(PAPER_SETTINGS)}")
        settings = {**PAPER_SETTINGS[key], **overrides}
        return cls(backbone, eval_every=settings["epochs"], **settings)

    def build(self, data: InteractionData) -> FDAModel:
        """The FDA model for ``data`` (its groups, and its graph for graph backbones)."""
        if isinstance(self.backbone, str):
            return MODELS.get(BACKBONES[self.backbone.lower()]).from_data(
                data, **self.fda_config, **self.backbone_config
            )
        clamp = isinstance(self.backbone, MF)
        return FDAModel(self.backbone, data.groups(), **{"clamp_fake_base": clamp, **self.fda_config})

    def fit(self, data: InteractionData, protocol: str = "clean", resume: str | os.PathLike | None = None) -> History:
        """Train on ``data`` and return the :class:`lab_common.History` (task loss parts, ``aug_*``
        parts, ``aug_skipped``, and metrics when evaluated)."""
        from ..training import Trainer, make_sampler  # the trainer imports the models package

        self.wrapper = self.build(data)
        sampler = make_sampler("pairwise", data, self.batch_size, seed=self.seed, n_negatives=self.n_negatives)
        trainer = Trainer(
            epochs=self.epochs,
            lr=self.lr,
            eval_every=self.eval_every,
            patience=self.patience,
            protocol=protocol,
            ks=(10, 20, 30, 40, 50),
            checkpoint_dir=self.checkpoint_dir,
            device=self.device,
            seed=self.seed,
            quiet=self.quiet,
        )
        return trainer.fit(self.wrapper, data, sampler, resume=resume)

    @property
    def model(self) -> Recommender:
        """The trained backbone, a plain recommender."""
        if self.wrapper is None:
            raise RuntimeError("FDA.model is available after fit(data)")
        return self.wrapper.backbone
