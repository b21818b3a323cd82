"""The GRID audio-visual corpus: layout, ``.align`` parser, grammar, lexicon, splits and frame reading.

``compress-common.md`` section 4. Per speaker the reader accepts frames as a video (``.mpg``/``.mp4``,
decoded with PyAV only when it is importable: torchvision's reader needs PyAV or an ffmpeg build, and
PyAV is the one of the two that is a plain pip package), a ``.npy`` array ``uint8 [T, H, W, C]`` or a
folder of per-frame PNGs; the alignment in ``<root>/align/s{k}/``, ``<root>/s{k}/align/`` or beside
the frames (tried in that order); landmarks in ``<root>/landmarks/s{k}/<stem>.npy`` or
``<root>/s{k}/<stem>.landmarks.npy`` (read by :mod:`learn_compress.data.landmarks`).

The lexicon (stress-free ARPAbet, 39 phonemes) is ours (assumed), written for this package.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lab_common import DataFormatError

GRID_GRAMMAR: dict[str, tuple[str, ...]] = {
    "command": ("bin", "lay", "place", "set"),
    "colour": ("blue", "green", "red", "white"),
    "preposition": ("at", "by", "in", "with"),
    "letter": tuple("abcdefghijklmnopqrstuvxyz"),
    "digit": ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
    "adverb": ("again", "now", "please", "soon"),
}
"""The six slots of a GRID sentence and their words (51 words; the letter slot has no ``w``)."""

_DIGITS = "z123456789"  # GRID file names write zero as "z"

GRID_LEXICON: dict[str, tuple[str, ...]] = {
    word: tuple(pron.split())
    for word, pron in {
        "bin": "B IH N", "lay": "L EY", "place": "P L EY S", "set": "S EH T",
        "blue": "B L UW", "green": "G R IY N", "red": "R EH D", "white": "W AY T",
        "at": "AE T", "by": "B AY", "in": "IH N", "with": "W IH DH",
        "a": "EY", "b": "B IY", "c": "S IY", "d": "D IY", "e": "IY", "f": "EH F", "g": "JH IY", "h": "EY CH",
        "i": "AY", "j": "JH EY", "k": "K EY", "l": "EH L", "m": "EH M", "n": "EH N", "o": "OW", "p": "P IY",
        "q": "K Y UW", "r": "AA R", "s": "EH S", "t": "T IY", "u": "Y UW", "v": "V IY", "x": "EH K S",
        "y": "W AY", "z": "Z IY",
        "zero": "Z IH R OW", "one": "W AH N", "two": "T UW", "three": "TH R IY", "four": "F AO R",
        "five": "F AY V", "six": "S IH K S", "seven": "S EH V AH N", "eight": "EY T", "nine": "N AY N",
        "again": "AH G EH N", "now": "N AW", "please": "P L IY Z", "soon": "S UW N",
    }.items()
}  # fmt: skip
"""Stress-free ARPAbet pronunciation of each GRID word (assumed, ``compress-common.md`` section 4)."""

ARPABET: tuple[str, ...] = tuple(
    "AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y Z ZH".split()
)
"""The 39 ARPAbet phonemes without stress, in alphabetical order (the phoneme vocabulary of ``lipformer.md`` 1.5)."""

UNSEEN_TEST_SPEAKERS: tuple[str, ...] = ("s1", "s2", "s20", "s22")
SILENCE_TOKENS = frozenset({"sil", "sp"})
VIDEO_SUFFIXES = (".mpg", ".mp4")
ALIGN_UNITS_PER_FRAME = 1000
"""``.align`` times are in 1/1000 frame (25,000 units per second at 25 fps)."""


def decode_stem(stem: str) -> str:
    """The sentence a GRID file name encodes: ``"swwp2s"`` -> ``"set white with p two soon"``."""
    if len(stem) != 6:
        raise ValueError(
            f"a GRID stem has 6 characters (command, colour, preposition, letter, digit, adverb): {stem!r}"
        )
    words = []
    for (slot, choices), code in zip(GRID_GRAMMAR.items(), stem.lower()):
        if slot == "digit":
            matches = [choices[_DIGITS.index(code)]] if code in _DIGITS else ["zero"] if code == "0" else []
        else:
            matches = [w for w in choices if w[0] == code] if slot != "letter" else [code] if code in choices else []
        if len(matches) != 1:
            raise ValueError(f"GRID stem {stem!r}: {code!r} is not a {slot} code")
        words.append(matches[0])
    return " ".join(words)


def encode_stem(text: str) -> str:
    """The file stem of a GRID sentence (inverse of :func:`decode_stem`)."""
    words = text.lower().split()
    if len(words) != 6:
        raise ValueError(f"a GRID sentence has 6 words, got {text!r}")
    return "".join(
        _DIGITS[GRID_GRAMMAR["digit"].index(w)] if slot == "digit" else w[0] for slot, w in zip(GRID_GRAMMAR, words)
    )


def phonemes_of(text: str) -> list[list[str]]:
    """The lexicon pronunciation of every word of ``text`` (a word outside the lexicon raises ``KeyError``)."""
    return [list(GRID_LEXICON[w]) for w in text.lower().split()]


def parse_align(path: str | os.PathLike) -> list[tuple[float, float, str]]:
    """Segments ``(start_frame, end_frame, word)`` of a ``.align`` file, silences included.

    Each line is ``start end token`` with integer times in 1/1000 frame; a malformed line raises
    :class:`DataFormatError` naming the file and the line.
    """
    segments = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 3 or not (fields[0].isdigit() and fields[1].isdigit()):
                raise DataFormatError(path, number, "'start end word' with integer times", repr(line.rstrip("\n")))
            start, end = int(fields[0]), int(fields[1])
            if end < start:
                raise DataFormatError(path, number, "end >= start", f"{start} > {end}")
            segments.append((start / ALIGN_UNITS_PER_FRAME, end / ALIGN_UNITS_PER_FRAME, fields[2].lower()))
    if not segments:
        raise DataFormatError(path, None, "at least one 'start end word' line", "an empty file")
    return segments


def align_transcript(segments: Sequence[tuple[float, float, str]]) -> str:
    """The sentence of parsed segments: words other than ``sil``/``sp`` joined by single spaces."""
    return " ".join(word for _, _, word in segments if word not in SILENCE_TOKENS)


def write_align(path: str | os.PathLike, segments: Sequence[tuple[float, float, str]]) -> None:
    """Write segments ``(start_frame, end_frame, word)`` in the ``.align`` format."""
    lines = [
        f"{round(s * ALIGN_UNITS_PER_FRAME)} {round(e * ALIGN_UNITS_PER_FRAME)} {word}\n" for s, e, word in segments
    ]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("".join(lines), encoding="utf-8")


@dataclass(frozen=True)
class GridClip:
    """One GRID utterance: where its frames, alignment and (optional) landmarks are."""

    speaker: str
    stem: str
    frames: Path
    align: Path | None
    landmarks: Path | None

    @property
    def key(self) -> str:
        return f"{self.speaker}/{self.stem}"


def _speaker_number(name: str) -> int:
    return int(name[1:]) if re.fullmatch(r"s\d+", name) else 10**6


def _frame_sources(folder: Path) -> dict[str, Path]:
    """Stem -> frame source of one speaker folder (an ``.npy`` array wins over a video, then a PNG folder)."""
    sources: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.is_dir() and path.name != "align" and any(path.glob("*.png")):
            sources.setdefault(path.name, path)
        elif path.suffix in VIDEO_SUFFIXES:
            sources.setdefault(path.stem, path)
        elif path.suffix == ".npy" and not path.name.endswith(".landmarks.npy"):
            sources[path.stem] = path
    return sources


def find_align(root: Path, speaker: str, stem: str, flat_align: bool = False) -> Path | None:
    """The ``.align`` of a clip, looked up in the three per-speaker places (then ``align/`` if ``flat_align``)."""
    candidates = [root / "align" / speaker, root / speaker / "align", root / speaker]
    if flat_align:
        candidates.append(root / "align")
    for folder in candidates:
        if (folder / f"{stem}.align").is_file():
            return folder / f"{stem}.align"
    return None


def find_landmarks(root: Path, speaker: str, stem: str) -> Path | None:
    for path in (root / "landmarks" / speaker / f"{stem}.npy", root / speaker / f"{stem}.landmarks.npy"):
        if path.is_file():
            return path
    return None


def scan_grid(
    root: str | os.PathLike, speakers: Sequence[str] | None = None, flat_align: bool = False
) -> list[GridClip]:
    """Every clip under a GRID-layout ``root`` (speaker folders ``s1``..``s34``), sorted by speaker then stem."""
    root = Path(root)
    if not root.is_dir():
        raise DataFormatError(root, None, "a GRID folder with speaker folders s1..s34", "no such folder")
    names = speakers or sorted(
        (p.name for p in root.iterdir() if p.is_dir() and re.fullmatch(r"s\d+", p.name)), key=_speaker_number
    )
    clips = [
        GridClip(
            speaker, stem, source, find_align(root, speaker, stem, flat_align), find_landmarks(root, speaker, stem)
        )
        for speaker in names
        if (root / speaker).is_dir()
        for stem, source in _frame_sources(root / speaker).items()
    ]
    if not clips:
        raise DataFormatError(root, None, "speaker folders with .npy/.mpg/.mp4 clips or PNG frame folders", "no clip")
    return clips


def clip_transcript(clip: GridClip) -> str:
    """The sentence of a clip: from its ``.align`` when there is one, else decoded from its stem."""
    return align_transcript(parse_align(clip.align)) if clip.align is not None else decode_stem(clip.stem)


def read_frames(path: str | os.PathLike) -> np.ndarray:
    """Frames ``uint8 [T, H, W, C]`` of a ``.npy`` array, a PNG frame folder or (with PyAV) a video."""
    path = Path(path)
    if path.is_dir():
        return _read_png_folder(path)
    if path.suffix == ".npy":
        frames = np.load(path, allow_pickle=False)
        if frames.dtype != np.uint8 or frames.ndim != 4:
            raise DataFormatError(path, None, "uint8 frames [T, H, W, C]", f"{frames.dtype} {tuple(frames.shape)}")
        return frames
    if path.suffix in VIDEO_SUFFIXES:
        return _read_video(path)
    raise DataFormatError(path, None, "a .npy array, a PNG folder or a .mpg/.mp4 video", f"suffix {path.suffix!r}")


def _read_png_folder(folder: Path) -> np.ndarray:
    from PIL import Image

    files = sorted(folder.glob("*.png"))
    if not files:
        raise DataFormatError(folder, None, "one .png per frame", "no .png file")
    frames = []
    for file in files:
        with Image.open(file) as image:
            array = np.asarray(image)
        frames.append(array[..., None] if array.ndim == 2 else array[..., :3])
    shapes = {f.shape for f in frames}
    if len(shapes) != 1:
        raise DataFormatError(folder, None, "frames of one size", f"sizes {sorted(shapes)}")
    return np.stack(frames).astype(np.uint8)


def pyav_available() -> bool:
    return importlib.util.find_spec("av") is not None


def _read_video(path: Path) -> np.ndarray:
    """Decode a video with PyAV (RGB frames; PyAV bundles FFmpeg, so no system decoder is needed: the
    ``video`` extra of the package installs it); without PyAV raise an error that says what to do."""
    if not pyav_available():
        raise DataFormatError(
            path,
            None,
            "a video decoder: install PyAV (pip install av) or pre-extract the frames as <stem>.npy or a PNG folder",
            "PyAV is not installed",
        )
    import av

    try:
        with av.open(str(path)) as container:
            frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    except av.FFmpegError as error:
        raise DataFormatError(path, None, "a video PyAV can decode", f"{type(error).__name__}: {error}") from None
    if not frames:
        raise DataFormatError(path, None, "at least one video frame", "none")
    return np.stack(frames)


def grid_split(
    name: str,
    clips: Sequence[GridClip],
    seed: int = 0,
    held_out_per_speaker: int = 255,
    test_speakers: Sequence[str] = UNSEEN_TEST_SPEAKERS,
) -> tuple[list[GridClip], list[GridClip]]:
    """``(train, test)`` of the ``"unseen"`` or ``"overlapped"`` GRID split.

    Unseen: test = the clips of ``test_speakers`` (s1, s2, s20, s22), train = every other speaker.
    Overlapped: every speaker in both; ``held_out_per_speaker`` seeded random sentences per speaker are
    held out for test (255 in GRID; fewer when a speaker has fewer clips than twice that).
    """
    if name == "unseen":
        test = [c for c in clips if c.speaker in test_speakers]
        return [c for c in clips if c.speaker not in test_speakers], test
    if name != "overlapped":
        raise ValueError(f"split must be 'unseen' or 'overlapped', got {name!r}")
    rng = np.random.default_rng(seed)
    train, test = [], []
    for speaker in dict.fromkeys(c.speaker for c in clips):
        own = [c for c in clips if c.speaker == speaker]
        held = set(rng.permutation(len(own))[: min(held_out_per_speaker, len(own) // 2)].tolist())
        for i, clip in enumerate(own):
            (test if i in held else train).append(clip)
    return train, test
