"""StereoIRR claim check, CI-sized (spec shared/papers/stereoirr.md §5 and §6.13; vision-common §5.7).

Tiny StereoIRR (344,467 parameters), its matched ``Monocular`` (width 18, 363,585) and the
``cross_view=False`` ablation (288,691) train with the same recipe (Charbonnier, AdamW lr 1e-3 betas
(0.9, 0.9), cosine over the run), steps, batch, crops, data order and seed on synthetic stereo rain in the
CI-sized setting vision-common §5.7 allows (disparity 1-6 px, ``heavy`` rain, 32×64 crops), then are scored
on a fixed held-out set of 16 pairs of 64×128 (protocol ``rgb``). Every setting below was fixed before any
result was seen; the thresholds are the spec's (§6.13: ≥ 0.15 dB over Monocular on each view, ≥ 2 dB over
the rainy input) and the issue's (above the no-DMA ablation). Several minutes on 2 cores: ``slow``.
Measured 2026-11-27: the margin over Monocular fails (-0.18 / -0.19 dB) and is marked ``xfail`` with that
reason; docs/lowlevel-vision.md (StereoIRR, diagnosis) explains it: a true-disparity oracle gains only
~0.2 dB in this setting.
"""

import pytest

from lowlevel_vision.models.monocular import Monocular
from lowlevel_vision.models.stereoirr import StereoIRR

pytestmark = pytest.mark.slow

TINY = {"width": 16, "enc_blocks": (1, 1, 1), "middle_blocks": 1, "dec_blocks": (1, 1, 1)}
MARGIN_OVER_MONOCULAR_DB = 0.15  # spec §6.13, on the left view and on the right view
MARGIN_OVER_INPUT_DB = 2.0  # spec §6.13, on both views


@pytest.fixture(scope="module")
def results(stereo_claim_scores) -> dict[str, dict[str, float]]:
    builders = {
        "StereoIRR": lambda: StereoIRR(**TINY),
        "StereoIRR-noDMA": lambda: StereoIRR(**TINY, cross_view=False),
        "Monocular": lambda: Monocular.matching(StereoIRR(**TINY)),
    }
    return stereo_claim_scores("rain", builders)


@pytest.mark.parametrize("view", ["l", "r"])
def test_stereoirr_improves_on_the_rainy_input(results, psnr_gain, view):
    assert psnr_gain(results, "StereoIRR", "Input", view) >= MARGIN_OVER_INPUT_DB, results


@pytest.mark.xfail(
    reason="not reproduced (measured 2026-11-27: -0.18 / -0.19 dB); in this setting even a U-Net given the other "
    "view warped with the true disparity gains only ~0.2 dB over Monocular (docs/lowlevel-vision.md, StereoIRR)",
    strict=False,
)
@pytest.mark.parametrize("view", ["l", "r"])
def test_stereoirr_beats_the_matched_monocular_unet(results, psnr_gain, view):
    assert psnr_gain(results, "StereoIRR", "Monocular", view) >= MARGIN_OVER_MONOCULAR_DB, results


def test_stereoirr_beats_its_no_dma_ablation(results):
    assert results["StereoIRR"]["psnr_avg"] > results["StereoIRR-noDMA"]["psnr_avg"], results
