"""The common training loop, protocols and checkpoints (recsys-common.md, section 10).

``Trainer.fit(model, data, sampler)`` runs epochs of ``sampler.batches(epoch)`` through
``model(users, pos, neg)["loss"]`` with Adam, evaluates every ``eval_every`` epochs and returns a
:class:`lab_common.History` of per-epoch records (epoch, stage, each loss part, seconds, metrics).

- ``protocol="clean"`` (default): select on ``valid`` by ``metric``, stop after ``patience``
  evaluations without gain, then evaluate the best state on ``test`` once (a record with
  ``stage="test"``).
- ``protocol="paper"``: what the official code does, labelled test-selected: evaluate ``test`` every
  ``eval_every`` epochs, never stop early, and report the best row (``stage="best (test-selected)"``).

With ``checkpoint_dir``, ``last.pt`` (everything needed to resume: weights, optimizer, history,
early-stopping state, best weights, RNG state, data fingerprint) is written after every epoch and
``best.pt`` whenever the selection metric improves; ``fit(..., resume=path)`` continues exactly. A
non-finite loss raises :class:`lab_common.NonFiniteLossError` before the update, leaving the last
checkpoint intact. Under ``torchrun`` the model is wrapped in DDP, each rank trains on its shard of
every batch (see :mod:`recsys_fair.data.samplers`) and only rank 0 writes files.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from lab_common import (
    CheckpointError,
    EarlyStopping,
    History,
    barrier,
    get_rng_state,
    is_main_process,
    load_checkpoint,
    progress,
    save_checkpoint,
    set_rng_state,
    wrap_ddp,
)

from .data.dataset import InteractionData
from .data.samplers import PairwiseSampler, UserBatchSampler
from .evaluation import evaluate_full_sort, evaluate_sampled
from .models.base import Recommender
from .registry import MODELS

log = logging.getLogger(__name__)

PROTOCOLS = ("clean", "paper")
FDA_BATCHES_PER_EPOCH = 22
RECIPES: dict[str, dict[str, Any]] = {
    "MF": {"sampler": "pairwise", "batch_size": "auto", "n_negatives": 5, "lr": 1e-3},
    "LightGCN": {"sampler": "user", "batch_size": 2048, "lr": 1e-3},
    "LightGCN-PyG": {"sampler": "user", "batch_size": 2048, "lr": 1e-3},
    "GCCF": {"sampler": "pairwise", "batch_size": "auto", "n_negatives": 5, "lr": 1e-3},
    "FDA-MF": {"sampler": "pairwise", "batch_size": "auto", "n_negatives": 5, "lr": 1e-3},
    "FDA-GCCF": {"sampler": "pairwise", "batch_size": "auto", "n_negatives": 5, "lr": 2e-3},
    "FDA-LightGCN": {"sampler": "pairwise", "batch_size": "auto", "n_negatives": 5, "lr": 1e-3},
    "MEGCF": {"sampler": "user", "batch_size": 2048, "lr": 1e-3},
    "JMP-GCF": {"sampler": "user", "batch_size": 4096, "lr": 1e-3},
}
"""Each model's training recipe (recsys-common.md, section 8): MF, GCCF and the FDA models with
FDA's trainer settings (fda.md, section 3.3; FDA-GCCF's task lr 2e-3 from the official ML-1M script),
LightGCN and MEGCF with ``UserBatchSampler``, batch 2048 and Adam 1e-3 (megcf.md, section 3), JMP-GCF
with batch 4096 (jmp-gcf.md, section 2)."""


def model_name(model: Recommender) -> str:
    """The registry name of ``model``'s class."""
    for name in MODELS.names():
        if MODELS.get(name) is type(model):
            return name
    raise KeyError(f"{type(model).__name__} is not registered in recsys_fair.MODELS")


def build_model(name: str, data: InteractionData, **config: Any) -> Recommender:
    """``MODELS[name].from_data(data, **config)``: the model with its graphs built from ``data``."""
    return MODELS.get(name).from_data(data, **config)


def make_sampler(
    kind: str, data: InteractionData, batch_size: int | str = 2048, seed: int = 0, n_negatives: int = 5
) -> PairwiseSampler | UserBatchSampler:
    """``"pairwise"`` (FDA/MF recipe; ``batch_size="auto"`` gives 22 batches per epoch as FDA's ML-1M
    schedule, fda.md section 3.3) or ``"user"`` (LightGCN/MEGCF/JMP-GCF recipe)."""
    if kind == "pairwise":
        if batch_size == "auto":
            batch_size = math.ceil(n_negatives * len(data.train) / FDA_BATCHES_PER_EPOCH)
        return PairwiseSampler(data, n_negatives=n_negatives, batch_size=int(batch_size), seed=seed)
    if kind == "user":
        return UserBatchSampler(data, batch_size=int(batch_size), seed=seed)
    raise ValueError(f"sampler must be 'pairwise' or 'user', got {kind!r}")


class Trainer:
    """Epoch loop with evaluation, early stopping, checkpoints and exact resume."""

    def __init__(
        self,
        *,
        epochs: int = 100,
        lr: float = 1e-3,
        eval_every: int = 5,
        metric: str = "ndcg@20",
        ks: tuple[int, ...] = (10, 20, 50),
        patience: int = 10,
        protocol: str = "clean",
        evaluator: str = "full",
        checkpoint_dir: str | os.PathLike | None = None,
        device: str | torch.device = "cpu",
        eval_batch_size: int = 1024,
        seed: int = 0,
        quiet: bool = True,
    ):
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
        if evaluator not in ("full", "sampled"):
            raise ValueError(f"evaluator must be 'full' or 'sampled', got {evaluator!r}")
        self.epochs, self.lr, self.eval_every, self.metric, self.ks = epochs, lr, eval_every, metric, tuple(ks)
        self.patience, self.protocol, self.evaluator, self.seed, self.quiet = patience, protocol, evaluator, seed, quiet
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else None
        self.device, self.eval_batch_size = torch.device(device), eval_batch_size

    def config(self) -> dict[str, Any]:
        keys = ("epochs", "lr", "eval_every", "metric", "ks", "patience", "protocol", "evaluator", "seed")
        return {k: getattr(self, k) for k in keys}

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, model: Recommender, data: InteractionData, split: str) -> dict[str, float]:
        """The metrics of ``split`` with this trainer's evaluator."""
        if self.evaluator == "sampled":
            return evaluate_sampled(model, data, split, ks=self.ks, seed=self.seed).metrics
        return evaluate_full_sort(model, data, split, ks=self.ks, batch_size=self.eval_batch_size).metrics

    def _selection_split(self, data: InteractionData) -> str:
        split = "valid" if self.protocol == "clean" else "test"
        if len(getattr(data, split)) == 0:
            hint = " (carve one with holdout_from_train, or use protocol='paper')" if split == "valid" else ""
            raise ValueError(f"{data.name} has no {split} pairs to evaluate{hint}")
        return split

    # ------------------------------------------------------------------ checkpoints
    def _save(self, filename: str, model: Recommender, state: dict[str, Any], data: InteractionData) -> None:
        if self.checkpoint_dir is None or not is_main_process():
            return
        config = {"model": model_name(model), "model_config": dict(model.config), "trainer": self.config()}
        save_checkpoint(self.checkpoint_dir / filename, state, config, {"data": data.fingerprint()})

    def _resume(self, path: str | os.PathLike, data: InteractionData) -> dict[str, Any]:
        checkpoint = load_checkpoint(path)
        fingerprint = checkpoint["meta"].get("data")
        if fingerprint != data.fingerprint():
            raise CheckpointError(f"{path}: written for other data ({fingerprint}), not {data.fingerprint()}")
        return checkpoint["state"]

    # ------------------------------------------------------------------ training
    def fit(
        self,
        model: Recommender,
        data: InteractionData,
        sampler: PairwiseSampler | UserBatchSampler,
        resume: str | os.PathLike | None = None,
    ) -> History:
        """Train ``model`` on ``data`` and return the history (see the module docstring)."""
        split = self._selection_split(data)
        model.to(self.device)
        optimizers = model.make_optimizers(self.lr)
        history, stopper = History(), EarlyStopping(self.patience if self.protocol == "clean" else 0, "max")
        start, best = 0, {"epoch": -1, "weights": None}
        if resume is not None:
            state = self._resume(resume, data)
            model.load_state_dict(state["model"])
            for name, optimizer in optimizers.items():
                optimizer.load_state_dict(state["optimizers"][name])
            history.load_state_dict(state["history"])
            stopper.load_state_dict(state["early_stopping"])
            start, best = state["epoch"] + 1, state["best"]
            set_rng_state(state["rng"])
            if state["stopped"]:
                start = self.epochs
        train_model = wrap_ddp(model)
        stopped = False
        for epoch in range(start, self.epochs):
            record = self._train_epoch(model, train_model, optimizers, sampler, epoch)
            if (epoch + 1) % self.eval_every == 0 or epoch + 1 == self.epochs:
                metrics = self.evaluate(model, data, split)
                record.update({f"{split}/{k}": v for k, v in metrics.items()})
                if self.metric not in metrics:
                    raise KeyError(f"selection metric {self.metric!r} not among {sorted(metrics)}")
                if stopper.step(metrics[self.metric]):
                    best = {"epoch": epoch, "weights": copy.deepcopy(model.state_dict())}
                    self._save("best.pt", model, {"model": best["weights"], "epoch": epoch}, data)
                log.info(
                    "epoch %d: loss %.4f, %s %s %.4f", epoch, record["loss"], split, self.metric, metrics[self.metric]
                )
            history.append(record)
            stopped = stopper.should_stop and model.may_stop_early(epoch)
            state = {
                "model": model.state_dict(),
                "optimizers": {name: optimizer.state_dict() for name, optimizer in optimizers.items()},
                "history": history.state_dict(),
                "early_stopping": stopper.state_dict(),
                "epoch": epoch,
                "best": best,
                "rng": get_rng_state(),
                "stopped": stopped,
            }
            self._save("last.pt", model, state, data)
            if stopped:
                log.info("early stop after epoch %d (best epoch %d)", epoch, best["epoch"])
                break
        barrier()
        self._finish(model, data, history, best)
        return history

    def _train_epoch(self, model, train_model, optimizers, sampler, epoch: int) -> dict[str, Any]:
        started = time.perf_counter()

        def batches():
            for users, positives, negatives in progress(
                sampler.batches(epoch), quiet=self.quiet, total=len(sampler), desc=f"epoch {epoch}"
            ):
                yield users.to(self.device), positives.to(self.device), negatives.to(self.device)

        parts = model.train_epoch(train_model, batches, optimizers, epoch)
        return {"epoch": epoch, "stage": "train", **parts, "seconds": time.perf_counter() - started}

    def _finish(self, model: Recommender, data: InteractionData, history: History, best: Mapping[str, Any]) -> None:
        if best["weights"] is None:
            return
        if self.protocol == "clean":
            model.load_state_dict(best["weights"])
            metrics = self.evaluate(model, data, "test")
            history.append({"epoch": best["epoch"], "stage": "test", **{f"test/{k}": v for k, v in metrics.items()}})
        else:
            row = next(r for r in history if r["epoch"] == best["epoch"] and r["stage"] == "train")
            model.load_state_dict(best["weights"])
            history.append({**row, "stage": "best (test-selected)"})
