"""Lipreading clips in memory, their augmentation and batching (``lipformer.md`` sections 2-3).

A :class:`LipClip` holds ``uint8 [T, H, W, C]`` frames, normalised ``[T, 37, 2]`` landmarks and the
sentence. :class:`LipDataset` standardises each clip's frames (zero mean, unit variance over the clip),
optionally augments (horizontal flip with probability 0.5 on frames and landmarks; temporal jitter: each
frame dropped or duplicated with probability ``jitter_p / 2`` each, identically on the landmarks) and
tokenises the sentence for both decoder levels and for CTC. :func:`collate_lips` pads a batch with zeros.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from lab_common import DataFormatError

from ..data.grid import GridClip, clip_transcript, read_frames
from ..data.landmarks import crop_mouth, flip_landmarks, load_landmarks, normalize_landmarks
from .layers import pad_sequences
from .lipnet import ctc_encode
from .vocab import EOS, SOS, CharTokenizer, intermediate_tokenizer


@dataclass
class LipClip:
    key: str
    speaker: str
    text: str
    frames: np.ndarray  # uint8 [T, H, W, C]
    landmarks: np.ndarray  # float32 [T, 37, 2], normalised


def load_clip(clip: GridClip, mouth_crop: tuple[int, int] | None = None) -> LipClip:
    """Frames, normalised landmarks and transcript of a GRID clip; missing landmarks raise naming the clip.

    ``mouth_crop=(H, W)`` cuts grayscale mouth crops out of face frames with the 68-point track
    (:func:`~learn_compress.data.landmarks.crop_mouth`); by default the frames are used as stored.
    """
    if clip.landmarks is None:
        raise DataFormatError(
            clip.frames,
            None,
            f"landmarks in landmarks/{clip.speaker}/{clip.stem}.npy or {clip.speaker}/{clip.stem}.landmarks.npy "
            "([T, 68, 2] from any 68-point detector)",
            "no landmark file",
        )
    frames = read_frames(clip.frames)
    track = load_landmarks(clip.landmarks, num_frames=len(frames))
    if mouth_crop is not None:
        frames = crop_mouth(frames, track, mouth_crop)
    return LipClip(clip.key, clip.speaker, clip_transcript(clip), frames, normalize_landmarks(track))


def load_clips(clips: Sequence[GridClip], mouth_crop: tuple[int, int] | None = None) -> list[LipClip]:
    """Every clip loaded (the first bad file raises; nothing half-loaded is returned)."""
    return [load_clip(c, mouth_crop) for c in clips]


def standardize(frames: np.ndarray) -> torch.Tensor:
    """``uint8 [T, H, W, C]`` -> float ``[C, T, H, W]`` with zero mean and unit variance over the clip."""
    x = torch.from_numpy(frames).float().permute(3, 0, 1, 2)
    return (x - x.mean()) / (x.std() + 1e-5)


def flip_clip(frames: torch.Tensor, landmarks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Horizontal flip of ``[C, T, H, W]`` frames and ``[T, 37, 2]`` landmarks (left/right indices swapped)."""
    return frames.flip(-1), torch.from_numpy(flip_landmarks(landmarks.numpy()))


def jitter_indices(length: int, p: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Frame indices where each frame is dropped (probability p/2) or duplicated (p/2)."""
    r = torch.rand(length, generator=generator)
    counts = torch.ones(length, dtype=torch.long)
    counts[r < p / 2] = 0
    counts[r >= 1 - p / 2] = 2
    indices = torch.repeat_interleave(torch.arange(length), counts)
    return indices if len(indices) else torch.arange(length)


class LipDataset(Dataset):
    """Items ``{frames, landmarks, text, inter, chars, ctc}`` of clips, augmented when ``augment``."""

    def __init__(
        self,
        clips: Sequence[LipClip],
        intermediate="phoneme",
        augment: bool = False,
        flip_p: float = 0.5,
        jitter_p: float = 0.05,
    ):
        self.clips = list(clips)
        self.inter = intermediate_tokenizer(intermediate)
        self.chars = CharTokenizer()
        self.augment, self.flip_p, self.jitter_p = augment, flip_p, jitter_p

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> dict:
        clip = self.clips[index]
        frames, landmarks = standardize(clip.frames), torch.from_numpy(clip.landmarks)
        if self.augment:
            if float(torch.rand(())) < self.flip_p:
                frames, landmarks = flip_clip(frames, landmarks)
            keep = jitter_indices(frames.shape[1], self.jitter_p)
            frames, landmarks = frames[:, keep], landmarks[keep]
        return {
            "frames": frames,
            "landmarks": landmarks,
            "text": clip.text,
            "inter": self.inter.encode(clip.text),
            "chars": self.chars.encode(clip.text),
            "ctc": ctc_encode(clip.text),
        }


def collate_lips(items: Sequence[dict]) -> dict:
    """Zero-padded batch: ``frames [B, C, T, H, W]``, ``landmarks [B, T, K, 2]``, ``lengths``, decoder inputs
    ``<sos> y`` and targets ``y <eos>`` of both levels, CTC targets and their lengths, and the texts."""
    lengths = torch.tensor([item["frames"].shape[1] for item in items])
    c, _, h, w = items[0]["frames"].shape
    frames = torch.zeros(len(items), c, int(lengths.max()), h, w)
    landmarks = torch.zeros(len(items), int(lengths.max()), *items[0]["landmarks"].shape[1:])
    for i, item in enumerate(items):
        frames[i, :, : lengths[i]] = item["frames"]
        landmarks[i, : lengths[i]] = item["landmarks"]
    batch = {"frames": frames, "landmarks": landmarks, "lengths": lengths, "texts": [item["text"] for item in items]}
    for key in ("inter", "chars"):
        name = "char" if key == "chars" else key
        batch[f"{name}_in"] = pad_sequences([[SOS, *item[key]] for item in items])
        batch[f"{name}_out"] = pad_sequences([[*item[key], EOS] for item in items])
    batch["ctc_targets"] = pad_sequences([item["ctc"] for item in items])
    batch["ctc_lengths"] = torch.tensor([len(item["ctc"]) for item in items])
    return batch
