"""RLED-Net claim checks, CI-sized (slow): rled-net.md §6.11 (margins over the input and the classical
oracle-exposure baseline, asserted by the specification) and issue 9's claim (RLED-Net beats the U-Net of
equal budget and its no-LSRB ablation; the specification only reports these, §5).

Settings fixed before any result was seen (vision-common §5.7): single left views of the layered synthetic
scenes, 64×64, ``LowLight("heavy")``; 64 training scenes (seed 1), 16 test scenes (seed 2); tiny models
(rled-net.md §2.6); 200 steps of batch 8 drawn with the same generator for every model; Charbonnier (the
RLED-Net loss), AdamW with the recipe's betas and weight decay, lr 1e-3 with cosine annealing over the run
(the recipe's 2e-4 over 150k iterations cannot converge in 200 steps). Each model trains once per session
(``trained_score`` is cached).
"""

import functools

import pytest
import torch

from lab_common import count_parameters, seed_everything
from lowlevel_vision.bench import RLEDNET_TINY, OracleExposure
from lowlevel_vision.data.degrade import LowLight
from lowlevel_vision.data.synthetic import LayeredStereoScenes
from lowlevel_vision.losses import rlednet_loss
from lowlevel_vision.metrics import psnr
from lowlevel_vision.models.monocular import MonoUNet
from lowlevel_vision.models.rlednet import RLEDNet, RLEDNetNoLSRB, rlednet_optimizer

pytestmark = pytest.mark.slow

TINY = RLEDNET_TINY  # rled-net.md §2.6: 760,373 parameters
STEPS, BATCH, LR, TRAIN_SCENES, TEST_SCENES = 200, 8, 1e-3, 64, 16


def degraded_scenes(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Left views of the synthetic layered scenes (64×64) and their heavy low-light copies (rled-net.md §4)."""
    scenes = LayeredStereoScenes(n, size=(64, 64), seed=seed)
    clean = torch.stack([scenes[i]["gt_l"] for i in range(n)])
    generators = [torch.Generator().manual_seed(seed * 1000 + i) for i in range(n)]
    (dark,), _ = LowLight("heavy")(clean, generator=generators)
    return dark, clean


def matched_unet() -> MonoUNet:
    """The budget-matched U-Net (vision-common §9): width 27, 813,324 parameters."""
    method = RLEDNet(**TINY)
    return MonoUNet.matching(count_parameters(method), **method.block_counts)


BUILDERS = {
    "RLED-Net": lambda: RLEDNet(**TINY),
    "RLED-Net-noLSRB": lambda: RLEDNetNoLSRB(**TINY),
    "Monocular-0.81M": matched_unet,
}


@functools.cache
def held_out() -> tuple[torch.Tensor, torch.Tensor]:
    """The 16 degraded test scenes and their ground truth."""
    return degraded_scenes(TEST_SCENES, seed=2)


def score(pred: torch.Tensor) -> float:
    """Mean PSNR (protocol rgb) of ``pred`` against the test scenes."""
    return psnr(pred.clamp(0, 1), held_out()[1]).mean().item()


@functools.cache
def trained_score(name: str) -> float:
    """Test PSNR of model ``name`` after the fixed training run (trained once per session)."""
    train_x, train_y = degraded_scenes(TRAIN_SCENES, seed=1)
    seed_everything(0)
    model = BUILDERS[name]()
    optimizer, scheduler = rlednet_optimizer(model, lr=LR, iterations=STEPS)
    generator = torch.Generator().manual_seed(0)
    for _ in range(STEPS):
        index = torch.randint(0, TRAIN_SCENES, (BATCH,), generator=generator)
        loss = rlednet_loss(model(train_x[index]), train_y[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
    with torch.no_grad():
        return score(model.eval()(held_out()[0]))


def scores(name: str) -> float:
    """Mean test PSNR of ``Input``, ``Oracle-exposure`` (rled-net.md §5) or a trained model of :data:`BUILDERS`."""
    test_x, test_y = held_out()
    if name == "Input":
        return score(test_x)
    if name == "Oracle-exposure":
        return score(OracleExposure()(test_x, test_y))
    return trained_score(name)


def test_tiny_model_beats_input_and_classical_baseline():
    """rled-net.md §6.11: ≥ 4 dB over the input and ≥ 0.5 dB over the oracle-exposure baseline."""
    method = scores("RLED-Net")
    assert method >= scores("Input") + 4.0, (method, scores("Input"))
    assert method >= scores("Oracle-exposure") + 0.5, (method, scores("Oracle-exposure"))


@pytest.mark.xfail(
    reason="not reproduced (measured 2026-11-27: -0.31 dB vs the U-Net, -0.15 dB vs no-LSRB; GPU sweep -0.28 dB "
    "at 600 steps; on a validation split no LSRB variant beats no LSRB by a margin and all stay 0.38-0.72 dB under "
    "the U-Net): the input LSRB removes more signal than noise (docs/lowlevel-vision.md, RLED-Net)",
    strict=False,
)
@pytest.mark.parametrize("other", ["Monocular-0.81M", "RLED-Net-noLSRB"])
def test_tiny_model_beats_matched_unet_and_ablation(other):
    """Issue 9's claim, CI-sized: RLED-Net's PSNR is above the equal-budget U-Net's and the no-LSRB ablation's."""
    assert scores("RLED-Net") > scores(other), (scores("RLED-Net"), other, scores(other))
