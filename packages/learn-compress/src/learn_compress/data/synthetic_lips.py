"""The synthetic "talking mouth" corpus (``compress-common.md`` section 4; the whole design is assumed).

Appearance depends only on the speaker, motion and landmarks only on the text, so unseen-speaker
generalisation is measurable. A GRID sentence becomes phonemes (the GRID lexicon), then visemes
(12 classes, each a target of the mouth parameters open, width, round, teeth, tongue), held for
``frames_per_phoneme`` frames with one silence frame between words and two at each end, then smoothed
over time with a Gaussian of sigma 0.8 frames (co-articulation). The parameters drive a canonical
68-point face (lip contours as ellipses, a jaw that drops as the mouth opens, fixed brows, nose and
eyes). A speaker is a similarity transform (scale, offset, rotation) plus colours, lip thickness, a
fixed texture and the darkness of the mouth interior; the rendered crop shows the teeth and the tongue,
which the landmarks never carry, so landmarks alone cannot tell some visemes apart.

Values used (frozen): the speaker ranges of the specification (scale 0.75-1.25, offset up to 12 % of the
frame, rotation up to 8 degrees, lip thickness 0.6-1.4, texture amplitude 0-0.25), ``landmark_noise`` 0.01
of the inter-ocular distance, ``frames_per_phoneme`` 2, crops 32x64x1 by default (the quick bench renders
16x32x1 to fit its time budget). ``write_grid_layout`` writes ``.npy`` frames, ``.align`` files and
``[T, 68, 2]`` landmarks, so the bench reads the corpus through the real GRID reader.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.special import expit

from .grid import GRID_GRAMMAR, GRID_LEXICON, encode_stem, write_align

VISEME_NAMES = ("sil", "PBM", "FV", "TH", "TDNLSZ", "CH", "KG", "WR", "AA", "AE", "IY", "OY")
_VISEME_PHONEMES = {
    "PBM": "P B M", "FV": "F V", "TH": "TH DH", "TDNLSZ": "T D N L S Z", "CH": "CH JH SH ZH",
    "KG": "K G NG HH", "WR": "W R UW UH OW", "AA": "AA AO AW AH AY", "AE": "AE EH EY ER", "IY": "IY IH Y", "OY": "OY",
}  # fmt: skip
PHONEME_TO_VISEME = {p: VISEME_NAMES.index(v) for v, ps in _VISEME_PHONEMES.items() for p in ps.split()}
"""ARPAbet phoneme -> viseme class (0 is silence)."""

VISEME_TARGETS = np.array(
    [  # open, width, round, teeth, tongue
        [0.05, 0.50, 0.20, 0.0, 0.0],  # silence
        [0.00, 0.45, 0.20, 0.0, 0.0],  # P B M: lips closed
        [0.15, 0.55, 0.10, 1.0, 0.0],  # F V: teeth on lip
        [0.30, 0.55, 0.10, 0.6, 1.0],  # TH DH: tongue
        [0.25, 0.60, 0.10, 0.8, 0.5],  # T D N L S Z
        [0.30, 0.35, 0.70, 0.9, 0.2],  # CH JH SH ZH: rounded
        [0.45, 0.55, 0.20, 0.2, 0.2],  # K G NG HH
        [0.30, 0.20, 1.00, 0.1, 0.1],  # W R UW UH OW: round
        [1.00, 0.60, 0.20, 0.3, 0.4],  # open vowels
        [0.65, 0.70, 0.10, 0.5, 0.3],  # mid vowels
        [0.35, 1.00, 0.00, 0.8, 0.2],  # spread
        [0.70, 0.40, 0.80, 0.2, 0.6],  # OY
    ],
    dtype=np.float64,
)


@dataclass(frozen=True)
class SyntheticLipConfig:
    """Knobs of the corpus (defaults: the quick-bench values)."""

    height: int = 32
    width: int = 64
    channels: int = 1
    frames_per_phoneme: int = 2
    words_per_sentence: int = 6
    coarticulation_sigma: float = 0.8
    landmark_noise: float = 0.01
    world_seed: int = 0
    scale_range: tuple[float, float] = (0.75, 1.25)
    max_offset: float = 0.12
    max_rotation_deg: float = 8.0
    thickness_range: tuple[float, float] = (0.6, 1.4)
    max_texture: float = 0.25
    edge_sharpness: float = 10.0


@dataclass(frozen=True)
class SpeakerStyle:
    """Appearance of one speaker (fixed by the speaker id and ``world_seed``)."""

    scale: float
    offset: tuple[float, float]
    rotation: float
    skin: np.ndarray
    lip: np.ndarray
    interior: np.ndarray
    thickness: float
    texture: np.ndarray


@dataclass
class LipSample:
    text: str
    speaker: str
    frames: np.ndarray  # uint8 [T, H, W, C]
    landmarks: np.ndarray  # float32 [T, 68, 2], pixels of the crop
    segments: list[tuple[float, float, str]]  # (start_frame, end_frame, word), silences included


def _circle(n: int, start: float, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``n`` points ``[T, n, 2]`` on ellipses of half-axes ``a``, ``b`` [T] from angle ``start`` (y down)."""
    phi = start + np.arange(n) * 2 * np.pi / n
    return np.stack([a[:, None] * np.cos(phi), b[:, None] * np.sin(phi)], axis=-1)


def canonical_shape(params: np.ndarray) -> np.ndarray:
    """The 68 canonical points ``[T, 68, 2]`` (inter-ocular distance 1, mouth centre at 0, y down)."""
    open_, width, round_ = params[:, 0], params[:, 1], params[:, 2]
    t = len(params)
    half_width = 0.30 + 0.15 * width - 0.12 * round_
    inner_height = 0.01 + 0.14 * open_ + 0.03 * round_
    outer = _circle(12, np.pi, half_width, inner_height + 0.07)
    inner = _circle(8, np.pi, 0.8 * half_width, inner_height)
    psi = np.linspace(0, np.pi, 17)
    jaw = np.stack(
        [np.broadcast_to(-0.95 * np.cos(psi), (t, 17)), -1.0 + (1.3 + 0.25 * open_[:, None]) * np.sin(psi)], axis=-1
    )
    brows = np.concatenate([np.linspace(-0.8, -0.2, 5), np.linspace(0.2, 0.8, 5)])
    fixed = np.concatenate(
        [
            np.stack([brows, np.full(10, -1.55)], axis=-1),
            np.stack([np.zeros(4), np.linspace(-1.2, -0.7, 4)], axis=-1),  # nose bridge 27-30
            np.stack([np.linspace(-0.15, 0.15, 5), np.full(5, -0.55)], axis=-1),  # nostrils 31-35, tip 33
            _circle(6, np.pi, np.full(1, 0.12), np.full(1, 0.05))[0] + [-0.5, -1.3],  # eyes 36-41, 42-47
            _circle(6, np.pi, np.full(1, 0.12), np.full(1, 0.05))[0] + [0.5, -1.3],
        ]
    )
    return np.concatenate([jaw, np.broadcast_to(fixed, (t, 31, 2)), outer, inner], axis=1)


class SyntheticLipCorpus:
    """Render GRID sentences spoken by synthetic speakers (see the module docstring)."""

    def __init__(self, config: SyntheticLipConfig | None = None):
        self.config = config or SyntheticLipConfig()
        c = self.config
        self.pixels_per_unit = 0.55 * c.width
        ys, xs = np.mgrid[0 : c.height, 0 : c.width].astype(np.float64)
        self._grid = np.stack([xs - (c.width - 1) / 2, ys - (c.height - 1) / 2], axis=-1)  # [H, W, 2]

    # -- text and motion -------------------------------------------------------------------------
    def sentences(self, n: int, seed: int) -> list[str]:
        """``n`` distinct GRID sentences (each slot uniform), seeded."""
        rng = np.random.default_rng(seed)
        slots = list(GRID_GRAMMAR.values())[: self.config.words_per_sentence]
        chosen: dict[str, None] = {}
        while len(chosen) < n:
            chosen[" ".join(str(words[rng.integers(len(words))]) for words in slots)] = None
        return list(chosen)

    def trajectory(self, text: str) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
        """Mouth parameters ``[T, 5]`` of ``text`` and its word segments in frames (a function of the text only)."""
        fpp = self.config.frames_per_phoneme
        visemes, segments = [0, 0], [(0.0, 2.0, "sil")]
        for i, word in enumerate(text.split()):
            if i > 0:
                segments.append((len(visemes), len(visemes) + 1.0, "sp"))
                visemes.append(0)
            start = len(visemes)
            visemes += [PHONEME_TO_VISEME[p] for p in GRID_LEXICON[word] for _ in range(fpp)]
            segments.append((float(start), float(len(visemes)), word))
        segments.append((float(len(visemes)), len(visemes) + 2.0, "sil"))
        visemes += [0, 0]
        params = gaussian_filter1d(VISEME_TARGETS[visemes], self.config.coarticulation_sigma, axis=0, mode="nearest")
        return params, segments

    # -- speakers --------------------------------------------------------------------------------
    def speaker_style(self, speaker: str) -> SpeakerStyle:
        c = self.config
        rng = np.random.default_rng([c.world_seed, zlib.crc32(speaker.encode())])
        skin = rng.uniform(0.45, 0.85, c.channels)
        return SpeakerStyle(
            scale=float(rng.uniform(*c.scale_range)),
            offset=(
                float(rng.uniform(-1, 1) * c.max_offset * c.width),
                float(rng.uniform(-1, 1) * c.max_offset * c.height),
            ),
            rotation=float(np.deg2rad(rng.uniform(-1, 1) * c.max_rotation_deg)),
            skin=skin,
            lip=skin * rng.uniform(0.3, 0.75, c.channels),
            interior=rng.uniform(0.02, 0.25, c.channels),
            thickness=float(rng.uniform(*c.thickness_range)),
            texture=rng.uniform(0, c.max_texture) * rng.standard_normal((c.height, c.width)),
        )

    def _to_pixels(self, points: np.ndarray, style: SpeakerStyle) -> np.ndarray:
        cos, sin = np.cos(style.rotation), np.sin(style.rotation)
        rotated = points @ np.array([[cos, sin], [-sin, cos]])
        centre = np.array([(self.config.width - 1) / 2, (self.config.height - 1) / 2]) + style.offset
        return rotated * style.scale * self.pixels_per_unit + centre

    def _canonical_grid(self, style: SpeakerStyle) -> tuple[np.ndarray, np.ndarray]:
        """Canonical coordinates ``(u, v)`` of every pixel of the crop for this speaker."""
        cos, sin = np.cos(style.rotation), np.sin(style.rotation)
        shifted = (self._grid - style.offset) / (style.scale * self.pixels_per_unit)
        canon = shifted @ np.array([[cos, sin], [-sin, cos]]).T
        return canon[..., 0], canon[..., 1]

    # -- rendering -------------------------------------------------------------------------------
    def _ellipse(self, u: np.ndarray, v: np.ndarray, a: np.ndarray, b: np.ndarray, dy: float | np.ndarray = 0.0):
        """Soft inside-mask ``[T, H, W]`` of ellipses with half-axes ``a``, ``b`` [T]."""
        a, b, dy = (np.broadcast_to(np.asarray(x, dtype=np.float64), a.shape)[:, None, None] for x in (a, b, dy))
        radius = np.sqrt((u / a) ** 2 + ((v - dy) / b) ** 2)
        return expit(self.config.edge_sharpness * (1 - radius))

    def render_frames(self, params: np.ndarray, style: SpeakerStyle) -> np.ndarray:
        """The mouth crops ``uint8 [T, H, W, C]`` of a trajectory for one speaker."""
        open_, width, round_, teeth, tongue = params.T
        u, v = self._canonical_grid(style)
        half_width = 0.30 + 0.15 * width - 0.12 * round_
        inner_a, inner_b = 0.8 * half_width, 0.01 + 0.14 * open_ + 0.03 * round_
        lips = self._ellipse(u, v, inner_a + style.thickness * (half_width - inner_a), inner_b + style.thickness * 0.07)
        interior = self._ellipse(u, v, inner_a, inner_b)
        teeth_mask = interior * teeth[:, None, None] * expit(25 * (-v / inner_b[:, None, None] - 0.25))
        tongue_mask = (
            self._ellipse(u, v, 0.5 * inner_a, 0.6 * inner_b, 0.5 * inner_b) * interior * tongue[:, None, None]
        )
        image = style.skin * (1 - lips[..., None]) + style.lip * (lips - interior)[..., None]
        image = (
            image + style.interior * interior[..., None] + style.texture[None, :, :, None] * (1 - interior[..., None])
        )
        image = image * (1 - teeth_mask[..., None]) + 0.95 * teeth_mask[..., None]
        image = image * (1 - tongue_mask[..., None]) + 0.55 * tongue_mask[..., None]
        return np.clip(np.rint(255 * image), 0, 255).astype(np.uint8)

    def render(self, text: str, speaker: str, sample_seed: int = 0) -> LipSample:
        """One clip: frames, ``[T, 68, 2]`` landmarks in crop pixels (with observation noise), segments."""
        params, segments = self.trajectory(text)
        style = self.speaker_style(speaker)
        landmarks = self._to_pixels(canonical_shape(params), style)
        noise_rng = np.random.default_rng(
            [self.config.world_seed, sample_seed, zlib.crc32(f"{speaker}/{text}".encode())]
        )
        scale = self.config.landmark_noise * style.scale * self.pixels_per_unit  # inter-ocular distance is 1 unit
        landmarks = landmarks + scale * noise_rng.standard_normal(landmarks.shape)
        return LipSample(text, speaker, self.render_frames(params, style), landmarks.astype(np.float32), segments)


def write_grid_layout(
    root: str | os.PathLike,
    sentences_per_speaker: Mapping[str, int],
    corpus: SyntheticLipCorpus | None = None,
    sample_seed: int = 0,
) -> list[Path]:
    """Write clips in the GRID layout: ``s{k}/<stem>.npy``, ``align/s{k}/<stem>.align``, ``landmarks/s{k}/<stem>.npy``.

    Every speaker gets its own seeded distinct sentences; returns the frame files written.
    """
    corpus = corpus or SyntheticLipCorpus()
    root = Path(root)
    written = []
    for speaker, count in sentences_per_speaker.items():
        seed = zlib.crc32(f"{sample_seed}/{speaker}".encode())
        for text in corpus.sentences(count, seed):  # stems are one-to-one with 6-word sentences
            sample = corpus.render(text, speaker, sample_seed)
            stem = encode_stem(text)
            (root / speaker).mkdir(parents=True, exist_ok=True)
            (root / "landmarks" / speaker).mkdir(parents=True, exist_ok=True)
            np.save(root / speaker / f"{stem}.npy", sample.frames)
            np.save(root / "landmarks" / speaker / f"{stem}.npy", sample.landmarks)
            write_align(root / "align" / speaker / f"{stem}.align", sample.segments)
            written.append(root / speaker / f"{stem}.npy")
    return written
