"""Configuration of TOAT (``toat.md``): every reconstructed choice is a field, defaults = the CPU recipe (§2).

The paper (arXiv 2206.13256) states the components only (topic unit, topic attention, fine-tuned pretrained
encoders, two independent branches, late fusion); backbones, the attention formula, the fusion rule and all
hyper-parameters are our reconstruction (``toat.md`` §1-2, marked "assumed" there).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

BRANCHES = ("text", "audio")
POOLINGS = ("attention", "mean", "max")
FUSIONS = ("prob_avg", "logit_avg", "max", "learned")
AUDIO_ENCODERS = ("logmel", "wav2vec2")
TEXT_INPUTS = ("pair", "answer")
TEXT_POOLS = ("mean", "cls")


@dataclass
class TOATConfig:
    """Model, data-shaping and training hyper-parameters of :class:`~learn_compress.depression.TOAT`.

    Paper-scale values (``toat.md`` §2 table): ``text_encoder`` = a local BERT/RoBERTa directory,
    ``audio_encoder="wav2vec2"`` with ``audio_encoder_path``, ``max_topic_seconds=20``, ``lr=1e-3``,
    ``lr_pretrained=2e-5``, ``epochs=20``, ``batch_size=2``, ``grad_accum=8``, ``early_stop_patience=5``.
    The defaults keep the spec's topic positions and one topic-context layer; the synthetic benchmark
    (``benchmarks/toat.py`` ``CPU_RECIPE``) turns both off, because its topics come in random order and the
    position embeddings let the text branch memorise the 80 training interviews.
    """

    # text branch (§1.1)
    text_encoder: str | None = None  # local AutoModel directory; None = small random BERT + hashing tokenizer
    text_input: str = "pair"  # "[CLS] q [SEP] a [SEP]" or the answer alone
    max_tokens: int = 128
    text_pool: str = "mean"
    finetune_text: bool = True
    gradient_checkpointing: bool = False
    topic_chunk: int = 16
    # audio branch (§1.2)
    audio_encoder: str = "logmel"
    audio_encoder_path: str | None = None  # local wav2vec 2.0 directory; None = small random config
    audio_dim: int = 64
    audio_layers: int = 2
    audio_heads: int = 4
    finetune_audio: bool = True
    max_topic_seconds: float = 3.0
    # topic context, attention and classifier (§1.3)
    topic_context_layers: int = 1
    topic_positions: bool = True
    context_heads: int = 4
    max_topics: int = 64
    pooling: str = "attention"
    att_dim: int = 128
    att_heads: int = 1
    dropout: float = 0.1
    # late fusion (§1.4)
    branches: Sequence[str] = BRANCHES
    fusion: str = "prob_avg"
    fusion_weight: float = 0.5
    threshold: float = 0.5
    # training (§2)
    epochs: int = 15
    batch_size: int = 8
    grad_accum: int = 1
    lr: float = 1e-3
    lr_pretrained: float = 2e-5
    weight_decay: float = 0.01
    warmup: float = 0.1
    topic_dropout: float = 0.1
    class_weighting: bool = True
    early_stop_patience: int = 0  # 0 = train every epoch (CPU recipe); 5 at paper scale
    seed: int = 0

    def __post_init__(self) -> None:
        self.branches = tuple(self.branches)
        checks = {
            "text_input": (self.text_input, TEXT_INPUTS),
            "text_pool": (self.text_pool, TEXT_POOLS),
            "audio_encoder": (self.audio_encoder, AUDIO_ENCODERS),
            "pooling": (self.pooling, POOLINGS),
            "fusion": (self.fusion, FUSIONS),
        }
        for name, (value, allowed) in checks.items():
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
        if (
            not self.branches
            or any(b not in BRANCHES for b in self.branches)
            or len(set(self.branches)) != len(self.branches)
        ):
            raise ValueError(f"branches must be a non-empty subset of {BRANCHES}, got {self.branches!r}")
        if not 0.0 <= self.fusion_weight <= 1.0 or not 0.0 <= self.topic_dropout < 1.0:
            raise ValueError("fusion_weight must lie in [0, 1] and topic_dropout in [0, 1)")

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}
