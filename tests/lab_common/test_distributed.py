import socket

import torch
import torch.multiprocessing as mp

from lab_common import (
    all_reduce_mean,
    cleanup_distributed,
    get_world_size,
    init_distributed,
    is_main_process,
    unwrap_model,
    wrap_ddp,
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_single_process_helpers_are_no_ops(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    ctx = init_distributed("cpu")
    assert ctx.world_size == 1 and not ctx.is_distributed and is_main_process() and get_world_size() == 1
    value = torch.tensor([1.0, 2.0])
    reduced = all_reduce_mean(value)
    assert torch.equal(reduced, value) and reduced is not value
    model = torch.nn.Linear(2, 1)
    assert wrap_ddp(model) is model and unwrap_model(model) is model


def _worker(rank: int, world_size: int, port: int, results) -> None:
    import os

    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank)
    )
    torch.set_num_threads(1)
    ctx = init_distributed("cpu")
    try:
        mean = all_reduce_mean(torch.tensor([float(rank), 10.0 * rank]))
        torch.manual_seed(rank)  # different initial weights: DDP must broadcast rank 0's
        model = wrap_ddp(torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1)))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        generator = torch.Generator().manual_seed(100 + rank)  # each rank its own shard
        x = torch.randn(16, 4, generator=generator)
        loss = (model(x) - x.sum(1, keepdim=True)).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        params = torch.cat([p.detach().flatten() for p in unwrap_model(model).parameters()])
        results[rank] = {"mean": mean, "params": params, "main": is_main_process(), "world": ctx.world_size}
    finally:
        cleanup_distributed()


def test_two_process_gloo_all_reduce_and_ddp_step_agree():
    world_size = 2
    manager = mp.Manager()
    results = manager.dict()
    # fork: the worker need not be importable by module name (pytest imports tests with importlib)
    mp.start_processes(
        _worker, args=(world_size, _free_port(), results), nprocs=world_size, join=True, start_method="fork"
    )
    first, second = results[0], results[1]
    assert torch.allclose(first["mean"], torch.tensor([0.5, 5.0]))
    assert torch.equal(first["mean"], second["mean"])
    assert torch.equal(first["params"], second["params"])
    assert first["main"] and not second["main"] and first["world"] == 2
