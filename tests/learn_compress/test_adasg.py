"""Tests of AdaSG, GDFQ and min-max PTQ (``papers/adasg.md`` sections 1.2-1.9, checklist items 6-13)."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lab_common import CheckpointError
from learn_compress.models.adasg import (
    GDFQ,
    AdaSG,
    BNStatistics,
    ConditionalGenerator,
    DataFreeQuantization,
    GameConfig,
    MinMax,
    adasg_quantized_loss,
    band_loss,
    entropy,
    kd_loss,
    normalised_entropy,
)
from learn_compress.quantization import ActQuant, ConfigError
from learn_compress.registry import MODELS

IMG = 8
CLASSES = 4
FAST = dict(img_size=IMG, batch_size=8, ema_mode="standard", calib_epochs=1, warmup_epochs=1)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make_data(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Class c = a bright 4x4 quadrant c on noise, in normalised-image space."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % CLASSES
    x = torch.randn(n, 3, IMG, IMG, generator=g) * 0.5
    rows, cols = (y // 2) * (IMG // 2), (y % 2) * (IMG // 2)
    for i in range(n):
        x[i, :, rows[i] : rows[i] + IMG // 2, cols[i] : cols[i] + IMG // 2] += 1.5
    return x, y


@pytest.fixture(scope="module")
def teacher() -> nn.Module:
    """A small conv net with BN, trained here for a few steps (accuracy far above chance)."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, CLASSES),
    )
    x, y = make_data(256, seed=1)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    model.train()
    for step in range(60):
        batch = slice((step * 32) % 256, (step * 32) % 256 + 32)
        opt.zero_grad()
        F.cross_entropy(model(x[batch]), y[batch]).backward()
        opt.step()
    return model.eval()


@pytest.fixture(scope="module")
def test_set() -> tuple[torch.Tensor, torch.Tensor]:
    return make_data(128, seed=2)


def params(module: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def test_teacher_is_trained(teacher, test_set):
    x, y = test_set
    with torch.no_grad():
        assert (teacher(x).argmax(1) == y).float().mean() > 0.8


# -- losses ------------------------------------------------------------------------------------


def test_bns_loss_is_zero_when_batch_statistics_equal_running_ones():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).eval()
    x = torch.randn(6, 3, 7, 7)
    with torch.no_grad():
        a = net[0](x)
        net[1].running_mean.copy_(a.mean(dim=(0, 2, 3)))
        net[1].running_var.copy_(a.var(dim=(0, 2, 3), unbiased=False))
    stats = BNStatistics(net)
    net(x)
    assert float(stats.loss().detach()) < 1e-6
    stats.clear()
    net(x * 2 + 1)
    assert float(stats.loss().detach()) > 0.1
    stats.remove()
    net(x)
    assert stats.records == []
    with pytest.raises(ConfigError):
        BNStatistics(nn.Linear(2, 2))


def test_band_loss_is_zero_inside_and_positive_outside():
    for value, expected in [(0.5, 0.0), (0.3, 0.0), (0.8, 0.0), (0.0, 0.3), (1.0, 0.2)]:
        assert float(band_loss(torch.full((7,), value), 0.3, 0.8)) == pytest.approx(expected, abs=1e-6)
    mixed = torch.tensor([0.1, 0.5, 0.9, 0.6])
    assert float(band_loss(mixed)) == pytest.approx((0.2 + 0.1) / 4)


def test_normalised_entropy_is_in_unit_interval_and_guarded():
    torch.manual_seed(0)
    h = entropy(torch.randn(9, 5) * 3)
    h_norm = normalised_entropy(h, 5)
    assert float(h_norm.min()) == 0.0 and float(h_norm.max()) <= 1.0
    uniform = normalised_entropy(entropy(torch.zeros(4, 5)), 5)
    assert torch.isfinite(uniform).all()


def test_quantized_loss_matches_formula_and_its_step_raises_the_entropy():
    p = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    q = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 1.0]], requires_grad=True)
    temperature = 2.0

    def hand_entropy(z):
        e = [math.exp(v) for v in z]
        probs = [v / sum(e) for v in e]
        return -sum(pr * math.log(pr) for pr in probs)

    rows = (p - q.detach()) / temperature
    expected = -(temperature**2) * sum(hand_entropy(r.tolist()) for r in rows) / 2
    loss = adasg_quantized_loss(p, q, temperature)
    assert float(loss.detach()) == pytest.approx(expected, rel=1e-6)
    loss.backward()
    with torch.no_grad():
        q_new = q - 0.5 * q.grad
        assert entropy((p - q_new) / temperature).mean() > entropy((p - q) / temperature).mean()


def test_kd_loss_elementwise_mean_is_batchmean_over_classes():
    torch.manual_seed(0)
    p, q = torch.randn(5, 7), torch.randn(5, 7)
    batchmean = kd_loss(p, q, 4.0, "batchmean")
    assert float(batchmean) > 0
    assert float(kd_loss(p, q, 4.0, "elementwise_mean")) == pytest.approx(float(batchmean) / 7, rel=1e-5)


# -- generator ---------------------------------------------------------------------------------


def test_generator_output_is_standardised_per_channel():
    torch.manual_seed(0)
    gen = ConditionalGenerator(CLASSES, img_size=16).train()
    x = gen(*gen.sample_inputs(12))
    assert x.shape == (12, 3, 16, 16)
    assert x.mean(dim=(0, 2, 3)).abs().max() < 1e-4
    assert (x.std(dim=(0, 2, 3)) - 1).abs().max() < 0.05
    assert gen.bn1.bn.eps == 0.8 and gen.bn2.bn.eps == 0.8 and gen.bn0.bn.eps == 1e-5
    assert ConditionalGenerator(CLASSES, img_size=16, bn_eps_quirk=False).bn1.bn.eps == 1e-5
    imagenet_style = ConditionalGenerator(CLASSES, img_size=8, conditional_bn=True)
    assert imagenet_style.embed is None and imagenet_style.bn1.gamma.weight.shape == (CLASSES, 128)
    assert imagenet_style(*imagenet_style.sample_inputs(3)).shape == (3, 3, 8, 8)


# -- the game ----------------------------------------------------------------------------------


def test_maximisation_step_changes_only_g_and_minimisation_step_only_q(teacher):
    game = AdaSG(teacher, 4, 4, **FAST)
    p0, q0, g0 = params(game.teacher), params(game.quantized), params(game.generator)
    z, y = game.generator.sample_inputs(game.config.batch_size)
    x, p, q, _ = game.maximisation_step(z, y)
    assert same(params(game.teacher), p0) and same(params(game.quantized), q0)
    assert not same(params(game.generator), g0)
    g1 = params(game.generator)
    game.minimisation_step(x, p, y, train=True)
    assert same(params(game.teacher), p0) and same(params(game.generator), g1)
    assert not same(params(game.quantized), q0)
    # during warm-up a whole iteration leaves Q's parameters as they are
    q1 = params(game.quantized)
    game.iteration(epoch=0)
    assert same(params(game.quantized), q1) and same(params(game.teacher), p0)
    assert all(not p.requires_grad for p in game.teacher.parameters())
    assert all(p.requires_grad for p in teacher.parameters())  # the caller's network is left alone


def test_reusing_q_forward_after_calibration_equals_a_second_forward(teacher):
    games = []
    for _ in range(2):
        games.append(AdaSG(teacher, 4, 4, **FAST))  # seeds the global RNG
        games[-1].fit(epochs=1, iters_per_epoch=3)  # calibrate, then ranges frozen
    torch.manual_seed(5)
    games[0].iteration(epoch=1)  # reuses Q(x) of the G step
    torch.manual_seed(5)
    z, y = games[1].generator.sample_inputs(games[1].config.batch_size)
    x, p, _, _ = games[1].maximisation_step(z, y)
    games[1].minimisation_step(x, p, y, train=True)  # forwards Q(x.detach()) again
    assert same(params(games[0].quantized), params(games[1].quantized))
    assert same(params(games[0].generator), params(games[1].generator))


def test_short_fit_returns_quantized_network_and_finite_history(teacher, test_set):
    game = AdaSG(teacher, 4, 4, milestones=(2,), **FAST)
    quantized, history = game.fit(test_set, epochs=3, iters_per_epoch=4)
    assert quantized is game.quantized and any(isinstance(m, ActQuant) for m in quantized.modules())
    assert len(history) == 3
    for record in history:
        for key in ("loss_g", "loss_bal", "loss_lab", "loss_bns", "loss_q", "h_norm_mean"):
            assert math.isfinite(record[key]), key
        assert 0.0 <= record["frac_in_band"] <= 1.0
        assert 0.0 <= record["test_top1"] <= 100.0
    assert history.column("calibrating") == [True, False, False]
    assert history.column("q_trained") == [False, True, True]
    assert history.column("lr_q") == pytest.approx([1e-4, 1e-4, 1e-5])
    assert game.best_top1 == max(history.column("test_top1")) and game.best_state is not None
    assert all(not a.calibrating for a in quantized.modules() if isinstance(a, ActQuant))


def test_same_seed_same_history_and_any_batch_size(teacher):
    def run(seed):
        _, history = GDFQ(teacher, 4, 4, seed=seed, **{**FAST, "batch_size": 7}).fit(epochs=2, iters_per_epoch=2)
        return [{k: v for k, v in r.items() if not k.startswith("second")} for r in history]

    first = run(0)
    assert first == run(0)
    assert first != run(1)


def test_official_ema_with_too_few_calibration_updates_is_rejected(teacher):
    game = AdaSG(teacher, 4, 4, img_size=IMG, batch_size=4, calib_epochs=1)
    with pytest.raises(ConfigError, match="200"):
        game.fit(epochs=2, iters_per_epoch=10)
    assert game.calibration_updates(2, 100) == 200
    assert GDFQ(teacher, 4, 4, img_size=IMG, calib_epochs=1).calibration_updates(2, 100) == 100
    with pytest.raises(ConfigError):
        GameConfig(lambda_l=0.9, lambda_u=0.8)


def test_gdfq_differs_from_adasg_only_in_the_two_losses():
    def own(cls):
        return {k for k in vars(cls) if not k.startswith("_")}

    assert own(AdaSG) == own(GDFQ) == {"generator_uses_q", "generator_loss", "quantized_loss"}
    assert issubclass(AdaSG, DataFreeQuantization) and issubclass(GDFQ, DataFreeQuantization)
    assert MODELS.get("AdaSG") is AdaSG and MODELS.get("GDFQ") is GDFQ and MODELS.get("MinMax") is MinMax


def test_minmax_ptq_at_eight_bits_matches_full_precision(teacher, test_set):
    x, y = test_set
    with torch.no_grad():
        fp = 100.0 * float((teacher(x).argmax(1) == y).float().mean())
    _, history = MinMax(teacher, 8, 8, image_shape=(3, IMG, IMG)).fit(test_set)
    assert abs(history[0]["test_top1"] - fp) <= 1.0
    generator = ConditionalGenerator(CLASSES, img_size=IMG)
    for calib in (x[:32], generator):
        quantized, history = MinMax(
            teacher, 4, 4, calib=calib, num_batches=2, batch_size=16, image_shape=(3, IMG, IMG)
        ).fit()
        acts = [m for m in quantized.modules() if isinstance(m, ActQuant)]
        assert all(float(a.x_max) > 0 and int(a.updates) == 2 for a in acts) and "seconds" in history[0]
    with pytest.raises(ConfigError):
        MinMax(teacher, 4, 4, calib="uniform").fit()


def test_game_checkpoint_resumes_exactly(teacher, test_set, tmp_path):
    straight = AdaSG(teacher, 4, 4, **FAST)
    straight.fit(test_set, epochs=3, iters_per_epoch=3)

    first = AdaSG(teacher, 4, 4, **FAST)
    first.fit(test_set, epochs=2, iters_per_epoch=3, checkpoint_dir=tmp_path)
    resumed = AdaSG(teacher, 4, 4, **{**FAST, "seed": 5})  # another initialisation, overwritten by the resume
    resumed.fit(test_set, epochs=3, iters_per_epoch=3, resume=tmp_path / "last.pt")

    assert [r["loss_q"] for r in resumed.history] == [r["loss_q"] for r in straight.history]
    assert resumed.history[-1]["test_top1"] == straight.history[-1]["test_top1"]
    assert same(params(resumed.quantized), params(straight.quantized))
    with pytest.raises(CheckpointError, match="AdaSG W4A4, not GDFQ W4A4"):
        GDFQ(teacher, 4, 4, **FAST).fit(epochs=3, iters_per_epoch=3, resume=tmp_path / "last.pt")
