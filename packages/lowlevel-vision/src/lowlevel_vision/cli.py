"""The ``lowlevel-vision`` console script: ``train``, ``evaluate``, ``restore``, ``bench`` (vision-common §11).

``train`` runs unchanged under ``torchrun`` (DDP, gloo on CPU, nccl on GPU).
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from pathlib import Path

from lab_common import DataFormatError, cleanup_distributed, init_distributed, is_main_process, seed_everything
from lab_common.bench import add_bench_arguments

from . import __version__, bench, models  # noqa: F401  (models register themselves)
from .data.specs import build_dataset
from .evaluation import evaluate, run_model
from .io import read_image, read_stereo_pair, write_png
from .models import StereoModel
from .registry import MODELS
from .training import LOSSES, TrainConfig, Trainer, load_trained_model

PIXEL_BUDGET = 512 * 512


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lowlevel-vision", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model")
    train.add_argument("model", help=f"registered model: {', '.join(MODELS.names())}")
    train.add_argument(
        "--data",
        required=True,
        help="synthetic:rain|lowlight|mono, sufrinnet:PATH, stereorain:PATH, lol:PATH, lsrw:PATH, paired:LQ_DIR,GT_DIR",
    )
    train.add_argument("--steps", type=int, default=1000)
    train.add_argument("--out", required=True, help="folder for last.pt and best.pt")
    train.add_argument("--batch-size", type=int, default=8)
    train.add_argument("--crop", type=int, nargs=2, default=(64, 128), metavar=("H", "W"))
    train.add_argument("--lr", type=float, default=1e-3)
    train.add_argument("--loss", choices=sorted(LOSSES), default="charbonnier")
    train.add_argument("--model-args", default="{}", help="JSON object of constructor arguments")
    train.add_argument("--eval-every", type=int, default=0)
    train.add_argument("--checkpoint-every", type=int, default=100)
    train.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    _common(train)

    ev = commands.add_parser("evaluate", help="score a checkpoint on a data set")
    ev.add_argument("model")
    ev.add_argument("--checkpoint", required=True)
    ev.add_argument("--data", required=True)
    ev.add_argument("--protocol", default="rgb", choices=("rgb", "sufrinnet", "y_matlab", "y_basicsr"))
    ev.add_argument("--tile", type=int, nargs=2, default=None, metavar=("H", "W"), help="0 = full extent")
    ev.add_argument("--out", default=None, help="JSON file for the metrics")
    _common(ev)

    restore = commands.add_parser("restore", help="restore images with a trained model (tiled when large)")
    restore.add_argument("--model", required=True)
    restore.add_argument("--checkpoint", default=None, help="not needed for the Input model")
    restore.add_argument("--left")
    restore.add_argument("--right")
    restore.add_argument("--input", help="one image (mono models)")
    restore.add_argument("--out", required=True, help="output folder")
    restore.add_argument("--tile", type=int, nargs=2, default=None, metavar=("H", "W"), help="0 = full extent")
    restore.add_argument("--overlap", type=int, default=32)
    restore.add_argument("--overwrite", action="store_true")
    _common(restore)

    bench_command = commands.add_parser("bench", help="run the benchmark suite")
    add_bench_arguments(bench_command)
    bench.add_ablations_argument(bench_command)
    return parser


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true")


def _tile(values) -> tuple[int | None, int | None] | None:
    return None if values is None else tuple(v or None for v in values)


def _model(name: str, checkpoint: str | None, device: str):
    if checkpoint:
        return load_trained_model(checkpoint, name, device)
    model = MODELS.build(name)
    if any(True for _ in model.parameters()):
        raise SystemExit(f"model {name!r} has weights: pass --checkpoint")
    return model.to(device).eval()


def cmd_train(args: argparse.Namespace) -> None:
    context = init_distributed(args.device)
    try:
        seed_everything(args.seed)
        model = MODELS.build(args.model, **json.loads(args.model_args))
        config = TrainConfig(
            steps=args.steps,
            batch_size=args.batch_size,
            lr=args.lr,
            seed=args.seed,
            eval_every=args.eval_every,
            checkpoint_every=args.checkpoint_every,
        )
        train_set = build_dataset(args.data, train=True, crop=tuple(args.crop), seed=args.seed)
        eval_set = build_dataset(args.data, train=False, seed=args.seed)
        trainer = Trainer(model, config, LOSSES[args.loss], context.device, args.out, args.model, quiet=args.quiet)
        history = trainer.fit(train_set, eval_set, resume=args.resume)
        if is_main_process():
            print(json.dumps(history[-1] if len(history) else {}, indent=2))
    finally:
        cleanup_distributed()


def cmd_evaluate(args: argparse.Namespace) -> None:
    model = _model(args.model, args.checkpoint, args.device)
    dataset = build_dataset(args.data, train=False, seed=args.seed)
    result = evaluate(model, dataset, args.protocol, args.device, tile=_tile(args.tile))
    record = {
        "model": args.model,
        "data": args.data,
        "protocol": args.protocol,
        **result.metrics,
        "mpix_per_s": result.throughput,
    }
    print(json.dumps(record, indent=2))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(record, indent=2) + "\n")


def restore_targets(inputs: list[Path], out_dir: Path, overwrite: bool) -> list[Path]:
    """Output paths named after the inputs; refuses to overwrite (or to hit an input) before any write."""
    names = [p.stem for p in inputs]
    if len(set(names)) < len(names):
        names = [f"{n}_{side}" for n, side in zip(names, "LR", strict=False)]
    targets = [out_dir / f"{n}.png" for n in names]
    sources = {p.resolve() for p in inputs}
    for target in targets:
        if target.resolve() in sources:
            raise SystemExit(f"refusing to overwrite the input file {target}")
        if target.exists() and not overwrite:
            raise SystemExit(f"{target} exists; pass --overwrite to replace it")
    return targets


def cmd_restore(args: argparse.Namespace) -> None:
    if args.input and (args.left or args.right):
        raise SystemExit("give either --left and --right or --input")
    if args.input:
        paths = [Path(args.input)]
        views = (read_image(paths[0]),)
    elif args.left and args.right:
        paths = [Path(args.left), Path(args.right)]
        views = read_stereo_pair(*paths)
    else:
        raise SystemExit("restore needs --left and --right, or --input")
    out_dir = Path(args.out)
    targets = restore_targets(paths, out_dir, args.overwrite)
    model = _model(args.model, args.checkpoint, args.device)
    if isinstance(model, StereoModel) != (len(views) == 2):
        kind = "a stereo model: give --left and --right" if len(views) == 1 else "a mono model: give --input"
        raise SystemExit(f"{args.model} is {kind}")
    batch = tuple(v[None].to(args.device) for v in views)
    height, width = views[0].shape[-2:]
    tile = _tile(args.tile) or ((256, None if len(views) == 2 else 256) if height * width > PIXEL_BUDGET else None)
    outputs = run_model(model, batch, tile, args.overlap)
    out_dir.mkdir(parents=True, exist_ok=True)
    for output, target in zip(outputs, targets, strict=True):
        write_png(output[0], target, overwrite=args.overwrite)
        print(target)


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.command != "bench":
        logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    commands = {"train": cmd_train, "evaluate": cmd_evaluate, "restore": cmd_restore, "bench": bench.run}
    try:
        commands[args.command](args)
    except DataFormatError as exc:
        raise SystemExit(f"error: {exc}") from exc


if __name__ == "__main__":
    main()
