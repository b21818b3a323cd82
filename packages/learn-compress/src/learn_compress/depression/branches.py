"""The two TOAT branches (``toat.md`` §1.1-1.3): topic encoders, topic context, topic attention, classifier.

Each branch maps a padded batch to per-topic embeddings ``[B, K, d]`` (only valid topics are encoded, in
chunks of ``topic_chunk``), adds topic-position embeddings and a small Transformer over topics (assumed
"topic context"), pools the topics with additive topic attention (assumed form, Bahdanau-style) or the
mean/max ablations, and classifies the subject vector. Branches share no parameter.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from .config import TOATConfig


def encode_valid_topics(encode, inputs: list[torch.Tensor], mask: torch.Tensor, dim: int, chunk: int) -> torch.Tensor:
    """Run ``encode(*rows) -> [n, dim]`` on the valid topics only, ``chunk`` at a time; pads get zeros.

    ``inputs`` are ``[B, K, ...]`` tensors, ``mask`` the ``[B, K]`` topic mask.
    """
    rows = [x[mask] for x in inputs]
    pooled = torch.cat([encode(*(r[i : i + chunk] for r in rows)) for i in range(0, rows[0].shape[0], chunk)])
    out = pooled.new_zeros(*mask.shape, dim)
    out[mask] = pooled
    return out


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``x [N, T, d]`` over the positions where ``mask [N, T]`` is True."""
    weights = mask.to(x.dtype)
    return (x * weights[..., None]).sum(1) / weights.sum(1, keepdim=True).clamp_min(1.0)


class TextTopicEncoder(nn.Module):
    """``E_t`` (§1.1): a BERT-family ``AutoModel`` on ``[CLS] q [SEP] a [SEP]``; mean over tokens or ``[CLS]``."""

    def __init__(self, encoder: nn.Module, config: TOATConfig):
        super().__init__()
        self.encoder = encoder
        self.dim = encoder.config.hidden_size
        self.pool = config.text_pool
        self.chunk = config.topic_chunk
        if config.gradient_checkpointing:
            encoder.gradient_checkpointing_enable()
        encoder.requires_grad_(config.finetune_text)

    def _encode(self, ids: torch.Tensor, types: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
        width = int(attention.sum(1).max())
        ids, types, attention = ids[:, :width], types[:, :width], attention[:, :width]
        hidden = self.encoder(input_ids=ids, token_type_ids=types, attention_mask=attention).last_hidden_state
        return hidden[:, 0] if self.pool == "cls" else masked_mean(hidden, attention.bool())

    def forward(self, batch: dict) -> torch.Tensor:
        inputs = [batch["input_ids"], batch["token_type_ids"], batch["attention_mask"]]
        return encode_valid_topics(self._encode, inputs, batch["topic_mask"], self.dim, self.chunk)


def sinusoidal_positions(length: int, dim: int, device: torch.device | None = None) -> torch.Tensor:
    """The Transformer's fixed sine/cosine position table ``[length, dim]``."""
    position = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    frequency = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim, device=device)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency[: dim // 2])
    return table


class LogMelTopicEncoder(nn.Module):
    """``E_a="logmel"`` (§1.2): two Conv1d(k3, s2)+GELU (x4), sine positions, Transformer, masked mean."""

    def __init__(self, config: TOATConfig, n_mels: int = 80):
        super().__init__()
        d = config.audio_dim
        self.dim = d
        self.chunk = config.topic_chunk
        self.subsample = nn.Sequential(
            nn.Conv1d(n_mels, d, 3, stride=2), nn.GELU(), nn.Conv1d(d, d, 3, stride=2), nn.GELU()
        )
        layer = nn.TransformerEncoderLayer(d, config.audio_heads, 2 * d, config.dropout, batch_first=True)
        self.transformer = nn.TransformerEncoder(layer, config.audio_layers, enable_nested_tensor=False)
        self.requires_grad_(config.finetune_audio)

    @staticmethod
    def frames_after_subsampling(lengths: torch.Tensor) -> torch.Tensor:
        for _ in range(2):
            lengths = torch.div(lengths - 3, 2, rounding_mode="floor") + 1
        return lengths.clamp_min(1)

    def _encode(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = self.subsample(features[:, : max(int(lengths.max()), 7)].transpose(1, 2)).transpose(1, 2)
        x = x + sinusoidal_positions(x.shape[1], self.dim, x.device)
        valid = torch.arange(x.shape[1], device=x.device)[None, :] < self.frames_after_subsampling(lengths)[:, None]
        return masked_mean(self.transformer(x, src_key_padding_mask=~valid), valid)

    def forward(self, batch: dict) -> torch.Tensor:
        inputs = [batch["audio"], batch["audio_lengths"]]
        return encode_valid_topics(self._encode, inputs, batch["topic_mask"], self.dim, self.chunk)


class Wav2Vec2TopicEncoder(nn.Module):
    """``E_a="wav2vec2"`` (§1.2): CNN feature encoder frozen, Transformer fine-tuned, mean over valid frames."""

    def __init__(self, encoder: nn.Module, config: TOATConfig):
        super().__init__()
        self.encoder = encoder
        self.dim = encoder.config.hidden_size
        self.chunk = config.topic_chunk
        encoder.requires_grad_(config.finetune_audio)
        encoder.freeze_feature_encoder()
        self.gradient_checkpointing = config.gradient_checkpointing

    def _encode(self, wave: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        wave = wave[:, : int(lengths.max())]
        attention = (torch.arange(wave.shape[1], device=wave.device)[None, :] < lengths[:, None]).long()
        if self.gradient_checkpointing and self.training:
            hidden = checkpoint(lambda w, a: self.encoder(w, attention_mask=a).last_hidden_state, wave, attention,
                                use_reentrant=False)  # fmt: skip
        else:
            hidden = self.encoder(wave, attention_mask=attention).last_hidden_state
        frames = self.encoder._get_feat_extract_output_lengths(lengths).clamp(1, hidden.shape[1])
        return masked_mean(hidden, torch.arange(hidden.shape[1], device=wave.device)[None, :] < frames[:, None])

    def forward(self, batch: dict) -> torch.Tensor:
        inputs = [batch["audio"], batch["audio_lengths"]]
        return encode_valid_topics(self._encode, inputs, batch["topic_mask"], self.dim, self.chunk)


class TopicContext(nn.Module):
    """Assumed "transformer over topics": learned topic-position embedding + ``layers`` encoder layers."""

    def __init__(self, dim: int, config: TOATConfig):
        super().__init__()
        self.positions = nn.Embedding(config.max_topics, dim) if config.topic_positions else None
        self.layers = None
        if config.topic_context_layers > 0:
            layer = nn.TransformerEncoderLayer(dim, config.context_heads, 2 * dim, config.dropout, batch_first=True)
            self.layers = nn.TransformerEncoder(layer, config.topic_context_layers, enable_nested_tensor=False)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.positions is not None:
            h = h + self.positions(torch.arange(h.shape[1], device=h.device))
        if self.layers is not None:
            h = self.layers(h, src_key_padding_mask=~mask)
        return h * mask[..., None].to(h.dtype)


class TopicAttention(nn.Module):
    """Additive topic attention (assumed form): ``e_k = vᵀ tanh(W h_k + b)``, ``α = masked softmax_k(e)``.

    Masked topics get ``-inf`` scores, so α is exactly 0 there and sums to 1 over valid topics. With
    ``heads > 1`` each head has its own (W, v); the pooled vectors are concatenated and the returned α is
    the heads' mean.
    """

    def __init__(self, dim: int, att_dim: int = 128, heads: int = 1):
        super().__init__()
        self.heads = heads
        self.project = nn.Linear(dim, heads * att_dim)
        self.score = nn.Parameter(torch.randn(heads, att_dim) / math.sqrt(att_dim))

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        u = torch.tanh(self.project(h)).unflatten(-1, (self.heads, -1))  # [B, K, H, d_att]
        e = torch.einsum("bkha,ha->bkh", u, self.score).masked_fill(~mask[..., None], float("-inf"))
        alpha = torch.softmax(e, dim=1)
        pooled = torch.einsum("bkh,bkd->bhd", alpha, h).flatten(1)
        return pooled, alpha.mean(-1)


def pool_topics(h: torch.Tensor, mask: torch.Tensor, how: str) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The ablation poolings: masked mean (α = uniform over valid topics) or masked max (no α)."""
    if how == "max":
        return h.masked_fill(~mask[..., None], float("-inf")).amax(1), None
    uniform = mask.to(h.dtype) / mask.sum(1, keepdim=True).to(h.dtype)
    return torch.einsum("bk,bkd->bd", uniform, h), uniform


class TopicBranch(nn.Module):
    """One branch: topic encoder → topic context → pooling → Dropout-Linear(d, d/2)-GELU-Dropout-Linear(d/2, 2)."""

    def __init__(self, encoder: nn.Module, config: TOATConfig):
        super().__init__()
        d = encoder.dim
        self.encoder = encoder
        self.context = TopicContext(d, config)
        self.pooling = config.pooling
        self.attention = TopicAttention(d, config.att_dim, config.att_heads) if config.pooling == "attention" else None
        width = d * (config.att_heads if self.attention is not None else 1)
        self.classifier = nn.Sequential(
            nn.Dropout(config.dropout), nn.Linear(width, d // 2), nn.GELU(), nn.Dropout(config.dropout),
            nn.Linear(d // 2, 2),
        )  # fmt: skip

    def topic_embeddings(self, batch: dict) -> torch.Tensor:
        """Contextualised topic embeddings ``h [B, K, d]`` (zero on padded topics)."""
        return self.context(self.encoder(batch), batch["topic_mask"])

    def forward(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = self.topic_embeddings(batch)
        mask = batch["topic_mask"]
        pooled, alpha = self.attention(h, mask) if self.attention is not None else pool_topics(h, mask, self.pooling)
        return self.classifier(pooled), alpha
