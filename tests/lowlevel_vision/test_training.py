import pytest
import torch

from lab_common import NonFiniteLossError, load_checkpoint
from lowlevel_vision.data import SyntheticStereo
from lowlevel_vision.evaluation import evaluate
from lowlevel_vision.losses import charbonnier_loss as charbonnier
from lowlevel_vision.models import InputModel, Monocular
from lowlevel_vision.training import TrainConfig, Trainer, load_trained_model


def _data(n=64, size=(16, 32), task="lowlight"):
    return SyntheticStereo(task, "stereo_bench", n=n, size=size, seed=0, fixed=False, disparity=(1, 6))


def _trainer(tmp_path=None, steps=6, seed=0, **kwargs):
    torch.manual_seed(seed)
    model = Monocular(4, (1, 1), 1, (1, 1))
    config = TrainConfig(steps=steps, batch_size=2, lr=2e-3, seed=seed, log_every=1, **kwargs)
    return Trainer(model, config, out_dir=tmp_path, model_name="Monocular")


def test_charbonnier_hand_value():
    pred, gt = torch.tensor([0.0, 0.3]), torch.tensor([0.0, 0.0])
    expected = (1e-3 + (0.09 + 1e-6) ** 0.5) / 2
    assert charbonnier(pred, gt).item() == pytest.approx(expected, rel=1e-6)


def test_same_seed_same_losses_and_batches():
    a, b = _trainer(), _trainer()
    assert a.batch_indices(3, 64) == b.batch_indices(3, 64)
    history_a, history_b = a.fit(_data()), b.fit(_data())
    assert history_a.column("loss") == history_b.column("loss")


def test_resume_continues_exactly(tmp_path):
    full = _trainer(tmp_path / "full", steps=6).fit(_data()).column("loss")
    first = _trainer(tmp_path / "split", steps=6, checkpoint_every=3)
    first.config.steps = 3  # stop early, as an interrupted run would
    first.fit(_data())
    assert load_checkpoint(tmp_path / "split" / "last.pt")["state"]["step"] == 3
    resumed = _trainer(tmp_path / "split", steps=6, seed=0)
    torch.manual_seed(123)  # resume must not depend on the caller's RNG state
    history = resumed.fit(_data(), resume=True)
    assert history.column("loss") == pytest.approx(full, abs=0) and resumed.step == 6


def test_checkpoint_rebuilds_the_model(tmp_path):
    trainer = _trainer(tmp_path, steps=2)
    trainer.fit(_data())
    model = load_trained_model(tmp_path / "last.pt", "Monocular")
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        expected = trainer.model.eval()(x, x)
        assert torch.allclose(model(x, x)[0], expected[0], atol=1e-6)
    with pytest.raises(ValueError, match="Monocular"):
        load_trained_model(tmp_path / "last.pt", "StereoIRR")


def test_non_finite_loss_stops_before_update(tmp_path):
    trainer = _trainer(tmp_path, steps=3)
    trainer.loss = lambda pred, gt: (pred - gt).abs().mean() * float("nan")
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    with pytest.raises(NonFiniteLossError, match="step 1"):
        trainer.fit(_data())
    assert all(torch.equal(before[k], v) for k, v in trainer.model.state_dict().items())


def test_loss_decreases_and_monocular_lifts_psnr_over_input():
    torch.manual_seed(0)
    model = Monocular(8, (1, 1), 1, (1, 1))
    train = _data(n=2000, size=(24, 48))
    config = TrainConfig(steps=40, batch_size=4, lr=2e-3, log_every=10)
    history = Trainer(model, config).fit(train)
    losses = history.column("loss")
    assert losses[-1] < 0.8 * losses[0]
    test = SyntheticStereo("lowlight", "stereo_bench", n=6, size=(32, 64), seed=1234, disparity=(1, 6))
    trained = evaluate(model, test).metrics
    inputs = evaluate(InputModel(), test).metrics
    assert trained["psnr_l"] > inputs["psnr_l"] + 2 and trained["psnr_r"] > inputs["psnr_r"] + 2
