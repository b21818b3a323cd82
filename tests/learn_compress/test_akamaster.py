"""The akamaster loader: strict loading of the shared checkpoints and clear errors for mismatched files."""

import pytest
import torch

from lab_common import CheckpointError
from learn_compress.data import CifarDataset, load_cifar_npz, stratified_subset
from learn_compress.evaluation import evaluate
from learn_compress.models import cifar_resnet, load_akamaster

SHARED = {20: (269_722, 91.78), 32: (464_154, 92.78), 56: (853_018, 93.62)}
# top-1 on the JPEG-decoded test.npz with ImageNet normalisation (compress-common.md section 2)
REFERENCE_TOP1 = {20: 81.03, 32: 82.56, 56: 83.20}


def write_akamaster(path, state_dict, prefix="module."):
    """A file shaped like the released ones: {"state_dict": {module.* tensors}, "best_prec1": float}."""
    torch.save({"state_dict": {prefix + k: v for k, v in state_dict.items()}, "best_prec1": 90.0}, path)
    return path


def plain_state(depth=20):
    return {k: v for k, v in cifar_resnet(depth).state_dict().items() if not k.endswith("num_batches_tracked")}


def test_written_checkpoint_round_trips_and_infers_depth(tmp_path):
    source = cifar_resnet(32)
    state = {k: v for k, v in source.state_dict().items() if not k.endswith("num_batches_tracked")}
    model, meta = load_akamaster(write_akamaster(tmp_path / "r32.th", state))
    assert meta["depth"] == 32 and meta["normalization"] == "imagenet" and meta["best_prec1"] == 90.0
    assert not model.training
    x = torch.randn(2, 3, 32, 32)
    assert torch.equal(model(x), source.eval()(x))


def test_missing_key_is_named(tmp_path):
    state = plain_state()
    del state["layer2.1.bn1.running_var"]
    with pytest.raises(CheckpointError, match=r"missing keys \['layer2\.1\.bn1\.running_var'\]"):
        load_akamaster(write_akamaster(tmp_path / "bad.th", state))


def test_extra_key_is_named(tmp_path):
    state = plain_state()
    state["fc.weight"] = torch.zeros(10, 64)
    with pytest.raises(CheckpointError, match=r"unexpected keys \['fc\.weight'\]") as info:
        load_akamaster(write_akamaster(tmp_path / "bad.th", state))
    assert "bad.th" in str(info.value)


def test_depth_mismatch_and_bad_files(tmp_path):
    path = write_akamaster(tmp_path / "r20.th", plain_state(20))
    with pytest.raises(CheckpointError, match="depth 56 expects 9 blocks per stage, found 3"):
        load_akamaster(path, depth=56)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_akamaster(tmp_path / "absent.th")
    (tmp_path / "junk.th").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="junk.th"):
        load_akamaster(tmp_path / "junk.th")


@pytest.mark.parametrize("depth", sorted(SHARED))
def test_shared_checkpoints_load_strictly(cifar10_root, depth):
    path = next(cifar10_root.glob(f"resnet{depth}-*.th"), None)
    if path is None:
        pytest.skip(f"resnet{depth}-*.th absent from {cifar10_root}")
    raw = torch.load(path, map_location="cpu", weights_only=True)["state_dict"]
    assert all(k.startswith("module.") for k in raw) and not any("num_batches_tracked" in k for k in raw)
    model, meta = load_akamaster(path)
    count, best = SHARED[depth]
    assert sum(p.numel() for p in model.parameters()) == count
    assert meta["depth"] == depth and meta["best_prec1"] == pytest.approx(best, abs=1e-3)


def test_resnet20_on_stratified_test_subset(cifar10_root):
    model, meta = load_akamaster(next(cifar10_root.glob("resnet20-*.th")))
    subset = stratified_subset(load_cifar_npz(cifar10_root / "test.npz"), 1000, seed=0)
    top1 = evaluate(model, CifarDataset(subset, normalization=meta["normalization"]))["top1"]
    assert top1 == pytest.approx(REFERENCE_TOP1[20], abs=2.5)


@pytest.mark.slow
@pytest.mark.parametrize("depth", sorted(REFERENCE_TOP1))
def test_pretrained_top1_on_full_test_set(cifar10_root, depth):
    model, meta = load_akamaster(next(cifar10_root.glob(f"resnet{depth}-*.th")))
    test = CifarDataset(load_cifar_npz(cifar10_root / "test.npz"), normalization=meta["normalization"])
    metrics = evaluate(model, test)
    assert metrics["n"] == 10_000
    assert metrics["top1"] == pytest.approx(REFERENCE_TOP1[depth], abs=0.3)
