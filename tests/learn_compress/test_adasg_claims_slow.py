"""The short-CPU-run claims of ``papers/adasg.md`` section 4 (W4A4, CPU recipe, seed 0).

AdaSG and GDFQ each play 8 x 100 iterations on the pretrained ResNet-20 (about 15 minutes each on
one core); Q is evaluated on the stratified 2,000-image subset of ``test.npz`` after every epoch.
"""

import pytest

from learn_compress.benchmarks.adasg import EVAL_IMAGES
from learn_compress.data import CifarDataset, load_cifar_npz, stratified_subset
from learn_compress.evaluation import evaluate
from learn_compress.models import GDFQ, AdaSG, GameConfig, MinMax, load_akamaster


@pytest.mark.slow
def test_adasg_beats_gdfq_and_naive_ptq_at_w4a4(cifar10_root):
    model, meta = load_akamaster(sorted(cifar10_root.glob("resnet20-*.th"))[0])
    arrays = stratified_subset(load_cifar_npz(cifar10_root / "test.npz"), EVAL_IMAGES, seed=0)
    test = CifarDataset(arrays, normalization=meta["normalization"])
    fp = evaluate(model, test, "cpu")["top1"]

    best = {}
    for name, method in (("AdaSG", AdaSG), ("GDFQ", GDFQ)):
        game = method(model, 4, 4, config=GameConfig.cpu_recipe(seed=0))
        _, history = game.fit(test)
        best[name] = max(history.column("test_top1"))
        assert 0.0 < history[-1]["frac_in_band"] <= 1.0
    _, history = MinMax(model, 4, 4).fit(test)
    naive = history[-1]["test_top1"]

    measured = f"AdaSG {best['AdaSG']:.2f}, GDFQ {best['GDFQ']:.2f}, MinMax {naive:.2f}, FP {fp:.2f}"
    print(measured)  # shown with pytest -s, and in every failure message
    assert best["AdaSG"] > best["GDFQ"], measured
    assert best["AdaSG"] >= naive + 8.0, measured
    assert best["AdaSG"] >= fp - 5.0, measured
