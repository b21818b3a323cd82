"""Trainer and evaluator: schedules, learning on synthetic data, exact resume, guards, determinism."""

import logging

import pytest
import torch

from lab_common import NonFiniteLossError, load_checkpoint, seed_everything
from learn_compress.data import CifarDataset, make_synthetic_images
from learn_compress.evaluation import evaluate
from learn_compress.models import build_model
from learn_compress.trainer import ClassifierTrainer, TrainConfig, lr_at


@pytest.fixture(scope="module")
def tiny_data():
    arrays = make_synthetic_images(100, modes_per_class=2, sample_seed=1)
    return CifarDataset(arrays, train=True), CifarDataset(make_synthetic_images(100, modes_per_class=2, sample_seed=2))


def test_step_schedule_counts_epochs_from_one():
    config = TrainConfig(epochs=299, lr=0.1, milestones=(100, 150, 200))
    assert lr_at(config, 99) == pytest.approx(0.1)
    assert lr_at(config, 100) == pytest.approx(0.01)
    assert lr_at(config, 150) == pytest.approx(0.001)
    assert lr_at(config, 299) == pytest.approx(1e-4)


def test_cosine_and_constant_schedules():
    cosine = TrainConfig(epochs=10, lr=0.2, schedule="cosine")
    assert lr_at(cosine, 1) == pytest.approx(0.2) and lr_at(cosine, 6) == pytest.approx(0.1)
    assert lr_at(TrainConfig(lr=0.3, schedule="constant"), 17) == 0.3
    with pytest.raises(ValueError, match="schedule"):
        TrainConfig(schedule="linear")
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig(optimizer="rmsprop")


def test_short_training_on_synthetic_beats_chance_widely():
    seed_everything(0)
    train = CifarDataset(make_synthetic_images(500, modes_per_class=3, noise=0.5, sample_seed=1), train=True)
    test = CifarDataset(make_synthetic_images(500, modes_per_class=3, noise=0.5, sample_seed=2))
    config = TrainConfig(epochs=4, batch_size=32, lr=0.05, schedule="cosine")
    history = ClassifierTrainer(build_model("small_cnn", width=16), config).fit(train, test)
    assert [r["epoch"] for r in history] == [1, 2, 3, 4]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert history[-1]["test_top1"] > 40.0  # chance is 10 %


def run(data, epochs, checkpoint_dir=None, resume=None, optimizer="sgd"):
    seed_everything(0)
    model = build_model("small_cnn", width=4)
    config = TrainConfig(epochs=epochs, batch_size=16, lr=0.05, milestones=(2,), optimizer=optimizer)
    trainer = ClassifierTrainer(model, config, checkpoint_dir=checkpoint_dir, model_config={"name": "small_cnn"})
    return trainer.fit(*data, resume=resume), model


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_resume_equals_uninterrupted_run(tmp_path, tiny_data, optimizer):
    straight, straight_model = run(tiny_data, 3, optimizer=optimizer)
    run(tiny_data, 1, checkpoint_dir=tmp_path, optimizer=optimizer)
    checkpoint = load_checkpoint(tmp_path / "last.pt")
    assert checkpoint["state"]["epoch"] == 1 and checkpoint["config"]["model"] == {"name": "small_cnn"}
    seed_everything(123)  # the resumed run must not depend on the RNG state it starts from
    resumed, resumed_model = run(
        tiny_data, 3, checkpoint_dir=tmp_path, resume=tmp_path / "last.pt", optimizer=optimizer
    )
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in straight]
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in resumed] == strip
    for a, b in zip(straight_model.state_dict().values(), resumed_model.state_dict().values()):
        assert torch.equal(a, b)
    assert (tmp_path / "best.pt").is_file()


def test_same_seed_same_numbers(tiny_data):
    a, _ = run(tiny_data, 1)
    b, _ = run(tiny_data, 1)
    assert a[0]["train_loss"] == b[0]["train_loss"] and a[0]["test_top1"] == b[0]["test_top1"]


def test_non_finite_loss_stops_before_the_update_and_keeps_the_checkpoint(tmp_path, tiny_data):
    model = build_model("small_cnn", width=4)
    trainer = ClassifierTrainer(model, TrainConfig(epochs=1, batch_size=16, milestones=()), checkpoint_dir=tmp_path)
    trainer.fit(tiny_data[0])
    before = (tmp_path / "last.pt").read_bytes()
    with torch.no_grad():
        model.linear.bias.fill_(float("nan"))
    weights = {k: v.clone() for k, v in model.named_parameters()}
    trainer.config.epochs = 2
    with pytest.raises(NonFiniteLossError, match="epoch 2, batch 0"):
        trainer.fit(tiny_data[0])
    assert (tmp_path / "last.pt").read_bytes() == before
    for name, value in model.named_parameters():
        assert torch.allclose(value, weights[name], rtol=0, atol=0, equal_nan=True), name


def test_amp_is_cuda_only(caplog):
    with caplog.at_level(logging.WARNING):
        trainer = ClassifierTrainer(build_model("small_cnn", width=4), TrainConfig(amp=True))
    assert not trainer.use_amp and "CUDA only" in caplog.text


def test_evaluate_reports_top1_top5_and_per_class():
    class Fixed(torch.nn.Module):
        def forward(self, x):
            ramp = -0.01 * torch.arange(10.0)  # breaks ties: lower classes rank higher
            return torch.nn.functional.pad(x.mean(dim=(2, 3)), (0, 7)) + ramp

    x = torch.zeros(4, 3, 2, 2)
    x[0, 0] = 1.0  # argmax 0
    x[1, 1] = 1.0  # argmax 1
    x[2, 2] = 1.0  # argmax 2
    x[3, 2] = 1.0  # argmax 2
    labels = torch.tensor([0, 1, 0, 2])
    metrics = evaluate(Fixed(), torch.utils.data.TensorDataset(x, labels), batch_size=3)
    assert metrics["top1"] == 75.0 and metrics["n"] == 4
    assert metrics["per_class"][:3] == [50.0, 100.0, 100.0]
    assert metrics["top5"] == 100.0
