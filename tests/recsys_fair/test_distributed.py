import json
import os
import socket
import subprocess
import sys

import torch

from lab_common import load_checkpoint
from recsys_fair.cli import main

ARGS = [
    "train",
    "mf",
    "--data",
    "synthetic",
    "--epochs",
    "1",
    "--eval-every",
    "1",
    "--batch-size",
    "4096",
    "--dim",
    "8",
    "--lr",
    "0.01",
    "--quiet",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_torchrun_two_process_gloo_epoch_matches_one_process(tmp_path, monkeypatch):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        f"--master_port={_free_port()}",
        "-m",
        "recsys_fair.cli",
        *ARGS,
        "--out",
        str(tmp_path / "ddp"),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    main([*ARGS, "--out", str(tmp_path / "single")])

    ddp = load_checkpoint(tmp_path / "ddp" / "last.pt")["state"]["model"]
    single = load_checkpoint(tmp_path / "single" / "last.pt")["state"]["model"]
    # each rank trained on half of every batch and DDP averaged the gradients: the single-process update
    for name in single:
        assert torch.allclose(ddp[name], single[name], atol=1e-5), name
    assert not torch.equal(single["user"], torch.zeros_like(single["user"]))
    ddp_loss = json.loads((tmp_path / "ddp" / "history.json").read_text())[0]["loss"]
    single_loss = json.loads((tmp_path / "single" / "history.json").read_text())[0]["loss"]
    assert abs(ddp_loss - single_loss) < 1e-4  # the logged loss is the mean over ranks
