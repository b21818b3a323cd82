"""Fine-tuning and evaluation of TOAT (``toat.md`` §2-3).

Each branch is trained with class-weighted cross-entropy (``w_c = N / (2 N_c)`` from the training split);
``L = L_text + L_audio`` (nothing is shared, so this equals training the branches separately on the same
batches). AdamW with two learning rates (pretrained encoder weights / everything else), linear warm-up over
``warmup`` of the steps then linear decay, gradient accumulation, topic dropout (assumed: each valid topic
dropped with ``p``, at least one kept). Every epoch is evaluated on dev: precision, recall and F1 of the
depressed class (primary), macro-F1 and accuracy, fused and per branch; the best-dev epoch and the last
epoch are both kept (selecting on dev and reporting on dev is optimistic, as in the DAIC-WOZ literature).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from lab_common import EarlyStopping, History, ensure_finite, progress, seed_everything

from ..metrics import binary_prf
from .batching import InterviewDataset, collate_interviews
from .fusion import fit_fusion_weight
from .model import TOAT

log = logging.getLogger(__name__)


def class_weights(labels: Sequence[int] | torch.Tensor) -> torch.Tensor:
    """``[w_healthy, w_depressed]`` with ``w_c = N / (2 N_c)`` (a class absent from ``labels`` gets weight 0)."""
    labels = torch.as_tensor(labels)
    counts = torch.bincount(labels, minlength=2).double()
    return torch.where(counts > 0, len(labels) / (2 * counts.clamp_min(1)), torch.zeros(2, dtype=torch.float64))


def drop_topics(mask: torch.Tensor, p: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Topic dropout: each valid topic of ``mask [B, K]`` kept with probability ``1 - p``, at least one kept."""
    if p <= 0:
        return mask
    keep = mask & (torch.rand(mask.shape, generator=generator) >= p)
    empty = ~keep.any(1)
    if empty.any():  # restore one random valid topic of the interviews that lost them all
        scores = torch.rand(mask.shape, generator=generator).masked_fill(~mask, -1.0)
        keep[empty, scores[empty].argmax(1)] = True
    return keep


def to_device(batch: dict, device: torch.device) -> dict:
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


@torch.no_grad()
def predict(model: TOAT, dataset: InterviewDataset, device: torch.device | str = "cpu", batch_size: int = 16) -> dict:
    """Depressed probabilities (fused and per branch), labels and per-interview α lists (unpadded)."""
    model.eval()
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=collate_interviews)
    outputs: dict[str, list] = {"fused": [], "text": [], "audio": [], "alpha_text": [], "alpha_audio": []}
    for batch in loader:
        out = model(to_device(batch, torch.device(device)))
        counts = batch["topic_mask"].sum(1).tolist()
        outputs["fused"].append(out["fused"][:, 1].cpu())
        for name in model.branches:
            outputs[name].append(out[name].softmax(-1).cpu())
            alpha = out[f"alpha_{name}"]
            if alpha is not None:
                outputs[f"alpha_{name}"] += [a[:n].cpu() for a, n in zip(alpha, counts)]
    result = {"fused": torch.cat(outputs["fused"]), "labels": dataset.labels.clone()}
    for name in model.branches:
        result[name] = torch.cat(outputs[name])
        result[f"alpha_{name}"] = outputs[f"alpha_{name}"] or None
    return result


def evaluate(model: TOAT, dataset: InterviewDataset, device: torch.device | str = "cpu", batch_size: int = 16) -> dict:
    """``binary_prf`` of the fused decision (``P[1] >= threshold``) and of each branch (argmax), plus predictions."""
    predictions = predict(model, dataset, device, batch_size)
    labels, threshold = predictions["labels"], model.config.threshold
    metrics = {"fused": binary_prf(labels, (predictions["fused"] >= threshold).long())}
    for name in model.branches:
        metrics[name] = binary_prf(labels, predictions[name].argmax(1))
    return {"metrics": metrics, "predictions": predictions}


class TOATTrainer:
    """Fine-tunes :class:`TOAT` on an :class:`InterviewDataset`; ``fit(train, dev) -> History``.

    After ``fit``: the model holds the last epoch's weights; ``best_state`` / ``best_epoch`` hold the
    best-dev-F1 epoch (fused). ``fusion="learned"`` fits ``w`` on the training predictions at the end.
    """

    def __init__(self, model: TOAT, config=None, device: torch.device | str = "cpu", quiet: bool = True):
        self.model = model
        self.config = config or model.config
        self.device = torch.device(device)
        self.quiet = quiet
        self.best_state: dict | None = None
        self.best_epoch: int | None = None

    def _optimizer(self) -> torch.optim.Optimizer:
        pretrained = {id(p) for p in self.model.pretrained_parameters()}
        trainable = [p for p in self.model.parameters() if p.requires_grad]
        groups = [
            {"params": [p for p in trainable if id(p) in pretrained], "lr": self.config.lr_pretrained},
            {"params": [p for p in trainable if id(p) not in pretrained], "lr": self.config.lr},
        ]
        groups = [g for g in groups if g["params"]]
        return torch.optim.AdamW(groups, weight_decay=self.config.weight_decay)

    def _schedule(self, optimizer: torch.optim.Optimizer, total: int) -> torch.optim.lr_scheduler.LambdaLR:
        warmup = max(1, round(self.config.warmup * total))

        def factor(step: int) -> float:
            return (step + 1) / warmup if step < warmup else max(0.0, (total - step) / max(1, total - warmup))

        return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)

    def loss(self, out: dict, labels: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """``Σ_branch CE_w(z_branch, y)`` (§2)."""
        return sum(F.cross_entropy(out[name], labels, weight=weights) for name in self.model.branches)

    def fit(self, train: InterviewDataset, dev: InterviewDataset | None = None) -> History:
        cfg, model = self.config, self.model.to(self.device)
        seed_everything(cfg.seed)
        generator = torch.Generator().manual_seed(cfg.seed)
        loader = DataLoader(
            train, batch_size=cfg.batch_size, shuffle=True, collate_fn=collate_interviews, generator=generator
        )
        weights = (class_weights(train.labels) if cfg.class_weighting else torch.ones(2)).float().to(self.device)
        optimizer = self._optimizer()
        steps = cfg.epochs * -(-len(loader) // cfg.grad_accum)
        scheduler = self._schedule(optimizer, steps)
        stopper = EarlyStopping(cfg.early_stop_patience, mode="max")
        history = History()
        for epoch in progress(range(1, cfg.epochs + 1), quiet=self.quiet):
            model.train()
            total, batches = 0.0, 0
            for i, batch in enumerate(loader):
                batch["topic_mask"] = drop_topics(batch["topic_mask"], cfg.topic_dropout, generator)
                batch = to_device(batch, self.device)
                loss = self.loss(model(batch), batch["label"], weights)
                ensure_finite(loss, f"epoch {epoch}, batch {i}")
                (loss / cfg.grad_accum).backward()
                if (i + 1) % cfg.grad_accum == 0 or i + 1 == len(loader):
                    optimizer.step()
                    scheduler.step()
                    optimizer.zero_grad(set_to_none=True)
                total, batches = total + float(loss.detach()), batches + 1
            record = {"epoch": epoch, "train_loss": total / batches, "lr": scheduler.get_last_lr()[-1]}
            if dev is not None:
                metrics = evaluate(model, dev, self.device)["metrics"]
                record.update({f"dev_{k}": v for k, v in metrics["fused"].items()})
                record.update({f"dev_{name}_f1": metrics[name]["f1"] for name in model.branches})
                if stopper.step(record["dev_f1"]):
                    self.best_epoch, self.best_state = epoch, copy.deepcopy(model.state_dict())
            history.append(record)
            log.info("epoch %d %s", epoch, record)
            if dev is not None and stopper.should_stop:
                break
        if cfg.fusion == "learned" and len(model.branches) == 2:
            p = predict(model, train, self.device)
            model.set_fusion_weight(fit_fusion_weight(p["text"], p["audio"], p["labels"], weights.cpu().double()))
        return history
