import os
import pickle

import pytest
import torch

from lab_common import CheckpointError, load_checkpoint, save_checkpoint


def test_round_trip_keeps_weights_config_and_meta(tmp_path):
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.randn(4, 3)).sum().backward()
    optimizer.step()
    path = save_checkpoint(
        tmp_path / "sub" / "ckpt.pt",
        {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 3},
        config={"in_features": 3, "out_features": 2},
        meta={"metric": 0.5},
    )
    loaded = load_checkpoint(path)
    assert loaded["config"] == {"in_features": 3, "out_features": 2}
    assert loaded["meta"]["metric"] == 0.5 and "created" in loaded["meta"] and "torch" in loaded["meta"]
    assert loaded["state"]["epoch"] == 3
    restored = torch.nn.Linear(**loaded["config"])
    restored.load_state_dict(loaded["state"]["model"])
    assert torch.equal(restored.weight, model.weight)
    fresh = torch.optim.Adam(restored.parameters())
    fresh.load_state_dict(loaded["state"]["optimizer"])
    assert torch.equal(fresh.state_dict()["state"][0]["exp_avg"], optimizer.state_dict()["state"][0]["exp_avg"])


def test_interrupted_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, {"value": torch.tensor([1.0])})

    def crash(obj, handle, *args, **kwargs):
        handle.write(b"partial bytes")
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, {"value": torch.tensor([2.0])})
    monkeypatch.undo()
    assert torch.equal(load_checkpoint(path)["state"]["value"], torch.tensor([1.0]))
    assert os.listdir(tmp_path) == ["ckpt.pt"], "the temporary file must be cleaned up"


class _Payload:
    def __reduce__(self):
        return (os.system, ("echo pwned > should_not_exist",))


def test_pickle_with_executable_payload_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pt"
    with open(path, "wb") as handle:
        pickle.dump({"format": "lab-common-checkpoint/1", "state": _Payload()}, handle)
    with pytest.raises(CheckpointError, match="refused to load"):
        load_checkpoint(path)
    assert not (tmp_path / "should_not_exist").exists()


def test_corrupted_missing_and_foreign_files_raise_clear_errors(tmp_path):
    good = save_checkpoint(tmp_path / "good.pt", {"w": torch.zeros(1000)})
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="truncated.pt"):
        load_checkpoint(truncated)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"\x00not a checkpoint at all")
    with pytest.raises(CheckpointError, match="garbage.pt"):
        load_checkpoint(garbage)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "absent.pt")
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {}}, foreign)
    with pytest.raises(CheckpointError, match="not a lab-common checkpoint"):
        load_checkpoint(foreign)
