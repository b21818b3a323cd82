import os
from pathlib import Path

import pytest
import torch

from recsys_fair import InteractionData, synthetic_interactions


def shared_data_root() -> Path:
    env = os.environ.get("LAB_DATA_ROOT")
    return Path(env) if env else Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.fixture
def real_dataset():
    def locate(name: str) -> Path:
        path = shared_data_root() / name
        if not path.is_dir():
            pytest.skip(f"real dataset {name} not found under {shared_data_root()} (set LAB_DATA_ROOT)")
        return path

    return locate


@pytest.fixture(autouse=True)
def single_thread():
    """Tiny tensors gain nothing from intra-op threads, and on a shared CPU the thread pool spins."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def synthetic():
    return synthetic_interactions(seed=0)


@pytest.fixture
def toy():
    """2 users x 3 items: user 0 has items 0, 1; user 1 has items 1, 2; test: user 0 -> 2, user 1 -> 0."""
    return InteractionData(
        n_users=2,
        n_items=3,
        train=torch.tensor([[0, 0], [0, 1], [1, 1], [1, 2]]),
        test=torch.tensor([[0, 2], [1, 0]]),
        user_features={"gender": torch.tensor([0, 1])},
        sensitive="gender",
    )
