"""The ``learn-compress`` console script: train, evaluate, quantize, distill, lipread, depression, bench.

::

    learn-compress train --model small_cnn --data synthetic --epochs 10 --out runs/cnn
    learn-compress train --model wrn16_1 --data PATH/cifar10 --normalization cifar10 --out runs/wrn
    learn-compress evaluate --checkpoint PATH/resnet20-12fca82f.th --data PATH/cifar10/test.npz
    learn-compress quantize adasg --checkpoint PATH/resnet20-12fca82f.th --wbits 4 --abits 4 \
        --test-data PATH/cifar10/test.npz --recipe cpu --out runs/adasg-w4a4
    learn-compress distill switokd --teacher wrn16_2 --student wrn16_1 --data synthetic --epochs 20 --out runs/sw
    learn-compress lipread --model LipFormer --data synthetic --recipe quick --out runs/lipformer
    learn-compress depression --variant TOAT --data synthetic --out runs/toat
    learn-compress bench --suite quick --out results/ --data-root PATH

``train`` runs unchanged under ``torchrun --nproc_per_node N -m learn_compress.cli train ...``.
"""

from __future__ import annotations

import argparse
import ast
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lab_common import cleanup_distributed, init_distributed, is_main_process, save_checkpoint, seed_everything
from lab_common.bench import add_bench_arguments, bench_main

from . import __version__, bench
from .data import NORMALIZATIONS, CifarDataset, load_image_arrays, stratified_subset
from .depression import cli as depression_cli
from .distill import DML, KD, DistillConfig, Independent, SwitOKD
from .evaluation import evaluate
from .lipreading import cli as lipread_cli
from .models import GDFQ, AdaSG, GameConfig, MinMax, build_model, load_classifier
from .registry import MODELS
from .trainer import OPTIMIZERS, SCHEDULES, ClassifierTrainer, TrainConfig


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="learn-compress", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_train_arguments(commands.add_parser("train", help="train a classifier (single process or torchrun)"))
    _add_evaluate_arguments(commands.add_parser("evaluate", help="top-1/top-5/per-class accuracy of a checkpoint"))
    _add_quantize_arguments(commands.add_parser("quantize", help="data-free quantization (AdaSG, GDFQ, MinMax)"))
    _add_distill_arguments(commands.add_parser("distill", help="online distillation: SwitOKD, DML, KD, Independent"))
    lipread_cli.add_arguments(commands.add_parser("lipread", help="lipreading: LipFormer, VisualOnly, LipNetCTC"))
    depression_cli.add_arguments(commands.add_parser("depression", help="TOAT depression detection from interviews"))
    add_bench_arguments(commands.add_parser("bench", help="run the benchmark suite"))
    return parser


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        default="synthetic",
        help="synthetic[:N], a .npz file, a cifar-10-batches-py folder or a folder with train/test .npz files",
    )
    parser.add_argument("--normalization", choices=sorted(NORMALIZATIONS), default=None)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def _add_train_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = TrainConfig()
    parser.add_argument("--model", required=True, help=f"one of: {', '.join(MODELS.names())}")
    parser.add_argument(
        "--model-arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="constructor argument of the model (repeatable), e.g. --model-arg width=0.5",
    )
    _add_data_arguments(parser)
    parser.add_argument("--test-data", default=None, help="evaluation data (default: the test split of --data)")
    parser.add_argument("--train-subset", type=int, default=None, help="stratified subset of N training images")
    parser.add_argument("--test-subset", type=int, default=None, help="stratified subset of N test images")
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default=defaults.optimizer)
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--momentum", type=float, default=defaults.momentum)
    parser.add_argument("--nesterov", action="store_true")
    parser.add_argument("--weight-decay", type=float, default=defaults.weight_decay)
    parser.add_argument("--schedule", choices=SCHEDULES, default=defaults.schedule)
    parser.add_argument("--milestones", type=int, nargs="*", default=list(defaults.milestones))
    parser.add_argument("--gamma", type=float, default=defaults.gamma)
    parser.add_argument("--amp", action="store_true", help="mixed precision (CUDA only)")
    parser.add_argument("--num-workers", type=int, default=0)
    parser.add_argument("--out", required=True, help="folder for last.pt, best.pt and history.json")
    parser.add_argument("--resume", default=None, help="checkpoint to continue from (e.g. OUT/last.pt)")


def _add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, help="a checkpoint of `train` or an akamaster resnet*.th file")
    _add_data_arguments(parser)
    parser.add_argument("--split", choices=("train", "test"), default="test")
    parser.add_argument("--subset", type=int, default=None, help="stratified subset of N images (seeded by --seed)")
    parser.add_argument("--batch-size", type=int, default=256)


GAMES = {"adasg": AdaSG, "gdfq": GDFQ}
RECIPES = {"paper": GameConfig, "cpu": GameConfig.cpu_recipe}


def _add_quantize_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("method", choices=(*GAMES, "minmax"))
    parser.add_argument("--checkpoint", required=True, help="the full-precision network (`train` or akamaster file)")
    parser.add_argument("--wbits", type=int, default=4)
    parser.add_argument("--abits", type=int, default=4)
    parser.add_argument(
        "--recipe", choices=sorted(RECIPES), default="paper", help="paper: 400 x 200 iterations; cpu: 8 x 100"
    )
    parser.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs")
    parser.add_argument("--iters-per-epoch", type=int, default=None, help="override the recipe's iterations")
    parser.add_argument(
        "--ema-mode",
        choices=("official", "standard"),
        default="official",
        help="activation-range EMA: the release's (needs >= 200 calibration updates) or the textbook one",
    )
    parser.add_argument("--test-data", default=None, help="evaluation images: a .npz file or a CIFAR folder")
    parser.add_argument("--test-subset", type=int, default=None, help="stratified subset of N test images")
    parser.add_argument("--out", required=True, help="folder for last.pt, quantized.pt and history.json")
    parser.add_argument("--resume", default=None, help="game checkpoint to continue from (e.g. OUT/last.pt)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def quantize_command(args: argparse.Namespace) -> None:
    """Quantize ``--checkpoint`` data-free and write the quantized weights and the per-epoch history."""
    model, normalization = load_classifier(args.checkpoint)
    test_data = None
    if args.test_data is not None:
        test_data = _dataset(args.test_data, "test", args.test_subset, args.seed, False, normalization)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.method == "minmax":
        method = MinMax(model, args.wbits, args.abits, device=args.device, seed=args.seed)
        quantized, history = method.fit(test_data)
    else:
        config = RECIPES[args.recipe](seed=args.seed, ema_mode=args.ema_mode)
        method = GAMES[args.method](model, args.wbits, args.abits, config=config, device=args.device)
        quantized, history = method.fit(
            test_data, args.epochs, args.iters_per_epoch, quiet=args.quiet, checkpoint_dir=out, resume=args.resume
        )
    config = {
        "method": args.method,
        "wbits": args.wbits,
        "abits": args.abits,
        "source_checkpoint": str(args.checkpoint),
        "normalization": normalization,
    }
    save_checkpoint(out / "quantized.pt", {"model": quantized.state_dict()}, config)
    (out / "history.json").write_text(json.dumps(history.records, indent=2) + "\n")
    print(json.dumps(history[-1]))


DISTILLERS = {"switokd": SwitOKD, "dml": DML, "kd": KD, "independent": Independent}


def _add_distill_arguments(parser: argparse.ArgumentParser) -> None:
    defaults, optim = DistillConfig(), TrainConfig()
    parser.add_argument("method", choices=sorted(DISTILLERS))
    parser.add_argument("--teacher", default="wrn16_2", help="registered model name of the teacher")
    parser.add_argument("--student", default="wrn16_1", help="registered model name of the student")
    parser.add_argument("--teacher-arg", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--student-arg", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument(
        "--teacher-checkpoint", default=None, help="kd: a trained teacher (`train` checkpoint); default: train it first"
    )
    _add_data_arguments(parser)
    parser.add_argument("--test-data", default=None, help="evaluation data (default: the test split of --data)")
    parser.add_argument("--train-subset", type=int, default=None)
    parser.add_argument("--test-subset", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default=optim.optimizer)
    parser.add_argument("--lr", type=float, default=optim.lr, help="teacher learning rate")
    parser.add_argument("--student-lr", type=float, default=None, help="default: --lr")
    parser.add_argument("--weight-decay", type=float, default=optim.weight_decay)
    parser.add_argument("--milestones", type=int, nargs="*", default=list(optim.milestones))
    parser.add_argument("--tau", type=float, default=defaults.tau)
    parser.add_argument("--switch", choices=("adaptive", "never", "always"), default=defaults.switch)
    parser.add_argument("--threshold", choices=("adaptive", "fixed"), default=defaults.threshold)
    parser.add_argument("--fixed-delta", type=float, default=defaults.fixed_delta)
    parser.add_argument("--freeze-teacher-bn-in-expert", action="store_true")
    parser.add_argument("--faithful-bug-compat", action="store_true")
    parser.add_argument("--kd-variant", choices=("hinton", "tau1"), default=defaults.kd_variant)
    parser.add_argument("--out", required=True, help="folder for last.pt and history.json")
    parser.add_argument("--resume", default=None, help="checkpoint to continue from (e.g. OUT/last.pt)")


def distill_command(args: argparse.Namespace) -> None:
    """Train a teacher/student pair with SwitOKD or a baseline and write the per-epoch history."""
    seed_everything(args.seed)
    normalization = args.normalization or "cifar10"
    train_data = _dataset(args.data, "train", args.train_subset, args.seed, True, normalization)
    test_data = _dataset(args.test_data or args.data, "test", args.test_subset, args.seed, False, normalization)
    num_classes = train_data.num_classes
    student = build_model(args.student, **{"num_classes": num_classes, **parse_model_args(args.student_arg)})
    config = DistillConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        seed=args.seed,
        tau=args.tau,
        switch=args.switch,
        threshold=args.threshold,
        fixed_delta=args.fixed_delta,
        teacher_bn_update_in_expert=not args.freeze_teacher_bn_in_expert,
        faithful_bug_compat=args.faithful_bug_compat,
        kd_variant=args.kd_variant,
    )
    optim = TrainConfig(
        optimizer=args.optimizer, lr=args.lr, weight_decay=args.weight_decay, milestones=args.milestones
    )
    student_optim = TrainConfig(
        optimizer=args.optimizer,
        lr=args.student_lr or args.lr,
        weight_decay=args.weight_decay,
        milestones=args.milestones,
    )
    if args.method == "kd" and args.teacher_checkpoint:
        teacher, _ = load_classifier(args.teacher_checkpoint)
    else:
        teacher = build_model(args.teacher, **{"num_classes": num_classes, **parse_model_args(args.teacher_arg)})
    if args.method == "kd" and not args.teacher_checkpoint:
        Independent({"teacher": teacher}, config, optim, args.device, quiet=args.quiet).fit(train_data, test_data)
    out = Path(args.out)
    if args.method == "independent":
        distiller = Independent(
            {"teacher": teacher, "student": student}, config, [optim, student_optim], args.device, out, args.quiet
        )
    elif args.method == "kd":
        distiller = KD(teacher, student, config, student_optim, args.device, out, args.quiet)
    else:
        distiller = DISTILLERS[args.method](
            teacher, student, config, [optim, student_optim], args.device, out, args.quiet
        )
    history = distiller.fit(train_data, test_data, resume=args.resume)
    (out / "history.json").write_text(json.dumps(history.records, indent=2) + "\n")
    print(json.dumps(history[-1]))


def parse_model_args(items: Sequence[str]) -> dict[str, Any]:
    """``["width=0.5", "num_classes=100"]`` -> ``{"width": 0.5, "num_classes": 100}`` (literals, else strings)."""
    kwargs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--model-arg expects KEY=VALUE, got {item!r}")
        try:
            kwargs[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            kwargs[key] = value
    return kwargs


def _dataset(source: str, split: str, subset: int | None, seed: int, train: bool, normalization: str):
    arrays = load_image_arrays(source, split)
    if subset is not None:
        arrays = stratified_subset(arrays, subset, seed)
    return CifarDataset(arrays, train=train, normalization=normalization)


def train(args: argparse.Namespace) -> None:
    try:  # fail on a typo before any data is read
        MODELS.get(args.model)
    except KeyError as error:
        raise SystemExit(error.args[0]) from None
    context = init_distributed(args.device)
    try:
        seed_everything(args.seed)
        normalization = args.normalization or "cifar10"
        train_data = _dataset(args.data, "train", args.train_subset, args.seed, True, normalization)
        test_data = _dataset(args.test_data or args.data, "test", args.test_subset, args.seed, False, normalization)
        kwargs = {"num_classes": train_data.num_classes, **parse_model_args(args.model_arg)}
        model = build_model(args.model, **kwargs)
        config = TrainConfig(
            epochs=args.epochs,
            batch_size=args.batch_size,
            optimizer=args.optimizer,
            lr=args.lr,
            momentum=args.momentum,
            nesterov=args.nesterov,
            weight_decay=args.weight_decay,
            schedule=args.schedule,
            milestones=args.milestones,
            gamma=args.gamma,
            amp=args.amp,
            num_workers=args.num_workers,
            seed=args.seed,
        )
        model_config = {"name": args.model, "kwargs": kwargs, "normalization": normalization}
        trainer = ClassifierTrainer(model, config, context.device, args.out, model_config, quiet=args.quiet)
        history = trainer.fit(train_data, test_data, resume=args.resume)
        if is_main_process():
            (Path(args.out) / "history.json").write_text(json.dumps(history.records, indent=2) + "\n")
            print(json.dumps(history[-1]))
    finally:
        cleanup_distributed()


def evaluate_command(args: argparse.Namespace) -> None:
    model, normalization = load_classifier(args.checkpoint)
    data = _dataset(args.data, args.split, args.subset, args.seed, False, args.normalization or normalization)
    metrics = evaluate(model.to(args.device), data, args.device, args.batch_size, quiet=args.quiet)
    print(json.dumps({"checkpoint": str(args.checkpoint), "normalization": data.normalization, **metrics}))


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if getattr(args, "quiet", False) else logging.INFO, format="%(message)s")
    if args.command == "train":
        train(args)
    elif args.command == "evaluate":
        evaluate_command(args)
    elif args.command == "quantize":
        quantize_command(args)
    elif args.command == "distill":
        distill_command(args)
    elif args.command == "lipread":
        lipread_cli.run(args)
    elif args.command == "depression":
        depression_cli.run(args)
    else:
        bench_main(bench.PACKAGE, bench.build_cases, args=args)


if __name__ == "__main__":
    main()
