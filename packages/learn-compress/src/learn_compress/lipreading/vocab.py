"""Token vocabularies of the lipreading models (``lipformer.md`` section 1.5).

Characters: 0 ``<pad>``, 1 ``<sos>``, 2 ``<eos>``, 3 space, 4-29 ``a``-``z`` (30 symbols). Phonemes:
0 ``<pad>``, 1 ``<sos>``, 2 ``<eos>``, 3 ``|`` (word boundary), then the 39 ARPAbet phonemes in
alphabetical order (43 symbols). Visemes (the synthetic corpus map): the same four specials and the 11
non-silence viseme classes. Any object with ``vocab`` (a :class:`Vocabulary`), ``encode(text)`` and
``decode(ids)`` can serve as the intermediate unit of the cascade (pinyin for Mandarin in the paper).
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass

from ..data.grid import ARPABET, GRID_LEXICON
from ..data.synthetic_lips import PHONEME_TO_VISEME, VISEME_NAMES

PAD, SOS, EOS = 0, 1, 2
SPECIALS = ("<pad>", "<sos>", "<eos>")


@dataclass(frozen=True)
class Vocabulary:
    """Symbols by id (ids 0-2 are ``<pad>``, ``<sos>``, ``<eos>``)."""

    symbols: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.symbols[:3] != SPECIALS:
            raise ValueError(f"a vocabulary starts with {SPECIALS}, got {self.symbols[:3]}")

    def __len__(self) -> int:
        return len(self.symbols)

    def ids(self, symbols: Sequence[str]) -> list[int]:
        index = {s: i for i, s in enumerate(self.symbols)}
        return [index[s] for s in symbols]

    def symbols_of(self, ids: Sequence[int]) -> list[str]:
        """Symbols up to the first ``<eos>``, specials dropped."""
        out = []
        for i in ids:
            if i == EOS:
                break
            if i >= len(SPECIALS):
                out.append(self.symbols[i])
        return out


CHARACTERS = Vocabulary((*SPECIALS, " ", *string.ascii_lowercase))
PHONEMES = Vocabulary((*SPECIALS, "|", *ARPABET))
VISEMES = Vocabulary((*SPECIALS, "|", *VISEME_NAMES[1:]))


class CharTokenizer:
    """Text <-> character ids (lower case; characters outside ``a-z`` and space raise ``KeyError``)."""

    vocab = CHARACTERS

    def encode(self, text: str) -> list[int]:
        return self.vocab.ids(list(" ".join(text.lower().split())))

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(self.vocab.symbols_of(ids))


class LexiconTokenizer:
    """Text -> phonemes (GRID lexicon) or visemes, with ``|`` between words."""

    def __init__(self, unit: str = "phoneme"):
        if unit not in ("phoneme", "viseme"):
            raise ValueError(f"unit must be 'phoneme' or 'viseme', got {unit!r}")
        self.unit = unit
        self.vocab = PHONEMES if unit == "phoneme" else VISEMES

    def _symbol(self, phoneme: str) -> str:
        return phoneme if self.unit == "phoneme" else VISEME_NAMES[PHONEME_TO_VISEME[phoneme]]

    def encode(self, text: str) -> list[int]:
        symbols: list[str] = []
        for i, word in enumerate(text.lower().split()):
            symbols += (["|"] if i else []) + [self._symbol(p) for p in GRID_LEXICON[word]]
        return self.vocab.ids(symbols)

    def decode(self, ids: Sequence[int]) -> str:
        return " ".join(self.vocab.symbols_of(ids))


def intermediate_tokenizer(unit):
    """The tokenizer of the cascade's intermediate level: ``"phoneme"``, ``"viseme"``, ``"char"`` or an object."""
    if not isinstance(unit, str):
        return unit
    return CharTokenizer() if unit == "char" else LexiconTokenizer(unit)
