import random

import numpy as np
import torch

from lab_common import get_rng_state, seed_everything, set_rng_state


def _draw():
    return random.random(), float(np.random.rand()), torch.rand(3).tolist()


def test_same_seed_same_numbers_different_seed_different_numbers():
    seed_everything(7)
    first = _draw()
    seed_everything(7)
    assert _draw() == first
    seed_everything(8)
    assert _draw() != first


def test_same_seed_gives_same_trained_weights():
    def train():
        seed_everything(3)
        model = torch.nn.Linear(4, 1)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for _ in range(5):
            x = torch.randn(16, 4)
            loss = (model(x) - x.sum(1, keepdim=True)).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        return model.weight.detach().clone()

    assert torch.equal(train(), train())


def test_rng_state_round_trip_continues_the_same_stream():
    seed_everything(1)
    state = get_rng_state()
    expected = _draw()
    _draw()
    set_rng_state(state)
    assert _draw() == expected


def test_rng_state_survives_a_checkpoint(tmp_path):
    from lab_common import load_checkpoint, save_checkpoint

    seed_everything(5)
    save_checkpoint(tmp_path / "rng.pt", {"rng": get_rng_state()})
    expected = _draw()
    set_rng_state(load_checkpoint(tmp_path / "rng.pt")["state"]["rng"])
    assert _draw() == expected
