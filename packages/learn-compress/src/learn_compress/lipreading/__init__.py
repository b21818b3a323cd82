"""Sentence-level lipreading: LipFormer, its visual-only ablation and the LipNet-style CTC baseline.

Importing this package registers ``LipFormer``, ``VisualOnly`` and ``LipNetCTC`` in
:data:`learn_compress.registry.MODELS`.
"""

from .dataset import LipClip, LipDataset, collate_lips, flip_clip, load_clip, load_clips, standardize
from .decoding import beam_search, ctc_greedy, greedy_search
from .landmark_stream import landmark_features
from .lipformer import LipFormer, LipFormerConfig, visual_only
from .lipnet import LipNetConfig, LipNetCTC
from .trainer import LipReadingTrainer, LipTrainConfig, evaluate_lipreading, transcribe
from .vocab import CHARACTERS, PHONEMES, VISEMES, CharTokenizer, LexiconTokenizer

__all__ = [
    "CHARACTERS",
    "PHONEMES",
    "VISEMES",
    "CharTokenizer",
    "LexiconTokenizer",
    "LipClip",
    "LipDataset",
    "LipFormer",
    "LipFormerConfig",
    "LipNetCTC",
    "LipNetConfig",
    "LipReadingTrainer",
    "LipTrainConfig",
    "beam_search",
    "collate_lips",
    "ctc_greedy",
    "evaluate_lipreading",
    "flip_clip",
    "greedy_search",
    "landmark_features",
    "load_clip",
    "load_clips",
    "standardize",
    "transcribe",
    "visual_only",
]
