"""``learn-compress lipread``: train a lipreading model and report its CER/WER.

::

    learn-compress lipread --model LipFormer --data synthetic --recipe quick --out runs/lipformer
    learn-compress lipread --model LipNetCTC --data PATH/grid --split unseen --recipe paper --out runs/lipnet

``--data synthetic`` writes the synthetic talking-mouth corpus in the GRID layout under ``OUT/corpus``
and trains on s3-s10 (seen test: their held-out sentences; unseen test: s1, s2, s20, s22). A GRID
folder needs landmark files (``landmarks/s{k}/<stem>.npy``) and frames as ``.npy`` / PNG folders
(or ``.mpg`` with PyAV installed).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from lab_common import seed_everything

from ..benchmarks.lipformer import RECIPES, build_lip_model, split_corpus, write_corpus
from ..data.grid import grid_split, scan_grid
from .dataset import LipDataset, load_clips
from .trainer import LipReadingTrainer, evaluate_lipreading

LIP_MODELS = ("LipFormer", "VisualOnly", "LipNetCTC", "LandmarkOnly")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", choices=LIP_MODELS, default="LipFormer")
    parser.add_argument(
        "--data", default="synthetic", help="'synthetic' or a GRID-layout folder (speaker folders s1..s34)"
    )
    parser.add_argument(
        "--split", choices=("unseen", "overlapped"), default="unseen", help="GRID split (real data only)"
    )
    parser.add_argument(
        "--recipe",
        choices=("quick", "paper"),
        default="quick",
        help="quick: the quick-bench recipe; paper: lipformer.md section 2 CPU recipe",
    )
    parser.add_argument("--steps", type=int, default=None, help="override the recipe's number of steps")
    parser.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs")
    parser.add_argument("--lr", type=float, default=None, help="override the recipe's learning rate")
    parser.add_argument("--beam", type=int, default=1, help="beam width of the final evaluation (LipNetCTC: 1)")
    parser.add_argument("--out", required=True, help="folder for last.pt, history.json and metrics.json")
    parser.add_argument("--resume", default=None, help="checkpoint to continue from (e.g. OUT/last.pt)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> None:
    """Train a lipreading model and write its history and its CER/WER on the test clips."""
    recipe = RECIPES[args.recipe]
    overrides = {
        k: v for k, v in {"max_steps": args.steps, "epochs": args.epochs, "lr": args.lr}.items() if v is not None
    }
    recipe = dataclasses.replace(recipe, train=dataclasses.replace(recipe.train, seed=args.seed, **overrides))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.data == "synthetic":
        data = split_corpus(write_corpus(out / "corpus", recipe), recipe, args.seed)
    else:
        train, test = grid_split(args.split, scan_grid(args.data), seed=args.seed)
        data = {"train": load_clips(train), "unseen": load_clips(test)}
        _, height, width, channels = data["train"][0].frames.shape
        size = {"height": height, "width": width, "in_channels": channels}
        recipe = dataclasses.replace(
            recipe,
            lipformer=dataclasses.replace(recipe.lipformer, **size),
            lipnet=dataclasses.replace(recipe.lipnet, **size),
        )
    seed_everything(args.seed)
    model = build_lip_model(args.model, recipe)
    intermediate = recipe.lipformer.intermediate
    trainer = LipReadingTrainer(model, recipe.train, device=args.device, quiet=args.quiet, checkpoint_dir=out)
    history = trainer.fit(LipDataset(data["train"], intermediate, augment=True), resume=args.resume)
    (out / "history.json").write_text(json.dumps(history.records, indent=2) + "\n")
    beam = 1 if args.model == "LipNetCTC" else args.beam
    metrics = {
        split: evaluate_lipreading(model, LipDataset(clips, intermediate), args.device, beam)
        for split, clips in data.items()
        if split != "train"
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps(metrics))
