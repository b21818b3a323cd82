"""LipFormer: two-stream (lip video + facial landmarks) transformer with a cascade seq2seq decoder.

Xue et al., "LipFormer: Learning to Lipread Unseen Speakers based on Visual-Landmark Transformers",
IEEE TCSVT 2023 (arXiv 2302.02141). Only the structure is on record (two streams, self-attention
embeddings, cross-attention fusion, cascaded seq2seq decoding); no official code exists. Every other
choice is our reconstruction (``lipformer.md`` sections 1-2) and is a field of :class:`LipFormerConfig`:

- visual stream (1.1): :class:`~.frontend.LipFrontEnd` (LipNet 3D convs + CBAM channel attention), per
  frame Linear to ``d_model`` + Dropout 0.1, then a transformer (or BiGRU) encoder -> ``V``;
- landmark stream (1.2): :class:`~.landmark_stream.LandmarkStream` -> ``L``;
- fusion (1.3): :class:`~.fusion.CrossModalFusion` -> ``F``; ``use_landmarks=False`` gives ``F = V``
  (the ``VisualOnly`` baseline), ``use_video=False`` gives ``F = L``;
- cascade decoder (1.4): stage 1 decodes the intermediate units (phonemes by default) over ``F``; stage 2
  decodes characters attending to ``F`` and to the stage-1 states ``H1``; ``cascade=False`` keeps one
  character decoder over ``F``;
- loss (2): ``lambda * CE(stage 1) + (1 - lambda) * CE(stage 2) [+ ctc_weight * CTC(F)]``, lambda = 0.7,
  label smoothing 0.1, padding ignored, token-level mean; terms of weight 0 are left out of the graph.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import MODELS
from .decoder import Memory, TokenDecoder
from .decoding import beam_search, greedy_search
from .frontend import LipFrontEnd
from .fusion import CrossModalFusion
from .landmark_stream import FEATURES, LandmarkStream
from .layers import TemporalEncoder, pad_sequences, padding_mask
from .vocab import CHARACTERS, PAD, SOS, CharTokenizer, intermediate_tokenizer

CTC_BLANK = 0  # the auxiliary CTC head reuses <pad> of the character vocabulary as its blank


@dataclass
class LipFormerConfig:
    """Architecture and loss of LipFormer (defaults: the paper-scale reconstruction, ``lipformer.md`` 1-2)."""

    in_channels: int = 1
    height: int = 50
    width: int = 100
    d_model: int = 256
    heads: int = 4
    ff: int = 1024
    dropout: float = 0.1
    frontend_channels: tuple[int, ...] = (32, 64, 96)
    frontend_dropout: float = 0.2
    channel_attention: bool = True
    channel_reduction: int = 8
    temporal: str = "transformer"
    visual_layers: int = 3
    landmark_layers: int = 3
    landmark_points: int = 37
    landmark_features: tuple[str, ...] = FEATURES
    fusion: str = "bi"
    fusion_layers: int = 2
    use_video: bool = True
    use_landmarks: bool = True
    cascade: bool = True
    intermediate: Any = "phoneme"
    inter_layers: int = 2
    char_layers: int = 2
    detach_intermediate: bool = False
    inter_weight: float = 0.7
    label_smoothing: float = 0.1
    ctc_weight: float = 0.0
    max_len_inter: int = 64
    max_len_char: int = 64
    length_penalty: float = 1.0

    def __post_init__(self) -> None:
        if not (self.use_video or self.use_landmarks):
            raise ValueError("LipFormer needs the video stream, the landmark stream or both")
        if not 0.0 <= self.inter_weight <= 1.0:
            raise ValueError(f"inter_weight (lambda) must be in [0, 1], got {self.inter_weight}")
        self.frontend_channels = tuple(self.frontend_channels)
        self.landmark_features = tuple(self.landmark_features)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["intermediate"] = (
            self.intermediate if isinstance(self.intermediate, str) else type(self.intermediate).__name__
        )
        return d


@MODELS.register("LipFormer")
class LipFormer(nn.Module):
    """``LipFormer(config)`` or ``LipFormer(**fields)``; see the module docstring."""

    def __init__(self, config: LipFormerConfig | None = None, **overrides: Any):
        super().__init__()
        config = dataclasses.replace(config or LipFormerConfig(), **overrides)
        self.config = c = config
        self.chars = CharTokenizer()
        self.inter = intermediate_tokenizer(c.intermediate) if c.cascade else None
        self.frontend = self.visual_proj = self.visual_encoder = None
        if c.use_video:
            self.frontend = LipFrontEnd(
                c.in_channels, c.frontend_channels, c.frontend_dropout, c.channel_attention, c.channel_reduction
            )
            self.visual_proj = nn.Sequential(
                nn.Linear(self.frontend.feature_dim(c.height, c.width), c.d_model), nn.Dropout(c.dropout)
            )
            self.visual_encoder = TemporalEncoder(c.d_model, c.visual_layers, c.heads, c.ff, c.dropout, c.temporal)
        self.landmarks = (
            LandmarkStream(
                c.d_model, c.landmark_layers, c.heads, c.ff, c.dropout, c.landmark_features, c.landmark_points
            )
            if c.use_landmarks
            else None
        )
        both = c.use_video and c.use_landmarks
        self.fusion = CrossModalFusion(c.d_model, c.fusion_layers, c.heads, c.ff, c.dropout, c.fusion) if both else None
        self.stage1 = (
            TokenDecoder(len(self.inter.vocab), c.d_model, c.inter_layers, c.heads, c.ff, c.dropout, memories=1)
            if c.cascade
            else None
        )
        self.stage2 = TokenDecoder(
            len(CHARACTERS), c.d_model, c.char_layers, c.heads, c.ff, c.dropout, memories=2 if c.cascade else 1
        )
        self.ctc_head = nn.Linear(c.d_model, len(CHARACTERS)) if c.ctc_weight > 0 else None

    # -- encoding --------------------------------------------------------------------------------
    def encode(self, frames: torch.Tensor, landmarks: torch.Tensor, lengths: torch.Tensor) -> Memory:
        """Fused sequence ``F [B, T, d]`` and its padding mask ``[B, T]`` (True at padded frames)."""
        t = frames.shape[2] if frames is not None and self.frontend is not None else landmarks.shape[1]
        mask = padding_mask(lengths, t)
        streams = []
        if self.frontend is not None:
            v = self.visual_proj(self.frontend(frames, ~mask))
            streams.append(self.visual_encoder(v, lengths, mask))
        if self.landmarks is not None:
            streams.append(self.landmarks(landmarks, lengths, mask))
        fused = self.fusion(*streams, mask) if self.fusion is not None else streams[0]
        return fused, mask

    def _char_memories(self, memory: Memory, inter_in: torch.Tensor | None) -> tuple[list[Memory], torch.Tensor | None]:
        """Memories of the character decoder (``F``, plus ``H1`` in the cascade) and the stage-1 logits."""
        if self.stage1 is None:
            return [memory], None
        h1, inter_logits = self.stage1(inter_in, [memory])
        if self.config.detach_intermediate:
            h1 = h1.detach()
        return [memory, (h1, inter_in == PAD)], inter_logits

    def forward(
        self,
        frames: torch.Tensor,
        landmarks: torch.Tensor,
        lengths: torch.Tensor,
        inter_in: torch.Tensor | None,
        char_in: torch.Tensor,
    ) -> tuple[torch.Tensor | None, torch.Tensor, dict[str, torch.Tensor]]:
        """Teacher-forced logits ``([B, Li, V_inter] or None, [B, Lc, 30], aux)``; ``aux`` has ``fused``, ``mask``."""
        memory = self.encode(frames, landmarks, lengths)
        memories, inter_logits = self._char_memories(memory, inter_in)
        _, char_logits = self.stage2(char_in, memories)
        aux = {"fused": memory[0], "mask": memory[1]}
        if self.ctc_head is not None:
            aux["ctc_log_probs"] = self.ctc_head(memory[0]).log_softmax(-1)
        return inter_logits, char_logits, aux

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        """Joint loss of section 2 on a collated batch (see :func:`~.dataset.collate_lips`)."""
        c = self.config
        inter_logits, char_logits, aux = self(
            batch["frames"], batch["landmarks"], batch["lengths"], batch.get("inter_in"), batch["char_in"]
        )
        inter_weight = c.inter_weight if inter_logits is not None else 0.0
        terms: dict[str, tuple[float, torch.Tensor]] = {}
        if inter_weight > 0:
            terms["inter_ce"] = (inter_weight, _token_ce(inter_logits, batch["inter_out"], c.label_smoothing))
        if inter_weight < 1:
            terms["char_ce"] = (1 - inter_weight, _token_ce(char_logits, batch["char_out"], c.label_smoothing))
        if self.ctc_head is not None:
            targets = batch["char_out"]
            target_lengths = (targets != PAD).sum(1) - 1  # without <eos>
            ctc = F.ctc_loss(
                aux["ctc_log_probs"].transpose(0, 1),
                targets.masked_fill(targets <= 2, 0)[:, : int(target_lengths.max())],
                batch["lengths"],
                target_lengths,
                blank=CTC_BLANK,
                zero_infinity=True,
            )
            terms["ctc"] = (c.ctc_weight, ctc)
        total = sum(w * value for w, value in terms.values())
        return total, {name: float(value.detach()) for name, (_, value) in terms.items()}

    # -- inference -------------------------------------------------------------------------------
    def _search(self, decoder: TokenDecoder, memories: Sequence[Memory], beam: int, max_len: int) -> list[list[int]]:
        batch, device = memories[0][0].shape[0], memories[0][0].device
        if beam > 1:
            memories = [(m.repeat_interleave(beam, 0), k.repeat_interleave(beam, 0)) for m, k in memories]

        def step(tokens: torch.Tensor) -> torch.Tensor:
            return decoder(tokens, memories)[1][:, -1].log_softmax(-1)

        if beam == 1:
            return greedy_search(step, batch, max_len, device)
        return beam_search(step, batch, beam, max_len, self.config.length_penalty, device)

    @torch.no_grad()
    def decode_ids(
        self, frames: torch.Tensor, landmarks: torch.Tensor, lengths: torch.Tensor, beam: int = 1
    ) -> tuple[list[list[int]] | None, list[list[int]]]:
        """Decoded intermediate and character ids: stage 1 first, ``H1`` recomputed on its output, then stage 2."""
        memory = self.encode(frames, landmarks, lengths)
        inter_ids = None
        inter_in = None
        if self.stage1 is not None:
            inter_ids = self._search(self.stage1, [memory], beam, self.config.max_len_inter)
            inter_in = pad_sequences([[SOS, *ids] for ids in inter_ids], memory[0].device)
        memories, _ = self._char_memories(memory, inter_in)
        return inter_ids, self._search(self.stage2, memories, beam, self.config.max_len_char)

    def decode(self, frames: torch.Tensor, landmarks: torch.Tensor, lengths: torch.Tensor, beam: int = 4) -> list[str]:
        """Transcripts of a batch (``beam=1``: greedy)."""
        return [self.chars.decode(ids) for ids in self.decode_ids(frames, landmarks, lengths, beam)[1]]


def _token_ce(logits: torch.Tensor, target: torch.Tensor, smoothing: float) -> torch.Tensor:
    """Token-level mean cross-entropy with label smoothing, padding ignored."""
    return F.cross_entropy(logits.flatten(0, 1), target.flatten(), ignore_index=PAD, label_smoothing=smoothing)


@MODELS.register("VisualOnly")
def visual_only(config: LipFormerConfig | None = None, **overrides: Any) -> LipFormer:
    """The visual-only ablation: LipFormer with the landmark stream and the fusion switched off (``F = V``)."""
    return LipFormer(config, **{**overrides, "use_landmarks": False})
