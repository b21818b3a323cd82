import pickle

import pytest
import torch

from lab_common import DataFormatError, EarlyStopping, History, NonFiniteLossError, ensure_finite


def test_data_format_error_names_file_place_expectation_and_finding():
    error = DataFormatError("data/u.data", 12, "4 tab-separated columns", "3 columns: '1\\t2\\t5'")
    message = str(error)
    assert message == "data/u.data, line 12: expected 4 tab-separated columns, found 3 columns: '1\\t2\\t5'"
    assert isinstance(error, ValueError)
    assert str(DataFormatError("x.png", "item 'left view'", "RGB", "RGBA")) == (
        "x.png, item 'left view': expected RGB, found RGBA"
    )
    assert str(pickle.loads(pickle.dumps(error))) == message  # survives DataLoader workers


def test_ensure_finite_raises_on_nan_and_inf_only():
    ensure_finite(torch.tensor(1.5), "step 1")
    ensure_finite(0.0, "step 2")
    with pytest.raises(NonFiniteLossError, match="epoch 3, batch 7"):
        ensure_finite(torch.tensor(float("nan")), "epoch 3, batch 7")
    with pytest.raises(NonFiniteLossError):
        ensure_finite(float("inf"), "step 4")


def test_early_stopping_counts_checks_without_improvement():
    stopper = EarlyStopping(patience=2, mode="max")
    assert stopper.step(0.1) and stopper.step(0.2)
    assert not stopper.step(0.2) and not stopper.should_stop
    assert not stopper.step(0.15) and stopper.should_stop
    restored = EarlyStopping(patience=2)
    restored.load_state_dict(stopper.state_dict())
    assert restored.best == 0.2 and restored.should_stop
    lower = EarlyStopping(patience=1, mode="min")
    assert lower.step(1.0) and lower.step(0.5) and not lower.step(0.7) and lower.should_stop
    with pytest.raises(ValueError):
        EarlyStopping(mode="maximum")


def test_history_best_and_columns():
    history = History()
    history.append({"epoch": 1, "loss": 0.9})
    history.append({"epoch": 2, "loss": 0.5, "recall@20": 0.1})
    history.append({"epoch": 3, "loss": 0.7, "recall@20": 0.3})
    assert history.column("recall@20") == [0.1, 0.3]
    assert history.best("loss", mode="min")["epoch"] == 2
    assert history.best("recall@20")["epoch"] == 3
    assert History(history.state_dict()["records"]).records == history.records
    with pytest.raises(KeyError, match="no record has 'ndcg'"):
        history.best("ndcg")
