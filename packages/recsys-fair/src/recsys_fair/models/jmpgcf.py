"""JMP-GCF: Joint Multi-grained Popularity-aware Graph Convolution CF (Liu et al., IEEE TCSS 2022; jmp-gcf.md).

Section 2 (model, official code ``kangliu1225/JMP-GCF``): one user and one item table (``d = 64``,
Xavier-uniform per table) shared by every popularity granularity ``beta`` in ``(0.3, 0.4, 0.5)``;
``Ahat_beta = D^-1/2 (A + I) D^-beta`` (row ``r`` receives, ``d = deg + 1``); ``E_beta^l = Ahat_beta
E_beta^(l-1)`` with no weights or non-linearity; only layers 3 and 4 enter the score
``s_beta(u, i) = <e_u^3, e_i^3> + <e_u^4, e_i^4>`` and ``y = sum over the active betas of s_beta``,
i.e. the dot product of the concatenated ``[e^3_beta || e^4_beta]`` (one matmul in ``full_scores``).

Each granularity's graph is built by :func:`normalized_adjacency` and all of them are kept as the
diagonal blocks of one block-diagonal adjacency: the active granularities (the leading blocks)
propagate together, one :func:`propagate` product per layer, and inactive ones are never computed.

Section 3 (training): per-granularity loss ``L_beta = sum over the layers of BPR on that layer's dot
products + decay * l2_half_sum(u^4, i^4, j^4)`` (regulariser on the propagated last layer, not on
the ego rows as in LightGCN); stage ``s`` trains ``sum_{beta in B_s} L_beta``. Multistage stacked
schedule: 0-based epoch ``e`` is in stage 1 if ``e <= T1``, stage 2 if ``T1 < e <= T2``, stage 3
after; each stage has its own Adam with fresh moments (``reset_optimizer_on_stage=True``; the code
builds three optimizers).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from lab_common import History

from ..data.dataset import InteractionData, make_csr
from ..data.samplers import UserBatchSampler
from ..registry import MODELS
from .base import GraphRecommender, run_pass
from .graph import interaction_adjacency, propagate
from .losses import bpr_loss, l2_half_sum

log = logging.getLogger(__name__)

PAPER_CONFIGS: dict[str, dict[str, Any]] = {
    "gowalla": {"stage_epochs": (300, 600), "decay": 1e-4},
    "yelp2018": {"stage_epochs": (300, 1000), "decay": 1e-4},
    "amazon-book": {"stage_epochs": (300, 1000), "decay": 1e-5},
}
"""Per-dataset settings of jmp-gcf.md section 3 (batch 4096, lr 1e-3, d 64, 1000 epochs for all);
with ``T2 = 1000`` Yelp2018 and Amazon-Book never reach stage 3 in 1000 epochs (official code)."""


def block_diagonal(graphs: list[torch.Tensor]) -> torch.Tensor:
    """The CSR block-diagonal matrix ``diag(graphs[0], graphs[1], ...)`` of square CSR graphs."""
    n = graphs[0].shape[0]
    nnz = torch.tensor([0] + [g._nnz() for g in graphs]).cumsum(0)
    crow = torch.cat([graphs[0].crow_indices()[:1]] + [g.crow_indices()[1:] + nnz[k] for k, g in enumerate(graphs)])
    cols = torch.cat([g.col_indices() + k * n for k, g in enumerate(graphs)])
    values = torch.cat([g.values() for g in graphs])
    return make_csr(crow, cols, values, (n * len(graphs), n * len(graphs)))


def leading_block(adjacency: torch.Tensor, size: int) -> torch.Tensor:
    """The leading ``[size, size]`` block of a block-diagonal CSR matrix (views, no copy)."""
    crow = adjacency.crow_indices()[: size + 1]
    end = int(crow[-1])
    return make_csr(crow, adjacency.col_indices()[:end], adjacency.values()[:end], (size, size))


def stage_epochs_from_fractions(epochs: int, fractions: tuple[float, float] = (0.3, 0.6)) -> tuple[int, int]:
    """Stage boundaries ``(T1, T2)`` giving stage ``s`` the share ``fractions`` of ``epochs`` (assumed):
    stage 1 holds epochs ``0 .. round(f1 * epochs) - 1``, so all three stages occur in a short run."""
    t1, t2 = (round(f * epochs) - 1 for f in fractions)
    return t1, t2


@MODELS.register("JMP-GCF")
class JMPGCF(GraphRecommender):
    """JMP-GCF over the training graph of ``adjacency_source`` (jmp-gcf.md sections 2-3).

    ``stage`` (a buffer, so checkpoints and selected states carry it) is the number of active
    granularities; ``train_epoch`` sets it from ``stage_epochs`` and ``full_scores`` uses it.
    ``stage_epochs=(-1, -1)`` trains all granularities jointly from epoch 0 (the no-stacking ablation).
    """

    def __init__(
        self,
        n_users: int,
        n_items: int,
        adjacency_source: InteractionData,
        betas: tuple[float, ...] = (0.3, 0.4, 0.5),
        layers: tuple[int, ...] = (3, 4),
        dim: int = 64,
        decay: float = 1e-4,
        stage_epochs: tuple[int, int] = (300, 600),
        reset_optimizer_on_stage: bool = True,
    ):
        super().__init__()
        data = adjacency_source
        if (data.n_users, data.n_items) != (n_users, n_items):
            raise ValueError(f"adjacency_source has {data.n_users} x {data.n_items} nodes, not {n_users} x {n_items}")
        self.config = {
            "betas": tuple(betas),
            "layers": tuple(layers),
            "dim": dim,
            "decay": decay,
            "stage_epochs": tuple(stage_epochs),
            "reset_optimizer_on_stage": reset_optimizer_on_stage,
        }
        self.n_users, self.betas, self.layers, self.dim, self.decay = n_users, tuple(betas), tuple(layers), dim, decay
        self.stage_epochs, self.reset_optimizer_on_stage = tuple(stage_epochs), reset_optimizer_on_stage
        graphs = [interaction_adjacency(data, left=0.5, right=beta, self_loop=1.0) for beta in self.betas]
        self.set_adjacency(block_diagonal(graphs))
        self.register_buffer("_stage", torch.tensor(1))
        self.user = nn.Parameter(nn.init.xavier_uniform_(torch.empty(n_users, dim)))
        self.item = nn.Parameter(nn.init.xavier_uniform_(torch.empty(n_items, dim)))

    @classmethod
    def from_data(cls, data: InteractionData, **config: Any) -> JMPGCF:
        return cls(data.n_users, data.n_items, adjacency_source=data, **config)

    @staticmethod
    def paper_config(dataset_name: str) -> dict[str, Any]:
        """The model arguments of jmp-gcf.md section 3 for ``gowalla``, ``yelp2018`` or ``amazon-book``."""
        key = dataset_name.lower()
        if key not in PAPER_CONFIGS:
            raise KeyError(f"no JMP-GCF defaults for {dataset_name!r}; known: {sorted(PAPER_CONFIGS)}")
        return dict(PAPER_CONFIGS[key])

    # ------------------------------------------------------------------ stages
    @property
    def stage(self) -> int:
        """The number of active granularities (stage ``s`` uses the first ``s`` betas)."""
        return int(self._stage)

    @stage.setter
    def stage(self, value: int) -> None:
        if not 1 <= value <= len(self.betas):
            raise ValueError(f"stage must lie in [1, {len(self.betas)}], got {value}")
        self._stage.fill_(value)

    def stage_for_epoch(self, epoch: int) -> int:
        """Stage of 0-based ``epoch``: 1 while ``epoch <= T1``, 2 while ``epoch <= T2``, then 3."""
        return 1 + sum(epoch > boundary for boundary in self.stage_epochs[: len(self.betas) - 1])

    # ------------------------------------------------------------------ model
    def granularity_layers(self) -> list[torch.Tensor]:
        """``[stage, N, d]`` node rows of each layer in ``layers``: ``[g]`` is ``Ahat_betas[g]^l E^0``.

        The active granularities' graphs form the leading diagonal blocks of one block-diagonal
        adjacency, so each layer is one sparse product over all of them; inactive ones are skipped.
        """
        active, n_nodes = self.stage, self.user.shape[0] + self.item.shape[0]
        adjacency, transposed = (leading_block(a, active * n_nodes) for a in (self.adjacency, self.adjacency_t))
        ego = torch.cat([self.user, self.item]).repeat(active, 1)
        outputs = propagate(adjacency, ego, max(self.layers), transposed)
        return [outputs[layer].view(active, n_nodes, self.dim) for layer in self.layers]

    def layer_outputs(self) -> list[torch.Tensor]:
        """``[N, d * stage]`` rows of each layer in ``layers``; column block ``g`` is granularity ``betas[g]``."""
        return [out.permute(1, 0, 2).reshape(out.shape[1], -1) for out in self.granularity_layers()]

    def embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``[e^3_beta || e^4_beta]`` over the active betas: the dot product is ``y(u, i)``."""
        final = torch.cat(self.layer_outputs(), 1)
        return final[: self.n_users], final[self.n_users :]

    def loss(self, users: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor) -> dict[str, torch.Tensor]:
        """``sum over the active betas of L_beta`` (jmp-gcf.md section 3): per granularity and layer a
        BPR on that granularity's own dot products, and ``decay * l2_half_sum`` of the last layer."""
        n, bpr = self.n_users, 0.0
        for nodes in self.granularity_layers():
            u, i, j = nodes[:, users], nodes[:, n + positives], nodes[:, n + negatives]  # [stage, B, d]
            positive, negative = (u * i).sum(-1), (u * j).sum(-1)
            bpr = bpr + sum(bpr_loss(positive[g], negative[g]) for g in range(len(u)))
        reg = self.decay * l2_half_sum(u, i, j, batch_size=len(users))
        return {"loss": bpr + reg, "bpr": bpr, "reg": reg}

    # ------------------------------------------------------------------ training hooks
    def may_stop_early(self, epoch: int) -> bool:
        """Early stopping ends training only in the last stage (jmp-gcf.md, section 3)."""
        return self.stage_for_epoch(epoch) == len(self.betas)

    def make_optimizers(self, lr: float) -> dict[str, torch.optim.Optimizer]:
        """One Adam per stage (fresh moments at each switch), or one for all stages."""
        if not self.reset_optimizer_on_stage:
            return super().make_optimizers(lr)
        return {f"stage{s}": torch.optim.Adam(self.parameters(), lr=lr) for s in range(1, len(self.betas) + 1)}

    def train_epoch(
        self,
        step_model: nn.Module,
        batches: Callable[[], Iterable[tuple[torch.Tensor, ...]]],
        optimizers: dict[str, torch.optim.Optimizer],
        epoch: int,
    ) -> dict[str, float]:
        """Switch to ``epoch``'s stage, then one pass of BPR steps with that stage's optimizer; the
        record carries the stage as ``jmp_stage`` (the trainer's ``stage`` key names the record kind)."""
        stage = self.stage_for_epoch(epoch)
        if stage != self.stage:
            log.info("epoch %d: stage %d, granularities %s", epoch, stage, self.betas[:stage])
        self.stage = stage
        optimizer = optimizers[f"stage{stage}"] if self.reset_optimizer_on_stage else optimizers["model"]
        parts = run_pass(step_model, batches(), optimizer, f"epoch {epoch} (stage {stage})")
        return {**parts, "jmp_stage": float(stage)}

    def fit(
        self,
        data: InteractionData,
        epochs: int = 1000,
        stage_epochs: tuple[int, int] | None = None,
        stage_fractions: tuple[float, float] | None = None,
        batch_size: int = 4096,
        lr: float = 1e-3,
        protocol: str = "paper",
        eval_every: int = 20,
        seed: int = 0,
        device: str | torch.device = "cpu",
        checkpoint_dir: str | os.PathLike | None = None,
        resume: str | os.PathLike | None = None,
        quiet: bool = True,
    ) -> History:
        """Train with the official recipe (``UserBatchSampler``, Adam, full-sort Recall@20 selection)
        through :class:`recsys_fair.Trainer`; ``stage_fractions`` sets ``(T1, T2)`` from ``epochs``."""
        from ..training import Trainer

        if stage_fractions is not None:
            stage_epochs = stage_epochs_from_fractions(epochs, stage_fractions)
        if stage_epochs is not None:
            self.stage_epochs = self.config["stage_epochs"] = tuple(stage_epochs)
        trainer = Trainer(
            epochs=epochs,
            lr=lr,
            eval_every=eval_every,
            metric="recall@20",
            ks=(10, 20, 50),
            protocol=protocol,
            checkpoint_dir=checkpoint_dir,
            device=device,
            seed=seed,
            quiet=quiet,
        )
        return trainer.fit(self, data, UserBatchSampler(data, batch_size=batch_size, seed=seed), resume=resume)
