import os
from pathlib import Path

import pytest
import torch


def shared_data_root() -> Path:
    """``$LAB_DATA_ROOT`` or the ``shared/data`` folder beside the repository."""
    return Path(os.environ.get("LAB_DATA_ROOT") or Path(__file__).resolve().parents[2].parent / "shared" / "data")


@pytest.fixture
def cifar10_root() -> Path:
    folder = shared_data_root() / "cifar10"
    if not (folder / "test.npz").is_file():
        pytest.skip(f"shared CIFAR-10 data absent ({folder}/test.npz); set LAB_DATA_ROOT to run this test")
    return folder


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models on a shared CPU run 10-100x faster on one intra-op thread than on two contended ones."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
