import argparse
import json

import pytest
import torch

from lab_common import load_checkpoint, run_suite
from recsys_fair import MODELS, InteractionData
from recsys_fair.bench import build_cases
from recsys_fair.cli import main
from recsys_fair.data.spec import load_dataset


def test_models_are_registered():
    assert {"MF", "LightGCN", "LightGCN-PyG", "MostPop"} <= set(MODELS.names())
    with pytest.raises(KeyError, match="LightGCN"):
        MODELS.get("LightGCM")


def test_cli_datasets_train_evaluate(tmp_path, capsys):
    main(["datasets"])
    assert "movielens" in capsys.readouterr().out
    main(
        [
            "train",
            "lightgcn",
            "--epochs",
            "2",
            "--eval-every",
            "1",
            "--batch-size",
            "512",
            "--dim",
            "8",
            "--out",
            str(tmp_path),
            "--quiet",
        ]
    )
    history = json.loads((tmp_path / "history.json").read_text())
    assert [r["stage"] for r in history] == ["train", "train", "test"]
    capsys.readouterr()
    main(["evaluate", "--checkpoint", str(tmp_path / "best.pt"), "--ks", "20"])
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["ndcg@20"] == pytest.approx(history[-1]["test/ndcg@20"])


@pytest.mark.parametrize(
    ("name", "options", "check"),
    [
        ("fda", ["--rho", "0.3"], lambda config: config["rho"] == 0.3 and config["augment"]),
        ("megcf", ["--evaluator", "sampled", "--metric", "hr@10"], lambda config: config["n_layers"] >= 1),
        ("jmp-gcf", ["--stage-fractions", "0.3", "0.6"], lambda config: tuple(config["stage_epochs"]) == (0, 1)),
    ],
)
def test_cli_trains_each_method_with_its_options(tmp_path, capsys, name, options, check):
    common = ["--epochs", "3", "--eval-every", "3", "--dim", "8", "--out", str(tmp_path), "--quiet"]
    main(["train", name, *options, *common])
    checkpoint = load_checkpoint(tmp_path / "best.pt")
    assert check(checkpoint["config"]["model_config"])
    history = json.loads((tmp_path / "history.json").read_text())
    assert history[-1]["stage"] == "test" and all(k.startswith("test/") for k in history[-1] if "@" in k)


def test_cli_rejects_paper_config_for_a_model_without_one(tmp_path):
    with pytest.raises(SystemExit, match="MEGCF and JMP-GCF"):
        main(["train", "lightgcn", "--paper-config", "beauty", "--epochs", "1", "--out", str(tmp_path)])


def test_data_spec_errors():
    with pytest.raises(ValueError, match="expected one of"):
        load_dataset("lastfm:/nowhere")


def test_dataset_save_load_round_trip(synthetic, tmp_path):
    path = synthetic.save(tmp_path / "data.npz")
    loaded = InteractionData.load(path)
    for split in ("train", "valid", "test"):
        assert torch.equal(getattr(loaded, split), getattr(synthetic, split))
    assert torch.equal(loaded.groups(), synthetic.groups()) and loaded.sensitive == "group"
    assert torch.equal(loaded.item_entity_pairs(), synthetic.item_entity_pairs())
    assert loaded.fingerprint() == synthetic.fingerprint()


def test_invalid_fields_raise_before_anything_is_built():
    from lab_common import DataFormatError

    with pytest.raises(DataFormatError, match=r"field train, row 1: expected item ids in \[0, 3\), found 3"):
        InteractionData(2, 3, torch.tensor([[0, 1], [1, 3]]))
    with pytest.raises(DataFormatError, match=r"exactly the values \{0, 1\}"):
        InteractionData(2, 3, torch.tensor([[0, 1]]), user_features={"g": torch.tensor([0, 0])}, sensitive="g")
    with pytest.raises(DataFormatError, match="0 <= positive <= total"):
        InteractionData(1, 2, torch.tensor([[0, 1]]), item_reviews=torch.tensor([[1, 2], [3, 2]]))


def test_bench_suite_rows_and_skips(tmp_path):
    cases = build_cases(argparse.Namespace(suite="quick"))
    rows = {(c.method, c.dataset) for c in cases}
    for dataset in ("synthetic", "movielens-100k", "megcf-beauty"):
        assert {("MF", dataset), ("LightGCN", dataset), ("LightGCN-PyG", dataset)} <= rows
    results = run_suite("recsys-fair", "quick", cases, tmp_path, only=["megcf-beauty"], data_root=tmp_path / "none")
    assert {r["status"] for r in results["records"]} == {"skipped"}
    assert "megcf-beauty" in (tmp_path / "results.md").read_text()
