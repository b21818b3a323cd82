"""SufrinNet claim check, CI-sized (spec shared/papers/sufrinnet.md §5 and §6.15; vision-common §5.7).

``SufrinNet(base_channels=8)`` (the quick suite's ``SufrinNet-c8``, paper depths [4, 4, 2, 2, 4], 369,799
parameters) and its matched ``Monocular`` (width 14 with SufrinNet's block counts, 418,337 parameters) train
with SufrinNet's official recipe (per view FR + 0.1 TV; Adam lr 2e-4, betas (0.5, 0.999); constant lr, since
the official milestones are epochs >= 500), the same steps, batch, crops, data order and seed, on synthetic
low-light stereo in the CI-sized setting vision-common §5.7 allows (disparity 1-6 px, ``heavy`` low light,
32x64 crops); then they are scored on a fixed held-out set of 16 pairs of 64x128 (protocol ``rgb``). Every
setting below was fixed before any result was seen; the thresholds are the spec's (§6.15: >= 0.15 dB over the
matched MonoUNet on each view, >= 4 dB over the dark input on each view). Several minutes on 2 cores: ``slow``.
Run 2026-11-27 on 2 quiet cores (7 min 39 s): the margin over the input holds; the margin over the Monocular
fails, as the GPU sweep predicted, and is ``xfail`` with that evidence.
"""

import pytest

from lowlevel_vision.bench import SUFRINNET_RECIPE
from lowlevel_vision.models.monocular import Monocular
from lowlevel_vision.models.sufrinnet import SufrinNet

pytestmark = pytest.mark.slow

CHANNELS = 8
MARGIN_OVER_MONOCULAR_DB = 0.15  # spec §6.15, on the left view and on the right view
MARGIN_OVER_INPUT_DB = 4.0  # spec §6.15, on both views


@pytest.fixture(scope="module")
def results(stereo_claim_scores) -> dict[str, dict[str, float]]:
    builders = {
        "SufrinNet": lambda: SufrinNet(base_channels=CHANNELS),
        "Monocular": lambda: Monocular.matching(SufrinNet(base_channels=CHANNELS)),
    }
    official = {"lr": SUFRINNET_RECIPE.lr, "betas": SUFRINNET_RECIPE.betas}  # per view FR + 0.1 TV, Adam, constant
    return stereo_claim_scores("lowlight", builders, official, **SUFRINNET_RECIPE.trainer_options())


@pytest.mark.parametrize("view", ["l", "r"])
def test_sufrinnet_brightens_the_dark_input(results, psnr_gain, view):
    assert psnr_gain(results, "SufrinNet", "Input", view) >= MARGIN_OVER_INPUT_DB, results


@pytest.mark.xfail(
    reason="not expected to hold (GPU sweep on the quick suite's data, equal steps: SufrinNet-c8 3.6-5.4 dB below "
    "its matched Monocular at 60-300 steps; the official design learns slowly, docs/lowlevel-vision.md, SufrinNet)",
    strict=False,
)
@pytest.mark.parametrize("view", ["l", "r"])
def test_sufrinnet_beats_the_matched_monocular_unet(results, psnr_gain, view):
    assert psnr_gain(results, "SufrinNet", "Monocular", view) >= MARGIN_OVER_MONOCULAR_DB, results
