import math

import pytest
import torch

from learn_compress.metrics import (
    best_and_final,
    binary_prf,
    cer,
    correct_topk,
    levenshtein,
    per_class_accuracy,
    top1,
    topk_accuracy,
    wer,
)


def test_topk_by_hand():
    logits = torch.tensor([[0.1, 0.5, 0.4], [0.9, 0.05, 0.05], [0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
    labels = torch.tensor([2, 0, 1, 2])
    # argmax: 1, 0, 2, 0 -> one correct; top-2: {1,2} {0,1|2} {2,1} {0,1} -> rows 0, 1, 2 correct
    assert correct_topk(logits, labels, (1, 2)) == {1: 1, 2: 3}
    assert top1(logits, labels) == 25.0
    assert topk_accuracy(logits, labels, 2) == 75.0
    assert topk_accuracy(logits, labels, 5) == 100.0  # k capped at the number of classes


def test_per_class_by_hand():
    predictions = torch.tensor([0, 0, 1, 1, 1])
    labels = torch.tensor([0, 1, 1, 1, 0])
    acc = per_class_accuracy(predictions, labels, 3)
    assert acc[0].item() == 50.0 and acc[1].item() == pytest.approx(200 / 3) and math.isnan(acc[2].item())


def test_best_and_final():
    history = [{"test_top1": 10.0}, {"loss": 1.0}, {"test_top1": 30.0}, {"test_top1": 20.0}]
    assert best_and_final(history) == {"best": 30.0, "final": 20.0}
    with pytest.raises(KeyError):
        best_and_final(history, "top5")


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match="expected logits"):
        correct_topk(torch.zeros(3, 4), torch.zeros(2, dtype=torch.long))


def test_levenshtein_hand_computed():
    assert levenshtein("kitten", "sitting") == 3
    assert levenshtein("", "abc") == 3
    assert levenshtein(["bin", "blue"], ["bin", "red", "blue"]) == 1


def test_cer_and_wer_are_corpus_ratios_after_normalisation():
    refs = ["bin blue at f two now", "set red"]
    hyps = ["Bin  blue at s two now", "set"]
    # characters: 1 substitution (f->s) + 4 deletions (" red") over 21 + 7 reference characters
    assert cer(refs, hyps) == pytest.approx(5 / 28)
    # words: 1 substitution + 1 deletion over 6 + 2 reference words
    assert wer(refs, hyps) == pytest.approx(2 / 8)
    with pytest.raises(ValueError, match="empty"):
        cer([], [])


def test_binary_prf_hand_computed_and_never_nan():
    scores = binary_prf([1, 1, 0, 0, 1], [1, 0, 0, 1, 1])
    assert scores["precision"] == pytest.approx(2 / 3)
    assert scores["recall"] == pytest.approx(2 / 3)
    assert scores["f1"] == pytest.approx(2 / 3)
    assert scores["macro_f1"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert scores["accuracy"] == pytest.approx(3 / 5)
    none_predicted = binary_prf([1, 0, 0], [0, 0, 0])
    assert none_predicted["precision"] == 0.0 and none_predicted["f1"] == 0.0
