"""LipFormer, its streams, fusion, cascade decoder and loss; LipNetCTC; decoding; vocabularies; training."""

import math

import numpy as np
import pytest
import torch

from learn_compress.data.grid import GRID_LEXICON
from learn_compress.data.landmarks import normalize_landmarks
from learn_compress.data.synthetic_lips import SyntheticLipConfig, SyntheticLipCorpus
from learn_compress.lipreading import (
    CHARACTERS,
    PHONEMES,
    LexiconTokenizer,
    LipClip,
    LipDataset,
    LipFormer,
    LipNetCTC,
    LipReadingTrainer,
    LipTrainConfig,
    beam_search,
    collate_lips,
    ctc_greedy,
    evaluate_lipreading,
    flip_clip,
    greedy_search,
    landmark_features,
)
from learn_compress.lipreading.frontend import LipFrontEnd
from learn_compress.registry import MODELS

TINY = dict(
    height=16,
    width=32,
    d_model=32,
    heads=2,
    ff=64,
    visual_layers=1,
    landmark_layers=1,
    fusion_layers=1,
    inter_layers=1,
    char_layers=1,
    frontend_channels=(4, 8, 8),
    dropout=0.0,
    frontend_dropout=0.0,
)
SENTENCES = [
    "set white with p two soon",
    "bin blue at f two now",
    "lay red by a zero again",
    "place green in k nine please",
    "set blue at x five now",
    "bin red with q one soon",
    "lay green in d seven please",
    "place white by m three again",
]


def make_clips(texts, speakers=("s3",), size=(16, 32), noise=0.0):
    corpus = SyntheticLipCorpus(SyntheticLipConfig(height=size[0], width=size[1], landmark_noise=noise))
    clips = []
    for i, text in enumerate(texts):
        speaker = speakers[i % len(speakers)]
        sample = corpus.render(text, speaker)
        clips.append(LipClip(f"{speaker}/{i}", speaker, text, sample.frames, normalize_landmarks(sample.landmarks)))
    return clips


def batch_of(clips, intermediate="phoneme"):
    data = LipDataset(clips, intermediate)
    return collate_lips([data[i] for i in range(len(data))])


def forward(model, batch, **changes):
    b = {**batch, **changes}
    return model(b["frames"], b["landmarks"], b["lengths"], b["inter_in"], b["char_in"])


def test_registered_and_vocabulary_sizes():
    import learn_compress.lipreading  # noqa: F401  (registration)

    assert {"LipFormer", "VisualOnly", "LipNetCTC"} <= set(MODELS.names())
    assert len(CHARACTERS) == 30 and CHARACTERS.symbols[3] == " " and CHARACTERS.symbols[4] == "a"
    assert len(PHONEMES) == 43 and PHONEMES.symbols[3] == "|" and PHONEMES.symbols[4] == "AA"
    assert not MODELS.build("VisualOnly", **TINY).config.use_landmarks


def test_phoneme_targets_are_the_lexicon_with_word_separators():
    ids = LexiconTokenizer("phoneme").encode("set white with p two soon")
    expected = []
    for i, word in enumerate("set white with p two soon".split()):
        expected += (["|"] if i else []) + list(GRID_LEXICON[word])
    assert [PHONEMES.symbols[i] for i in ids] == expected
    assert expected[:4] == ["S", "EH", "T", "|"]


def test_front_end_shape_and_model_output_shapes():
    front = LipFrontEnd()
    out = front(torch.randn(2, 1, 3, 50, 100), torch.ones(2, 3, dtype=torch.bool))
    assert LipFrontEnd.output_size(50, 100) == (3, 6) and out.shape == (2, 3, 96 * 3 * 6)
    model = LipFormer(d_model=32, heads=2, ff=64, frontend_channels=(4, 8, 96), visual_layers=1, landmark_layers=1)
    model.eval()
    inter_in, char_in = torch.ones(2, 7, dtype=torch.long), torch.ones(2, 11, dtype=torch.long)
    inter, chars, aux = model(
        torch.randn(2, 1, 75, 50, 100), torch.randn(2, 75, 37, 2), torch.tensor([75, 60]), inter_in, char_in
    )
    assert inter.shape == (2, 7, 43) and chars.shape == (2, 11, 30) and aux["fused"].shape == (2, 75, 32)


@pytest.mark.parametrize("temporal", ["transformer", "bigru"])
def test_padding_does_not_change_valid_outputs(temporal):
    torch.manual_seed(0)
    model = LipFormer(**TINY, temporal=temporal).eval()
    clips = make_clips(SENTENCES[:2])
    short = batch_of(clips[:1])
    both = batch_of(clips[:1] + [make_clips(["place green in k nine please seven"[:28]])[0]])
    assert both["frames"].shape[2] > short["frames"].shape[2]  # the first clip is padded in `both`
    n_i, n_c = short["inter_in"].shape[1], short["char_in"].shape[1]
    a = forward(model, short)
    b = forward(
        model,
        {k: v[:1] if torch.is_tensor(v) else v for k, v in both.items()},
        inter_in=short["inter_in"],
        char_in=short["char_in"],
    )
    torch.testing.assert_close(b[0][:, :n_i], a[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(b[1][:, :n_c], a[1], atol=1e-5, rtol=0)
    t = short["lengths"][0]
    torch.testing.assert_close(b[2]["fused"][:, :t], a[2]["fused"], atol=1e-5, rtol=0)


def test_angle_features_invariant_and_velocity_zero_for_static_track():
    rng = np.random.default_rng(0)
    points = torch.tensor(rng.normal(size=(1, 1, 37, 2)))
    angle = 0.7
    rot = torch.tensor([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]], dtype=torch.float64)
    moved = 3.2 * points @ rot.T + torch.tensor([5.0, -2.0], dtype=torch.float64)
    f0, f1 = landmark_features(points, ["angle"]), landmark_features(moved, ["angle"])
    assert f0.shape[-1] == 666
    torch.testing.assert_close(f0, f1, atol=1e-5, rtol=0)
    static = points.expand(1, 5, 37, 2)
    assert landmark_features(static, ["velocity"]).abs().max() == 0
    assert landmark_features(static).shape[-1] == 814


def test_landmark_features_ignore_speaker_appearance():
    """Same text, speakers of different colour, size, offset and rotation: identical landmark features."""
    a, b = make_clips(["set white with p two soon"] * 2, speakers=("s1", "s20"))
    assert np.abs(a.frames.astype(float) - b.frames).mean() > 5
    fa = landmark_features(torch.from_numpy(a.landmarks)[None])
    fb = landmark_features(torch.from_numpy(b.landmarks)[None])
    torch.testing.assert_close(fa, fb, atol=1e-4, rtol=0)


def test_cross_attention_is_real_and_masks_padded_frames():
    torch.manual_seed(0)
    model = LipFormer(**TINY).eval()
    batch = batch_of(make_clips(SENTENCES[:2]))
    fused = model.encode(batch["frames"], batch["landmarks"], batch["lengths"])[0]
    moved = batch["landmarks"] + 0.3 * torch.randn_like(batch["landmarks"])
    assert (model.encode(batch["frames"], moved, batch["lengths"])[0] - fused).abs().max() > 1e-3
    # garbage in the padded frames of the shorter clip changes nothing at its valid frames
    i = int(batch["lengths"].argmin())
    t = int(batch["lengths"][i])
    frames, landmarks = batch["frames"].clone(), batch["landmarks"].clone()
    frames[i, :, t:] = 50.0
    landmarks[i, t:] = 9.0
    noisy = model.encode(frames, landmarks, batch["lengths"])[0]
    torch.testing.assert_close(noisy[i, :t], fused[i, :t], atol=1e-5, rtol=0)
    concat = LipFormer(**TINY, fusion="concat")
    assert not any(isinstance(m, torch.nn.MultiheadAttention) for m in concat.fusion.modules())
    assert any(isinstance(m, torch.nn.MultiheadAttention) for m in model.fusion.modules())


def test_decoders_are_causal_and_stage_two_reads_stage_one():
    torch.manual_seed(0)
    model = LipFormer(**TINY).eval()
    batch = batch_of(make_clips(SENTENCES[:2]))
    inter, chars, _ = forward(model, batch)
    k = 5
    inter_in, char_in = batch["inter_in"].clone(), batch["char_in"].clone()
    inter_in[:, k] = 7
    char_in[:, k] = 9
    inter2 = forward(model, batch, inter_in=inter_in)[0]
    chars2 = forward(model, batch, char_in=char_in)[1]  # stage 2 sees all of H1, so change its input alone
    torch.testing.assert_close(inter2[:, :k], inter[:, :k], atol=1e-5, rtol=0)
    torch.testing.assert_close(chars2[:, :k], chars[:, :k], atol=1e-5, rtol=0)
    assert (inter2[:, k:] - inter[:, k:]).abs().max() > 1e-4 and (chars2[:, k:] - chars[:, k:]).abs().max() > 1e-4
    corrupted = batch["inter_in"].clone()
    corrupted[:, 1:][corrupted[:, 1:] > 0] = 5
    assert (forward(model, batch, inter_in=corrupted)[1] - chars).abs().max() > 1e-4
    single = LipFormer(**TINY, cascade=False)
    assert single.stage1 is None and forward(single.eval(), batch)[0] is None


@pytest.mark.parametrize(("weight", "silent"), [(1.0, "stage2"), (0.0, "stage1.head")])
def test_loss_weights_route_gradients(weight, silent):
    torch.manual_seed(0)
    model = LipFormer(**TINY, inter_weight=weight)
    loss, parts = model.loss(batch_of(make_clips(SENTENCES[:2])))
    loss.backward()
    module = model.get_submodule(silent)
    assert all(p.grad is None for p in module.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.frontend.parameters())
    assert set(parts) == ({"inter_ce"} if weight == 1 else {"char_ce"})


def test_joint_loss_value_and_auxiliary_ctc():
    torch.manual_seed(0)
    model = LipFormer(**TINY, ctc_weight=0.5).eval()
    loss, parts = model.loss(batch_of(make_clips(SENTENCES[:2])))
    assert set(parts) == {"inter_ce", "char_ce", "ctc"}
    expected = 0.7 * parts["inter_ce"] + 0.3 * parts["char_ce"] + 0.5 * parts["ctc"]
    assert float(loss.detach()) == pytest.approx(expected, rel=1e-5)


def test_ctc_greedy_decoding_and_finite_loss_on_short_inputs():
    blank = 27
    letters = {c: i for i, c in enumerate("abcdefghijklmnopqrstuvwxyz")}
    path = [letters.get(c, blank) for c in "hh_e_ll_lo"]
    log_probs = torch.full((1, len(path), 28), -10.0)
    log_probs[0, torch.arange(len(path)), torch.tensor(path)] = 0.0
    ids = ctc_greedy(log_probs, torch.tensor([len(path)]), blank)[0]
    assert "".join("abcdefghijklmnopqrstuvwxyz"[i] for i in ids) == "hello"
    model = LipNetCTC(height=16, width=32, frontend_channels=(4, 8, 8), hidden=16)
    batch = batch_of(make_clips(SENTENCES[:2]))
    short = {**batch, "frames": batch["frames"][:, :, :5], "lengths": torch.tensor([5, 5])}
    loss, _ = model.loss(short)
    assert torch.isfinite(loss)
    texts = model.decode(batch["frames"], None, batch["lengths"], beam=1)
    assert len(texts) == 2 and all(set(t) <= set("abcdefghijklmnopqrstuvwxyz ") for t in texts)
    with pytest.raises(ValueError, match="greedily"):
        model.decode(batch["frames"], None, batch["lengths"], beam=4)


def test_flip_augmentation_twice_is_identity():
    clip = make_clips(SENTENCES[:1])[0]
    data = LipDataset([clip])
    frames, landmarks = data[0]["frames"], data[0]["landmarks"]
    f1, l1 = flip_clip(frames, landmarks)
    f2, l2 = flip_clip(f1, l1)
    assert torch.equal(f2, frames) and torch.allclose(l2, landmarks)
    assert torch.equal(f1[..., 0], frames[..., -1])
    torch.testing.assert_close(l1[:, 17], landmarks[:, 23] * torch.tensor([-1.0, 1.0]))


def test_beam_width_one_equals_greedy_and_wider_beams_search():
    torch.manual_seed(0)
    model = LipFormer(**TINY).eval()
    batch = batch_of(make_clips(SENTENCES[:3]))
    args = (batch["frames"], batch["landmarks"], batch["lengths"])
    memory = model.encode(*args)

    def step(tokens):
        return model.stage1(tokens, [memory])[1][:, -1].log_softmax(-1)

    greedy = greedy_search(step, 3, 12)
    assert beam_search(step, 3, 1, 12) == greedy
    assert model.decode(*args, beam=1) == [model.chars.decode(ids) for ids in model.decode_ids(*args, beam=1)[1]]

    # a two-step toy where greedy's first choice leads to a worse sequence: beam 2 finds the better one
    table = {(): [0.0, 0.0, -9, 0.6, 0.4], (3,): [0.0, 0.0, -9, 0.5, 0.5], (4,): [0.0, 0.0, -9, 1.0, 0.0]}

    def toy(tokens):
        rows = []
        for row in tokens.tolist():
            prefix = tuple(row[1:])
            probs = table.get(prefix, [0.0, 0.0, 1.0, 0.0, 0.0])
            rows.append(torch.tensor(probs).clamp(min=1e-9).log())
        return torch.stack(rows)

    assert greedy_search(toy, 1, 5) == [[3, 3]]
    assert beam_search(toy, 1, 2, 5, length_penalty=0.0) == [[4, 3]]


def test_same_seed_same_history_and_resume(tmp_path):
    clips = make_clips(SENTENCES[:4])
    config = LipTrainConfig(epochs=2, batch_size=2, warmup_steps=2, seed=3)

    def run(**kwargs):
        torch.manual_seed(0)
        trainer = LipReadingTrainer(LipFormer(**{**TINY, "dropout": 0.1}, use_video=False), config, **kwargs)
        return trainer

    first = run().fit(LipDataset(clips, augment=True))
    second = run().fit(LipDataset(clips, augment=True))
    assert [r["loss"] for r in first] == [r["loss"] for r in second]
    stopped = run(checkpoint_dir=tmp_path)
    stopped.config = LipTrainConfig(epochs=1, batch_size=2, warmup_steps=2, seed=3)
    stopped.fit(LipDataset(clips, augment=True))
    resumed = run().fit(LipDataset(clips, augment=True), resume=tmp_path / "last.pt")
    assert [r["loss"] for r in resumed] == [r["loss"] for r in first]


def test_landmark_model_overfits_a_handful_of_sentences():
    """Claim 4 of lipformer.md section 4 with a small landmark-only LipFormer (the full model is a slow test)."""
    torch.manual_seed(0)
    clips = make_clips(SENTENCES, speakers=("s3", "s4"))
    model = LipFormer(**{**TINY, "d_model": 64, "ff": 128, "heads": 4}, use_video=False, ctc_weight=0.5)
    config = LipTrainConfig(epochs=150, batch_size=8, lr=3e-3, warmup_steps=10, schedule="constant")
    history = LipReadingTrainer(model, config).fit(LipDataset(clips))
    assert history[-1]["loss"] < history[0]["loss"] / 3
    assert evaluate_lipreading(model, LipDataset(clips), beam=2)["cer"] <= 0.05


def test_bench_rows_same_recipe_for_all_three_methods():
    from learn_compress.benchmarks.lipformer import QUICK, build_cases, build_lip_model

    quick = build_cases("quick")
    assert [(c.method, c.dataset) for c in quick[:3]] == [
        ("LipNetCTC", "synthetic-lips-unseen"),
        ("VisualOnly", "synthetic-lips-unseen"),
        ("LipFormer", "synthetic-lips-unseen"),
    ]
    assert {c.dataset for c in quick} == {"synthetic-lips-unseen", "synthetic-lips-overlapped"} and len(quick) == 6
    lipformer = next(c for c in quick if c.method == "LipFormer")
    assert lipformer.role == "method" and lipformer.baseline == "LipNetCTC" and not lipformer.requires
    grid = [c for c in build_cases("paper") if c.dataset.startswith("grid")]
    assert len(grid) == 6 and all(c.requires == ("grid",) for c in grid)
    visual = build_lip_model("VisualOnly", QUICK)
    assert (
        visual.landmarks is None and visual.fusion is None and build_lip_model("LandmarkOnly", QUICK).frontend is None
    )
