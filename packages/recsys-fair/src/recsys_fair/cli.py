"""The ``recsys-fair`` console script: ``train``, ``evaluate``, ``datasets`` and ``bench``.

::

    recsys-fair train lightgcn --data movielens:PATH --epochs 50 --out runs/lgcn
    recsys-fair train fda --data movielens:PATH --epochs 60 --out runs/fda         # FDA-MF (FDA-BPR)
    recsys-fair train megcf --data megcf:PATH --paper-config beauty --protocol paper \
        --evaluator sampled --metric hr@10 --eval-every 20 --epochs 1000 --out runs/megcf
    recsys-fair train jmp-gcf --data ngcf:PATH --stage-fractions 0.3 0.6 --metric recall@20 --out runs/jmp
    recsys-fair evaluate --checkpoint runs/lgcn/best.pt --data movielens:PATH
    recsys-fair datasets --data megcf:PATH
    recsys-fair bench --suite quick --out results/

``train`` and ``evaluate`` run unchanged under ``torchrun`` (DDP: gloo on CPU, nccl on CUDA).
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lab_common import cleanup_distributed, init_distributed, is_main_process, load_checkpoint, seed_everything
from lab_common.bench import add_bench_arguments, bench_main

from . import __version__, bench
from .data.spec import FORMATS, load_dataset
from .data.splits import holdout_from_train
from .evaluation import evaluate_full_sort, evaluate_sampled
from .models.jmpgcf import stage_epochs_from_fractions
from .registry import MODELS
from .training import RECIPES, Trainer, build_model, make_sampler

ALIASES = {"fda": "FDA-MF", "fda-bpr": "FDA-MF"}
"""The issue's ``recsys-fair train fda`` and the paper's name FDA-BPR (fda.md, section 1)."""
TRAINABLE = {**{name.lower(): name for name in RECIPES}, **ALIASES}


def _model_name(value: str) -> str:
    try:
        return TRAINABLE[value.lower()]
    except KeyError:
        raise argparse.ArgumentTypeError(f"unknown model {value!r}; choose from {', '.join(TRAINABLE)}") from None


def _add_data(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default="synthetic", help="synthetic | movielens:PATH | ngcf:PATH | megcf:PATH")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quiet", action="store_true")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="recsys-fair", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model and keep its best checkpoint")
    train.add_argument("model", type=_model_name, help=f"one of {', '.join(TRAINABLE)}")
    _add_data(train)
    train.add_argument("--protocol", choices=("clean", "paper"), default="clean")
    train.add_argument("--epochs", type=int, default=100)
    train.add_argument("--lr", type=float, default=None, help="default: the model's recipe")
    train.add_argument("--batch-size", default=None, help="default: the model's recipe ('auto' for MF)")
    train.add_argument("--eval-every", type=int, default=5)
    train.add_argument("--patience", type=int, default=10)
    train.add_argument("--metric", default="ndcg@20")
    train.add_argument("--dim", type=int, default=64)
    train.add_argument("--out", required=True, help="folder for last.pt, best.pt and history.json")
    train.add_argument("--resume", default=None, help="a last.pt to continue from")
    train.add_argument("--evaluator", choices=("full", "sampled"), default="full", help="sampled: 1 + 99 (MEGCF)")
    train.add_argument("--paper-config", default=None, help="a dataset whose paper defaults to use (MEGCF, JMP-GCF)")
    train.add_argument("--rho", type=float, default=None, help="FDA: share of fake data (default: per backbone)")
    train.add_argument("--lr-aug", type=float, default=None, help="FDA: augmentation optimizer lr (default 1e-3)")
    train.add_argument("--no-augment", action="store_true", help="FDA: skip the augmentation pass (the backbone)")
    stages = train.add_mutually_exclusive_group()
    stages.add_argument("--stage-epochs", type=int, nargs=2, default=None, help="JMP-GCF stage switches T1 T2")
    stages.add_argument("--stage-fractions", type=float, nargs=2, default=None, help="JMP-GCF T1, T2 as shares")

    evaluate = commands.add_parser("evaluate", help="evaluate a checkpoint on a split")
    evaluate.add_argument("--checkpoint", required=True)
    _add_data(evaluate)
    evaluate.add_argument("--split", choices=("valid", "test"), default="test")
    evaluate.add_argument("--ks", type=int, nargs="+", default=[10, 20, 50])
    evaluate.add_argument("--sampled", action="store_true", help="1 + 99 sampled protocol instead of full sort")

    datasets = commands.add_parser("datasets", help="list the data formats, or describe --data")
    datasets.add_argument("--data", default=None)
    datasets.add_argument("--seed", type=int, default=0)

    add_bench_arguments(commands.add_parser("bench", help="run the benchmark suite"))
    return parser


def _model_config(args: argparse.Namespace) -> dict[str, Any]:
    """Constructor arguments from the command line: ``--dim``, paper defaults, FDA's and JMP-GCF's knobs."""
    config: dict[str, Any] = {"dim": args.dim}
    if args.paper_config:
        paper_config = getattr(MODELS.get(args.model), "paper_config", None)
        if paper_config is None:
            raise SystemExit(f"--paper-config applies to MEGCF and JMP-GCF, not {args.model}")
        config.update(paper_config(args.paper_config))
    if args.model.startswith("FDA-"):
        config.update({k: v for k, v in {"rho": args.rho, "lr_aug": args.lr_aug}.items() if v is not None})
        if args.no_augment:
            config["augment"] = False
    if args.stage_fractions:
        config["stage_epochs"] = stage_epochs_from_fractions(args.epochs, tuple(args.stage_fractions))
    elif args.stage_epochs:
        config["stage_epochs"] = tuple(args.stage_epochs)
    return config


def _train(args: argparse.Namespace) -> None:
    context = init_distributed(args.device)
    try:
        seed_everything(args.seed)
        data = load_dataset(args.data, seed=args.seed)
        if args.protocol == "clean" and len(data.valid) == 0:
            data = holdout_from_train(data, ratio=0.1, seed=args.seed)
        recipe = RECIPES[args.model]
        batch_size = args.batch_size or recipe["batch_size"]
        model = build_model(args.model, data, **_model_config(args))
        sampler = make_sampler(
            recipe["sampler"],
            data,
            batch_size if batch_size == "auto" else int(batch_size),
            seed=args.seed,
            n_negatives=recipe.get("n_negatives", 5),
        )
        trainer = Trainer(
            epochs=args.epochs,
            lr=args.lr or recipe["lr"],
            eval_every=args.eval_every,
            metric=args.metric,
            patience=args.patience,
            protocol=args.protocol,
            evaluator=args.evaluator,
            checkpoint_dir=args.out,
            device=context.device,
            seed=args.seed,
            quiet=args.quiet,
        )
        history = trainer.fit(model, data, sampler, resume=args.resume)
        if is_main_process():
            Path(args.out, "history.json").write_text(json.dumps(history.records, indent=1) + "\n")
            print(json.dumps(history[-1], indent=1))
    finally:
        cleanup_distributed()


def _evaluate(args: argparse.Namespace) -> None:
    checkpoint = load_checkpoint(args.checkpoint)
    data = load_dataset(args.data, seed=args.seed)
    config = checkpoint["config"]
    model = MODELS.get(config["model"]).from_data(data, **config["model_config"])
    model.load_state_dict(checkpoint["state"]["model"])
    model.to(args.device)
    ks = tuple(args.ks)
    if args.sampled:
        result = evaluate_sampled(model, data, args.split, ks=ks, seed=args.seed)
    else:
        result = evaluate_full_sort(model, data, args.split, ks=ks)
    print(json.dumps(result.metrics, indent=1))


def _datasets(args: argparse.Namespace) -> None:
    if args.data is None:
        for kind, description in FORMATS.items():
            print(f"{kind:10s} {description}")
        print(f"models: {', '.join(MODELS.names())}")
        return
    print(json.dumps(load_dataset(args.data, seed=args.seed).stats(), indent=1))


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.command == "bench":
        bench_main(bench.PACKAGE, bench.build_cases, args=args)
        return
    logging.basicConfig(level=logging.WARNING if getattr(args, "quiet", False) else logging.INFO, format="%(message)s")
    {"train": _train, "evaluate": _evaluate, "datasets": _datasets}[args.command](args)


if __name__ == "__main__":
    main()
