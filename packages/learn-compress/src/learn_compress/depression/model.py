"""TOAT: topic-attentive transformer for multimodal depression detection (Guo et al., arXiv 2206.13256).

``toat.md`` §1: a text branch and an audio branch, each encoding every topic (question-answer pair) with a
pretrained transformer, weighting topics with topic attention and classifying the subject; the branch
decisions are combined by late fusion. Only the components are on record; their forms are reconstructed
(see :class:`~learn_compress.depression.config.TOATConfig`). Registered as ``TOAT`` with the ablations
``TOAT-MeanPool`` (mean pooling instead of topic attention), ``TOAT-Text`` and ``TOAT-Audio`` (one branch).
"""

from __future__ import annotations

import dataclasses
import math
from functools import partial

import torch
from torch import nn

from ..encoders import build_audio_encoder, build_text_encoder
from ..registry import MODELS
from .branches import LogMelTopicEncoder, TextTopicEncoder, TopicBranch, Wav2Vec2TopicEncoder
from .config import TOATConfig
from .fusion import late_fusion

ABLATIONS = {
    "TOAT": {},
    "TOAT-MeanPool": {"pooling": "mean"},
    "TOAT-Text": {"branches": ("text",)},
    "TOAT-Audio": {"branches": ("audio",)},
}


class TOAT(nn.Module):
    """The two-branch model. ``forward(batch)`` returns the branch logits, fused probabilities and α.

    Output: ``{"text": z_t [B, 2] | None, "audio": z_a | None, "fused": P [B, 2], "alpha_text": α_t [B, K] |
    None, "alpha_audio": α_a | None}``; with one branch, ``fused`` is that branch's softmax. ``tokenizer``
    is the text branch's tokenizer (hashing or the local checkpoint's), used by the dataset.
    """

    def __init__(self, config: TOATConfig | None = None):
        super().__init__()
        self.config = config = config or TOATConfig()
        text_model, self.tokenizer = build_text_encoder(config.text_encoder, config.max_tokens)
        self.branches = nn.ModuleDict()
        if "text" in config.branches:
            self.branches["text"] = TopicBranch(TextTopicEncoder(text_model, config), config)
        if "audio" in config.branches:
            if config.audio_encoder == "wav2vec2":
                audio = Wav2Vec2TopicEncoder(build_audio_encoder(config.audio_encoder_path), config)
            else:
                audio = LogMelTopicEncoder(config)
            self.branches["audio"] = TopicBranch(audio, config)
        init = config.fusion_weight if config.fusion != "learned" else 0.5
        self.register_buffer("fusion_theta", torch.tensor(math.log(init / (1 - init)) if 0 < init < 1 else 0.0))

    @property
    def fusion_weight(self) -> float:
        """``w`` of the fusion rule: the configured weight, or ``sigmoid(θ)`` for ``fusion="learned"``."""
        if self.config.fusion == "learned":
            return float(torch.sigmoid(self.fusion_theta))
        return self.config.fusion_weight

    def set_fusion_weight(self, weight: float) -> None:
        """Store a fitted ``w`` (``fusion="learned"``) as ``θ = logit(w)``."""
        self.fusion_theta.fill_(math.log(weight / (1 - weight)))

    def pretrained_parameters(self) -> list[nn.Parameter]:
        """Weights loaded from a checkpoint directory (trained at ``lr_pretrained``); none for random encoders."""
        params = []
        if self.config.text_encoder is not None and "text" in self.branches:
            params += list(self.branches["text"].encoder.parameters())
        if self.config.audio_encoder_path is not None and "audio" in self.branches:
            params += list(self.branches["audio"].encoder.parameters())
        return params

    def fuse(self, logits: dict[str, torch.Tensor]) -> torch.Tensor:
        if len(logits) == 1:
            return next(iter(logits.values())).softmax(-1)
        return late_fusion(logits["text"], logits["audio"], self.config.fusion, self.fusion_weight)

    def forward(self, batch: dict) -> dict[str, torch.Tensor | None]:
        out: dict[str, torch.Tensor | None] = {"text": None, "audio": None, "alpha_text": None, "alpha_audio": None}
        for name, branch in self.branches.items():
            out[name], out[f"alpha_{name}"] = branch(batch)
        out["fused"] = self.fuse({name: out[name] for name in self.branches})
        return out


def build_toat(name: str = "TOAT", config: TOATConfig | None = None, **overrides) -> TOAT:
    """``TOAT`` or one of its ablations (``ABLATIONS``) on ``config`` with ``overrides`` applied."""
    if name not in ABLATIONS:
        raise KeyError(f"unknown TOAT variant {name!r}; known: {', '.join(ABLATIONS)}")
    return TOAT(dataclasses.replace(config or TOATConfig(), **{**ABLATIONS[name], **overrides}))


MODELS.register("TOAT", TOAT)
for _variant in ABLATIONS:
    if _variant != "TOAT":
        MODELS.register(_variant, partial(build_toat, _variant))
