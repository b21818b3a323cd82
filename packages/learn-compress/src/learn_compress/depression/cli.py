"""``learn-compress depression``: train TOAT (or an ablation) and report the depressed class's P/R/F1.

::

    learn-compress depression --variant TOAT --data synthetic --out runs/toat
    learn-compress depression --variant TOAT --data PATH/daicwoz --text-encoder PATH/bert-base \
        --audio-encoder wav2vec2 --audio-encoder-path PATH/wav2vec2-base --max-topic-seconds 20 \
        --batch-size 2 --grad-accum 8 --epochs 20 --out runs/toat-daic
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from lab_common import save_checkpoint, seed_everything

from ..data.daicwoz import load_daicwoz
from ..data.synthetic_interviews import make_synthetic_interviews, write_daicwoz_layout
from .batching import InterviewDataset
from .config import TOATConfig
from .model import ABLATIONS, build_toat
from .training import TOATTrainer, evaluate


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = TOATConfig()
    parser.add_argument("--variant", choices=sorted(ABLATIONS), default="TOAT")
    parser.add_argument(
        "--data", default="synthetic", help="synthetic, or a DAIC-WOZ folder with the AVEC2017 split CSVs"
    )
    parser.add_argument("--text-encoder", default=None, help="local AutoModel directory (default: small random BERT)")
    parser.add_argument("--audio-encoder", choices=("logmel", "wav2vec2"), default=defaults.audio_encoder)
    parser.add_argument("--audio-encoder-path", default=None, help="local wav2vec 2.0 directory")
    parser.add_argument("--pooling", choices=("attention", "mean", "max"), default=None)
    parser.add_argument("--fusion", choices=("prob_avg", "logit_avg", "max", "learned"), default=defaults.fusion)
    parser.add_argument("--max-topic-seconds", type=float, default=defaults.max_topic_seconds)
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--grad-accum", type=int, default=defaults.grad_accum)
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--early-stop-patience", type=int, default=defaults.early_stop_patience)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--quiet", action="store_true")


def _depression_splits(source: str, max_topic_seconds: float):
    if source == "synthetic":
        splits = {"train": make_synthetic_interviews(80, seed=0), "dev": make_synthetic_interviews(40, 1, None, 400)}
        with tempfile.TemporaryDirectory() as root:
            write_daicwoz_layout(root, splits)
            return [
                load_daicwoz(root, f"{s}_split_Depression_AVEC2017.csv", max_topic_seconds=max_topic_seconds)
                for s in ("train", "dev")
            ]
    return [
        load_daicwoz(source, f"{s}_split_Depression_AVEC2017.csv", max_topic_seconds=max_topic_seconds)
        for s in ("train", "dev")
    ]


def run(args: argparse.Namespace) -> None:
    """Train ``--variant`` on the training interviews, evaluate on dev and write ``last.pt`` and ``metrics.json``."""
    overrides = {
        "text_encoder": args.text_encoder,
        "audio_encoder": args.audio_encoder,
        "audio_encoder_path": args.audio_encoder_path,
        "fusion": args.fusion,
        "max_topic_seconds": args.max_topic_seconds,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "grad_accum": args.grad_accum,
        "lr": args.lr,
        "early_stop_patience": args.early_stop_patience,
        "seed": args.seed,
    }
    if args.pooling is not None:
        overrides["pooling"] = args.pooling
    seed_everything(args.seed)
    model = build_toat(args.variant, TOATConfig(), **overrides)
    train, dev = (
        InterviewDataset(x, model.tokenizer, model.config)
        for x in _depression_splits(args.data, args.max_topic_seconds)
    )
    trainer = TOATTrainer(model, device=args.device, quiet=args.quiet)
    history = trainer.fit(train, dev)
    metrics = evaluate(model, dev, args.device)["metrics"]
    args.out.mkdir(parents=True, exist_ok=True)
    save_checkpoint(
        args.out / "last.pt",
        {"model": model.state_dict()},
        model.config.to_dict(),
        {"variant": args.variant, "history": history.records},
    )
    (args.out / "metrics.json").write_text(
        json.dumps({"last": metrics, "best_epoch": trainer.best_epoch, "history": history.records}, indent=2)
    )
    print(
        f"{args.variant} dev (last epoch): "
        + ", ".join(
            f"{branch}: F1 {m['f1']:.3f} P {m['precision']:.3f} R {m['recall']:.3f}" for branch, m in metrics.items()
        )
    )
    print(
        f"best dev F1 {history.best('dev_f1')['dev_f1']:.3f} at epoch {trainer.best_epoch}",
        "(selected on dev: optimistic)",
    )
