"""What short CPU runs must show (lipformer.md section 4, one seed, the quick-bench recipe): slow tests."""

import dataclasses

import pytest
import torch

from learn_compress.benchmarks.lipformer import QUICK, one_thread, split_corpus, train_and_evaluate, write_corpus
from learn_compress.data.landmarks import normalize_landmarks
from learn_compress.data.synthetic_lips import SyntheticLipCorpus
from learn_compress.lipreading import LipClip, LipDataset, LipFormer, LipReadingTrainer, evaluate_lipreading


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    data = split_corpus(write_corpus(tmp_path_factory.mktemp("lips"), QUICK), QUICK)
    with one_thread():  # module-scoped: set up before the per-test one-thread fixture of conftest.py
        return {
            m: train_and_evaluate(m, QUICK, data, seed=0)
            for m in ("LipNetCTC", "VisualOnly", "LipFormer", "LandmarkOnly")
        }


def rise(run):
    return run["unseen"]["cer"] - run["seen"]["cer"]


@pytest.mark.slow
def test_claim1_unseen_cer_at_most_080_of_visual_only_models(runs):
    lipformer = runs["LipFormer"]["unseen"]["cer"]
    assert lipformer <= 0.8 * runs["LipNetCTC"]["unseen"]["cer"]
    assert lipformer <= 0.8 * runs["VisualOnly"]["unseen"]["cer"]


@pytest.mark.slow
def test_claim2_seen_to_unseen_rise_smaller_than_visual_only_models(runs):
    assert rise(runs["LipFormer"]) < rise(runs["LipNetCTC"])
    assert rise(runs["LipFormer"]) < rise(runs["VisualOnly"])


@pytest.mark.slow
def test_claim3_seen_cer_no_worse_than_landmark_only_plus_002(runs):
    assert runs["LipFormer"]["seen"]["cer"] <= runs["LandmarkOnly"]["seen"]["cer"] + 0.02


@pytest.mark.slow
def test_claim4_lipformer_overfits_eight_clips_in_300_steps():
    corpus = SyntheticLipCorpus(QUICK.corpus)
    clips = []
    for k, text in enumerate(corpus.sentences(8, seed=7)):
        sample = corpus.render(text, f"s{k + 3}")
        clips.append(LipClip(f"s{k + 3}/{k}", f"s{k + 3}", text, sample.frames, normalize_landmarks(sample.landmarks)))
    torch.manual_seed(0)
    model = LipFormer(QUICK.lipformer)
    config = dataclasses.replace(QUICK.train, max_steps=300, batch_size=8, schedule="constant", warmup_steps=20)
    LipReadingTrainer(model, config).fit(LipDataset(clips))
    assert evaluate_lipreading(model, LipDataset(clips))["cer"] <= 0.05
