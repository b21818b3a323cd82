"""Interviews to padded topic batches (``toat.md`` §1): tokens and audio features per topic, a topic mask.

Tokenisation and audio featurisation happen once, in :class:`InterviewDataset`; :func:`collate_interviews`
pads the topic axis K (``topic_mask [B, K]``), the token axis and the audio time axis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import Dataset

from ..audio import SAMPLE_RATE, log_mel
from ..data.daicwoz import Interview
from .config import TOATConfig

MIN_AUDIO_FRAMES = 7  # two stride-2 kernel-3 convolutions need 7 log-mel frames for one output


@dataclass
class EncodedInterview:
    """One interview ready for batching: ``[K, L]`` token tensors, K audio tensors, the label."""

    id: str
    label: int
    input_ids: torch.Tensor
    token_type_ids: torch.Tensor
    attention_mask: torch.Tensor
    audio: list[torch.Tensor]


def featurize_audio(wave: torch.Tensor | None, config: TOATConfig) -> torch.Tensor:
    """A topic's audio input: log-mel ``[T, 80]`` (``"logmel"``) or the standardised waveform (``"wav2vec2"``)."""
    wave = torch.zeros(0) if wave is None else wave[: round(config.max_topic_seconds * SAMPLE_RATE)]
    if config.audio_encoder == "wav2vec2":
        wave = wave if wave.numel() >= 400 else torch.nn.functional.pad(wave, (0, 400 - wave.numel()))
        return (wave - wave.mean()) / (wave.std() + 1e-7)  # what Wav2Vec2FeatureExtractor(do_normalize) does
    return log_mel(wave) if wave.numel() >= 400 else torch.zeros(1, 80)


def tokenize_topics(tokenizer, interview: Interview, config: TOATConfig) -> dict[str, torch.Tensor]:
    """``[K, L]`` ids, token types and mask of ``[CLS] q [SEP] a [SEP]`` (or the answer alone) per topic."""
    answers = [t.answer for t in interview.topics]
    if config.text_input == "pair":
        questions = [t.question for t in interview.topics]
        encoded = tokenizer(
            questions, answers, max_length=config.max_tokens, truncation="longest_first", padding=True,
            return_tensors="pt",
        )  # fmt: skip
    else:
        encoded = tokenizer(
            answers, max_length=config.max_tokens, truncation="longest_first", padding=True, return_tensors="pt"
        )
    ids = encoded["input_ids"]
    types = encoded.get("token_type_ids")
    return {
        "input_ids": ids,
        "token_type_ids": torch.zeros_like(ids) if types is None else types,
        "attention_mask": encoded["attention_mask"],
    }


class InterviewDataset(Dataset):
    """Interviews (at most ``max_topics`` topics each) tokenised and featurised for :class:`TOAT`."""

    def __init__(self, interviews: Sequence[Interview], tokenizer, config: TOATConfig):
        if not interviews:
            raise ValueError("InterviewDataset needs at least one interview")
        self.interviews = list(interviews)
        self.items = []
        for interview in self.interviews:
            if not interview.topics:
                raise ValueError(f"interview {interview.id} has no topic")
            clipped = Interview(interview.id, interview.label, interview.score, interview.topics[: config.max_topics])
            tokens = tokenize_topics(tokenizer, clipped, config)
            audio = [featurize_audio(t.audio, config) for t in clipped.topics]
            self.items.append(EncodedInterview(interview.id, interview.label, audio=audio, **tokens))
        self.labels = torch.tensor([i.label for i in self.interviews])

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> EncodedInterview:
        return self.items[index]


def _pad_topics(tensors: Sequence[torch.Tensor], length: int) -> torch.Tensor:
    """``[K_i, L_i]`` tensors to ``[B, K_max, length]`` (zero padding)."""
    padded = [torch.nn.functional.pad(t, (0, length - t.shape[1])) for t in tensors]
    return pad_sequence(padded, batch_first=True)


def collate_interviews(items: Sequence[EncodedInterview]) -> dict:
    """A batch: ``topic_mask [B, K]``, tokens ``[B, K, L]``, audio ``[B, K, T(, 80)]`` + ``audio_lengths``."""
    counts = torch.tensor([len(i.audio) for i in items])
    k = int(counts.max())
    length = max(i.input_ids.shape[1] for i in items)
    topic_mask = torch.arange(k)[None, :] < counts[:, None]
    flat_audio = pad_sequence([a for i in items for a in i.audio], batch_first=True)  # [N, T(, 80)]
    if flat_audio.shape[1] < MIN_AUDIO_FRAMES:
        flat_audio = torch.cat(
            [
                flat_audio,
                flat_audio.new_zeros(
                    flat_audio.shape[0], MIN_AUDIO_FRAMES - flat_audio.shape[1], *flat_audio.shape[2:]
                ),
            ],
            dim=1,
        )
    audio = flat_audio.new_zeros(len(items), k, *flat_audio.shape[1:])
    audio[topic_mask] = flat_audio
    audio_lengths = torch.zeros(len(items), k, dtype=torch.long)
    audio_lengths[topic_mask] = torch.tensor([a.shape[0] for i in items for a in i.audio])
    return {
        "ids": [i.id for i in items],
        "label": torch.tensor([i.label for i in items]),
        "topic_mask": topic_mask,
        "input_ids": _pad_topics([i.input_ids for i in items], length),
        "token_type_ids": _pad_topics([i.token_type_ids for i in items], length),
        "attention_mask": _pad_topics([i.attention_mask for i in items], length),
        "audio": audio,
        "audio_lengths": audio_lengths,
    }
