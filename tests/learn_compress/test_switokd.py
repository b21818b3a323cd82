"""SwitOKD (switokd.md): gap and threshold, the switch, expert/learning updates, topologies, baselines, determinism.

Backbone parameter counts (acceptance item 8) are checked in ``test_models.py``.
"""

import copy
import dataclasses
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lab_common import load_checkpoint, seed_everything
from learn_compress.data import CifarDataset, make_synthetic_images
from learn_compress.distill import DML, KD, DistillConfig, Independent, SwitOKD, SwitOKDMulti
from learn_compress.distill.losses import EPS_MIN, kl_to, switch_state, threshold_eps
from learn_compress.models import build_model
from learn_compress.registry import MODELS
from learn_compress.trainer import TrainConfig

C = 4


def logits_of(probs):
    return torch.tensor(probs, dtype=torch.float64).log()


def numpy_state(p_t, p_s, labels):
    p_t, p_s = np.asarray(p_t, float), np.asarray(p_s, float)
    y = np.eye(p_t.shape[1])[labels]
    s = np.abs(p_s - y).sum(1).mean()
    t = np.abs(p_t - y).sum(1).mean()
    gap = np.abs(p_s - p_t).sum(1).mean()
    eps = math.exp(-t / (t + s))
    return s, t, gap, s - eps * t, eps


CASES = {
    # G > delta, t < s: the teacher is near the labels, the student far and elsewhere -> expert
    "expert": ([[0.6, 0.02, 0.38]], [[0.5, 0.48, 0.02]], True),
    # same distances with the roles swapped: G > delta but t > s -> learning
    "teacher_worse": ([[0.5, 0.48, 0.02]], [[0.6, 0.02, 0.38]], False),
    # G = s - t < delta (student wrong in the teacher's direction) -> learning
    "small_gap": ([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1]], [[0.1, 0.8, 0.1], [0.8, 0.1, 0.1]], False),
}


@pytest.mark.parametrize("case", CASES)
def test_switch_state_matches_numpy_and_decides(case):
    p_t, p_s, expert = CASES[case]
    labels = [0, 1][: len(p_t)]
    state = switch_state(logits_of(p_t), logits_of(p_s), torch.tensor(labels))
    expected = numpy_state(p_t, p_s, labels)
    for got, want in zip((state.s, state.t, state.gap, state.delta, state.eps), expected):
        assert float(got) == pytest.approx(want, abs=1e-6)
    assert state.expert is expert


def test_switch_state_hand_values():
    p_t, p_s, _ = CASES["expert"]
    state = switch_state(logits_of(p_t), logits_of(p_s), torch.tensor([0]))
    # s = 0.5 + 0.48 + 0.02, t = 0.4 + 0.02 + 0.38, G = 0.1 + 0.46 + 0.36, eps = exp(-0.8 / 1.8)
    assert (float(state.s), float(state.t), float(state.gap)) == pytest.approx((1.0, 0.8, 0.92))
    assert float(state.eps) == pytest.approx(0.641180388, abs=1e-8)
    assert float(state.delta) == pytest.approx(1.0 - 0.641180388 * 0.8, abs=1e-8)
    fixed = switch_state(logits_of(p_t), logits_of(p_s), torch.tensor([0]), fixed_delta=0.95)
    assert float(fixed.delta) == 0.95 and not fixed.expert


def test_gap_and_threshold_bounds_on_random_logits():
    gen = torch.Generator().manual_seed(0)
    for _ in range(1000):
        scale = float(torch.rand((), generator=gen)) * 6
        z_t, z_s = scale * torch.randn(2, 8, 5, generator=gen, dtype=torch.float64)
        y = torch.randint(0, 5, (8,), generator=gen)
        st = switch_state(z_t, z_s, y)
        assert st.gap >= st.s - st.t - 1e-6
        if st.t < st.s:
            assert st.s - st.t - 1e-9 <= st.delta < st.s - EPS_MIN * st.t + 1e-6
            assert EPS_MIN - 1e-9 < st.eps <= 1.0


def test_kl_detaches_its_target():
    z_t = torch.randn(6, 5, requires_grad=True)
    z_s = torch.randn(6, 5, requires_grad=True)
    kl_to(z_t, z_s).backward()
    assert z_t.grad is None and z_s.grad is not None
    p = F.softmax(z_t.detach(), 1)
    assert float(kl_to(z_t, z_s.detach())) == pytest.approx(
        float(F.kl_div(F.log_softmax(z_s.detach(), 1), p, reduction="batchmean"))
    )


# --- updates on a tiny network whose behaviour we set by hand -------------------------------------------------


def tiny_net(weight: torch.Tensor) -> nn.Module:
    """Flatten -> BatchNorm1d -> Linear, with the linear map set to ``weight`` (bias 0)."""
    net = nn.Sequential(nn.Flatten(), nn.BatchNorm1d(C), nn.Linear(C, C))
    with torch.no_grad():
        net[2].weight.copy_(weight)
        net[2].bias.zero_()
    return net


@pytest.fixture
def class_batch():
    """One-hot inputs of their labels: an identity map is a perfect classifier, a shifted one a wrong one."""
    y = torch.arange(16) % C
    return F.one_hot(y, C).float(), y


def crafted_pair(**config):
    teacher = tiny_net(torch.eye(C))  # close to the labels
    student = tiny_net(2.0 * torch.eye(C).roll(1, dims=0))  # predicts the next class
    return SwitOKD(teacher, student, DistillConfig(**config), TrainConfig(lr=0.1, momentum=0.9, weight_decay=5e-4))


def snapshot(module_or_opt):
    if isinstance(module_or_opt, nn.Module):
        return copy.deepcopy(module_or_opt.state_dict())
    return copy.deepcopy(module_or_opt.state_dict()["state"])


def same(a, b):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return torch.equal(a, b) if isinstance(a, torch.Tensor) else a == b


def params_equal(net, saved):
    return all(torch.equal(p, saved[k]) for k, p in net.named_parameters())


def test_switch_fires_when_gap_exceeds_threshold_and_teacher_is_closer(class_batch):
    x, y = class_batch
    distiller = crafted_pair()
    state = distiller.switch_state(distiller.teacher(x), distiller.student(x), y)
    assert state.t < state.s and state.gap > state.delta and state.expert
    swapped = distiller.switch_state(distiller.student(x), distiller.teacher(x), y)
    assert swapped.gap > swapped.delta and not swapped.expert  # the "teacher" is now the farther one


@pytest.mark.parametrize("bn_update", [True, False])
def test_expert_batch_pauses_the_teacher(class_batch, bn_update):
    x, y = class_batch
    distiller = crafted_pair(teacher_bn_update_in_expert=bn_update)
    distiller.config.switch = "never"  # one learning step first, so the teacher's momentum buffers exist
    distiller.train_step(x, y)
    distiller.config.switch = "adaptive"
    teacher_before, opt_before = snapshot(distiller.teacher), snapshot(distiller.optimizers["teacher"])
    student_before = snapshot(distiller.student)
    _, stats = distiller.train_step(x, y)
    assert stats["expert_ratio"] == 1.0 and stats["paused_teacher"] == 1.0
    assert params_equal(distiller.teacher, teacher_before)
    assert same(snapshot(distiller.optimizers["teacher"]), opt_before)
    bn_now = distiller.teacher[1].running_mean
    assert torch.equal(bn_now, teacher_before["1.running_mean"]) is (not bn_update)
    assert not params_equal(distiller.student, student_before)


def test_learning_batch_updates_both_with_the_mutual_losses(class_batch):
    x, y = class_batch
    distiller = crafted_pair(switch="never")
    teacher_before, student_before = snapshot(distiller.teacher), snapshot(distiller.student)
    z_t, z_s = copy.deepcopy(distiller.teacher)(x), copy.deepcopy(distiller.student)(x)
    _, stats = distiller.train_step(x, y)
    assert stats["expert_ratio"] == 0.0
    assert not params_equal(distiller.teacher, teacher_before)
    assert not params_equal(distiller.student, student_before)
    z_t, z_s = z_t.detach(), z_s.detach()
    assert stats["ce_student"] == pytest.approx(float(F.cross_entropy(z_s, y)), rel=1e-6)
    assert stats["kl_student"] == pytest.approx(float(kl_to(z_t, z_s)), rel=1e-6)
    assert stats["kl_teacher"] == pytest.approx(float(kl_to(z_s, z_t)), rel=1e-6)
    # the student's loss sends no gradient into the teacher
    teacher, student = copy.deepcopy(distiller.teacher), copy.deepcopy(distiller.student)
    logits = {"teacher": teacher(x), "student": student(x)}
    losses, _ = distiller.compute_losses(logits, y, distiller.pair_states(logits, y))
    losses["student"].backward()
    assert all(p.grad is None for p in teacher.parameters())


def test_always_switch_freezes_the_online_teacher(class_batch):
    x, y = class_batch
    distiller = crafted_pair(switch="always")
    before = snapshot(distiller.teacher)
    for _ in range(3):
        distiller.train_step(x, y)
    assert params_equal(distiller.teacher, before)


# --- three networks ----------------------------------------------------------------------------------------


def state(expert, s=1.0, t=0.5):
    one = torch.tensor(1.0)
    return SimpleNamespace(expert=expert, s=one * s, t=one * t)


def multi(topology, **config):
    teachers = [tiny_net(torch.eye(C)) for _ in range(1 if topology == "1T2S" else 2)]
    students = [tiny_net(2.0 * torch.eye(C).roll(k + 1, dims=0)) for k in range(2 if topology == "1T2S" else 1)]
    return SwitOKDMulti(teachers, students, topology, DistillConfig(**config), TrainConfig(lr=0.1, weight_decay=5e-4))


def random_logits(names, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return {name: torch.randn(8, C, generator=gen, dtype=torch.float64) for name in names}


def test_1t2s_teacher_weights(class_batch):
    _, y = class_batch
    y = y[:8]
    m = multi("1T2S")
    z = random_logits(m.networks)
    ce = F.cross_entropy(z["teacher1"], y)
    kl1, kl2 = kl_to(z["student1"], z["teacher1"]), kl_to(z["student2"], z["teacher1"])
    for (e1, e2), want in {
        (False, False): ce + kl1 + kl2,
        (True, False): ce + kl2,
        (False, True): ce + kl1,
    }.items():
        losses, stats = m.compute_losses(z, y, {(0, 0): state(e1), (0, 1): state(e2)})
        assert float(losses["teacher1"]) == pytest.approx(float(want), rel=1e-9)
        assert stats["paused_teacher1"] == 0.0
    losses, stats = m.compute_losses(z, y, {(0, 0): state(True), (0, 1): state(True)})
    assert "teacher1" not in losses and stats["paused_teacher1"] == 1.0
    want_s1 = (
        F.cross_entropy(z["student1"], y) + kl_to(z["teacher1"], z["student1"]) + kl_to(z["student2"], z["student1"])
    )
    assert float(losses["student1"]) == pytest.approx(float(want_s1), rel=1e-9)


def test_2t1s_each_teacher_pauses_on_its_own_pair(class_batch):
    _, y = class_batch
    y = y[:8]
    m = multi("2T1S")
    z = random_logits(m.networks, seed=1)
    losses, stats = m.compute_losses(z, y, {(0, 0): state(True), (1, 0): state(False)})
    assert "teacher1" not in losses and stats["paused_teacher1"] == 1.0
    want = F.cross_entropy(z["teacher2"], y) + kl_to(z["student1"], z["teacher2"]) + kl_to(z["teacher1"], z["teacher2"])
    assert float(losses["teacher2"]) == pytest.approx(float(want), rel=1e-9)
    want_s = (
        F.cross_entropy(z["student1"], y) + kl_to(z["teacher1"], z["student1"]) + kl_to(z["teacher2"], z["student1"])
    )
    assert float(losses["student1"]) == pytest.approx(float(want_s), rel=1e-9)


@pytest.mark.parametrize("topology, slipped, source", [("1T2S", (0, 0), (0, 1)), ("2T1S", (1, 0), (0, 0))])
def test_eps_index_slip_only_under_bug_compat(class_batch, topology, slipped, source):
    _, y = class_batch
    y = y[:8]
    for compat in (False, True):
        m = multi(topology, faithful_bug_compat=compat)
        states = m.pair_states(random_logits(m.networks, seed=2), y)
        own = threshold_eps(states[slipped].s, states[slipped].t)
        other = threshold_eps(states[source].s, states[source].t)
        assert not torch.isclose(own, other)  # the crafted pairs differ
        assert torch.isclose(states[slipped].eps, other if compat else own)
        assert torch.isclose(states[slipped].delta, states[slipped].s - states[slipped].eps * states[slipped].t)


@pytest.mark.parametrize("compat", [False, True])
def test_1t2s_fully_paused_teacher_steps_only_under_bug_compat(class_batch, compat):
    x, y = class_batch
    m = multi("1T2S", faithful_bug_compat=compat)
    before = snapshot(m.networks["teacher1"])
    _, stats = m.train_step(x, y)
    assert stats["expert_ratio_teacher1_student1"] == stats["expert_ratio_teacher1_student2"] == 1.0
    assert params_equal(m.networks["teacher1"], before) is (not compat)  # compat: weight decay moves it


def test_topology_must_match_the_networks():
    with pytest.raises(ValueError, match="needs"):
        SwitOKDMulti([tiny_net(torch.eye(C))], [tiny_net(torch.eye(C))], "1T2S")
    with pytest.raises(ValueError, match="switch"):
        DistillConfig(switch="sometimes")


# --- baselines, schedule, training runs ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_data():
    arrays = make_synthetic_images(100, modes_per_class=2, noise=0.5, sample_seed=1)
    return CifarDataset(arrays, train=True), CifarDataset(make_synthetic_images(60, modes_per_class=2, sample_seed=2))


def run(method, data, epochs=2, seed=0, **kwargs):
    seed_everything(seed)
    teacher, student = build_model("small_cnn", width=8), build_model("small_cnn", width=4)
    config = DistillConfig(epochs=epochs, batch_size=32, seed=seed)
    optim = TrainConfig(lr=0.05, milestones=(2,))
    networks = {"teacher": teacher, "student": student}
    distiller = (
        Independent(networks, config, optim)
        if method is Independent
        else method(teacher, student, config, optim, **kwargs)
    )
    return distiller, distiller.fit(*data)


def strip(history):
    """The records without their wall times."""
    return [{k: v for k, v in r.items() if k != "seconds"} for r in history]


def test_dml_is_switokd_that_never_switches(tiny_data):
    _, dml = run(DML, tiny_data)
    seed_everything(0)
    teacher, student = build_model("small_cnn", width=8), build_model("small_cnn", width=4)
    config = DistillConfig(epochs=2, batch_size=32, seed=0, switch="never")
    never = SwitOKD(teacher, student, config, TrainConfig(lr=0.05, milestones=(2,))).fit(*tiny_data)
    assert strip(dml) == strip(never)
    assert all(r["expert_ratio"] == 0.0 for r in dml)


def test_kd_never_updates_its_teacher_and_trains_the_student(tiny_data):
    seed_everything(0)
    teacher, student = build_model("small_cnn", width=8), build_model("small_cnn", width=4)
    before, student_before = snapshot(teacher), snapshot(student)
    for variant in ("hinton", "tau1"):
        config = DistillConfig(epochs=1, batch_size=32, kd_variant=variant)
        history = KD(teacher, student, config, TrainConfig(lr=0.05)).fit(*tiny_data)
        assert "student_test_top1" in history[-1] and "teacher_test_top1" not in history[-1]
    assert same(snapshot(teacher), before)  # parameters and BN buffers
    assert not params_equal(student, student_before)


def test_learning_rate_schedule_counts_epochs_from_one(tiny_data):
    config = DistillConfig(epochs=299)
    distiller = SwitOKD(
        tiny_net(torch.eye(C)), tiny_net(torch.eye(C)), config, TrainConfig(lr=0.1, milestones=(100, 150, 200))
    )
    distiller.optimizers = {name: SimpleNamespace(param_groups=[{"lr": None}]) for name in distiller.optimizers}
    for epoch, lr in ((1, 0.1), (99, 0.1), (100, 0.01), (149, 0.01), (150, 0.001), (299, 1e-4)):
        rates = distiller.set_epoch_lr(epoch)
        assert rates["lr_teacher"] == pytest.approx(lr) and rates["lr_student"] == pytest.approx(lr)
        assert distiller.optimizers["student"].param_groups[0]["lr"] == pytest.approx(lr)


def test_history_records_modes_accuracies_and_gap(tiny_data):
    _, history = run(SwitOKD, tiny_data)
    assert [r["epoch"] for r in history] == [1, 2]
    for key in (
        "expert_ratio",
        "gap",
        "delta",
        "eps",
        "s",
        "t",
        "teacher_test_top1",
        "student_test_top1",
        "teacher_train_top1",
        "student_train_top1",
        "ce_student",
        "kl_teacher",
        "lr_teacher",
    ):
        assert key in history[-1], key
    assert 0.0 <= history[-1]["expert_ratio"] <= 1.0


def test_same_seed_same_history_and_exact_resume(tiny_data, tmp_path):
    _, first = run(SwitOKD, tiny_data, epochs=3)
    _, second = run(SwitOKD, tiny_data, epochs=3)
    assert strip(first) == strip(second)

    def make():
        teacher, student = build_model("small_cnn", width=8), build_model("small_cnn", width=4)
        config, optim = DistillConfig(epochs=3, batch_size=32), TrainConfig(lr=0.05, milestones=(2,))
        return SwitOKD(teacher, student, config, optim, checkpoint_dir=tmp_path)

    seed_everything(0)
    make().fit(*tiny_data, epochs=2)
    assert load_checkpoint(tmp_path / "last.pt")["state"]["epoch"] == 2
    seed_everything(123)  # the resumed run must not depend on the state it starts in
    resumed = make().fit(*tiny_data, resume=tmp_path / "last.pt")
    assert strip(resumed) == strip(first)


def test_methods_are_registered():
    for name in ("SwitOKD", "SwitOKDMulti", "Independent", "KD", "DML"):
        assert name in MODELS.names()


def test_independent_trains_each_network_alone(tiny_data):
    distiller, history = run(Independent, tiny_data)
    assert set(distiller.networks) == {"teacher", "student"}
    assert "kl_student" not in history[-1] and history[-1]["ce_student"] > 0
    assert dataclasses.asdict(distiller.config)["epochs"] == 2


def test_bench_rows_report_both_networks_and_the_claims(tmp_path, monkeypatch):
    from lab_common import run_suite
    from learn_compress.benchmarks import switokd as bench

    tiny = bench.Recipe(("small_cnn", {"width": 8}), ("small_cnn", {"width": 4}), 100, 60, epochs=2, milestones=(2,))
    monkeypatch.setitem(bench.RECIPES, ("quick", "synthetic"), tiny)
    monkeypatch.setattr(bench, "_RUNS", {})
    cases = [c for c in bench.build_cases("quick") if c.dataset == "synthetic"]
    assert [c.method for c in cases] == ["Independent", "KD", "DML", "SwitOKD"]
    results = run_suite("learn-compress", "quick", cases, tmp_path, seed=0)
    records = {r["method"]: r for r in results["records"]}
    assert all(r["status"] == "ok" for r in records.values()), records
    assert records["KD"]["metrics"]["teacher_top1"] == records["Independent"]["metrics"]["teacher_top1"]
    switokd = records["SwitOKD"]
    gain = switokd["metrics"]["top1"] - records["Independent"]["metrics"]["top1"]
    assert switokd["metrics"]["gain_vs_independent"] == pytest.approx(gain)
    assert len(switokd["config"]["expert_ratio_per_epoch"][0]) == 2
    assert set(switokd["config"]["claims"]) >= {"student >= dml", "0 < expert ratio < 1"}
    assert "SwitOKD" in (tmp_path / "results.md").read_text()
