"""Synthetic clinical interviews whose depression cue lives in a few topics only (``compress-common.md`` §5).

Assumed design (no such corpus exists in the paper): a bank of 24 interviewer questions, three of which
(``sleep``, ``mood``, ``diagnosis``) are cue topics. Non-cue answers have the same distribution for both
classes, negative "distractor" phrases included; in cue topics a depressed subject's answer carries cue
phrases (same vocabulary as the distractors) and is spoken with flatter pitch, less energy, a slower rate and
longer pauses. So the label is readable only from *which* topics hold the negative words and the flat voice:
the situation topic attention is built for. :func:`write_daicwoz_layout` writes the DAIC-WOZ layout so the
benchmark reads the corpus through :func:`~learn_compress.data.daicwoz.load_daicwoz`.

Values (``SyntheticInterviewConfig`` defaults): cue rate 0.8 with 3 cue phrases per cue answer (raised
from 1, with which the text branch stayed at dev F1 <= 0.5 in our first runs, topic positions on);
distractor rate 0.15 with 1 phrase; cue-topic inclusion 0.8; voice changes F0 variability x0.3, energy
x0.5, rate x0.7. Measured with the CPU recipe of ``learn_compress.benchmarks.toat`` (seed 0): text branch
with topic attention F1 0.96-1.0 and cue attention 4.4x uniform, with mean pooling 0.70; the audio cue is
barely learned (audio F1 0-0.12).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io.wavfile
import torch

from .daicwoz import Interview, Topic

SPLIT_FILE = "{}_split_Depression_AVEC2017.csv"
CUE_TOPICS = ("sleep", "mood", "diagnosis")
TOPIC_BANK = {
    "sleep": ("how easy is it for you to get a good night's sleep", "sleep bed night wake rest dream morning alarm"),
    "mood": ("how have you been feeling lately", "feeling week days lately mood mostly pretty generally"),
    "diagnosis": ("have you ever been diagnosed with depression", "doctor therapist diagnosed years ago treatment"),
    "relax": ("what do you do to relax", "music walk read garden movies cook beach yoga"),
    "hometown": ("where are you from originally", "town city grew up born moved country neighborhood"),
    "job": ("what do you do for a living", "work job office company boss customers shift hours"),
    "family": ("tell me about your family", "mother father brother sister kids cousins close parents"),
    "travel": ("do you travel a lot", "trip flight europe road hotel vacation visit abroad"),
    "proud": ("what are you most proud of in your life", "proud graduated degree raised achieved built finished son"),
    "argument": ("when was the last time you argued with someone", "argued fight yelled disagreed partner roommate"),
    "advice": ("what advice would you give to yourself ten years ago", "advice younger save listen school careful"),
    "friends": ("how would your best friend describe you", "friend funny loyal honest kind reliable outgoing"),
    "la": ("how do you like living in los angeles", "traffic weather sunny beach crowded expensive freeway"),
    "study": ("what did you study at school", "college major classes engineering history degree teacher"),
    "hobby": ("what are some things you really enjoy", "hobby painting guitar hiking soccer games fishing"),
    "memory": ("what is one of your most memorable experiences", "remember wedding concert birthday trip summer"),
    "regret": ("is there anything you regret", "regret wish chance choice decision different missed"),
    "dream": ("what is your dream job", "dream pilot chef artist business owner design start"),
    "personality": ("do you consider yourself an introvert", "shy outgoing introvert extrovert quiet people social"),
    "temper": ("how are you at controlling your temper", "calm temper angry patience control cool react"),
    "parents": ("how close are you to your parents", "parents close call visit phone sunday dinner"),
    "weekend": ("what did you do last weekend", "weekend saturday sunday party barbecue movie park"),
    "ideal": ("what would your ideal weekend look like", "ideal sleep late brunch friends beach hike relax"),
    "change": ("what are you like when you are not feeling well", "change tired quiet stay home alone rest"),
}  # fmt: skip
NEGATIVE_PHRASES = (
    "tired all the time", "hopeless", "exhausted", "empty inside", "worthless", "no energy", "sad",
    "can't sleep", "lonely", "really down", "no interest", "crying a lot",
)  # fmt: skip
FILLERS = "um uh like you know i guess so well just and the really kind of it's".split()
INTERVIEWER_F0 = 210.0


@dataclass
class SyntheticInterviewConfig:
    """Knobs of :func:`make_synthetic_interviews` (defaults: the quick CPU recipe of ``toat.md`` §2)."""

    topics_per_interview: int = 10
    prevalence: float = 0.3
    cue_topic_prob: float = 0.8
    cue_rate: float = 0.8
    cue_phrases: int = 3
    distractor_rate: float = 0.15
    distractor_phrases: int = 1
    min_words: int = 5
    max_words: int = 25
    word_seconds: float = 0.25
    max_topic_seconds: float = 3.0
    cue_f0_variability: float = 0.3
    cue_energy: float = 0.5
    cue_rate_factor: float = 0.7
    sample_rate: int = 16000


def cue_mask(interview: Interview) -> torch.Tensor:
    """``[K]`` bool: which topics of ``interview`` are cue topics (by question id)."""
    return torch.tensor([t.question_id in CUE_TOPICS for t in interview.topics])


def _answer(rng: np.random.Generator, key: str, negatives: int, config: SyntheticInterviewConfig) -> str:
    """5-25 words from the topic's vocabulary and fillers, with ``negatives`` negative phrases inserted."""
    vocabulary = TOPIC_BANK[key][1].split()
    n = int(rng.integers(config.min_words, config.max_words + 1))
    words = [str(rng.choice(vocabulary)) if rng.random() < 0.5 else str(rng.choice(FILLERS)) for _ in range(n)]
    for _ in range(negatives):
        words.insert(int(rng.integers(0, len(words) + 1)), str(rng.choice(NEGATIVE_PHRASES)))
    return " ".join(words)


def _voice(
    rng: np.random.Generator, seconds: float, f0: float, variability: float, energy: float, word_s: float, sr: int
) -> np.ndarray:
    """Harmonic voice: 8 harmonics (1/h) on a wandering F0, one raised-sine syllable per word, a noise floor.

    Lengths are whole milliseconds (multiples of 16 samples) so transcript times address samples exactly.
    """
    n = max(16, 16 * round(seconds * sr / 16))
    t = np.arange(n, dtype=np.float32) / sr
    wander = np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 2 * np.pi)) + np.sin(2 * np.pi * 2.3 * t + rng.uniform(0, 6))
    phase = (2 * np.pi / sr) * np.cumsum(f0 * (1.0 + 0.5 * variability * wander))
    first, twice_cos = np.sin(phase), 2 * np.cos(phase)
    previous, current, tone = np.zeros_like(first), first, first.copy()
    for h in range(2, 9):  # sin(h x) = 2 cos(x) sin((h - 1) x) - sin((h - 2) x)
        previous, current = current, twice_cos * current - previous
        tone += current / h
    position = (t % word_s) / word_s
    voiced = 0.7 if word_s <= 0.25 else 0.5  # slow speech leaves longer pauses between words
    syllable = np.sin(np.pi * np.minimum(position / voiced, 1.0)) ** 2
    gain = rng.uniform(0.7, 1.0, size=int(t[-1] / word_s) + 1).astype(np.float32)[(t / word_s).astype(int)]
    noise = rng.standard_normal(n, dtype=np.float32)
    return (0.1 * energy) * gain * syllable * tone + 0.002 * noise


def _topic(
    rng: np.random.Generator, key: str, depressed: bool, speaker: tuple[float, float], start: float, config
) -> tuple[Topic, float]:
    """One topic beginning at ``start`` (question 1 s, pause, answer in one or two segments); returns its end."""
    cue_here = depressed and key in CUE_TOPICS and rng.random() < config.cue_rate
    distractor = key not in CUE_TOPICS and rng.random() < config.distractor_rate
    negatives = config.cue_phrases if cue_here else config.distractor_phrases if distractor else 0
    answer = _answer(rng, key, negatives, config)
    f0, variability = speaker
    word_s = config.word_seconds / (config.cue_rate_factor if cue_here else 1.0)
    seconds = min(len(answer.split()) * word_s, config.max_topic_seconds)
    voice = _voice(
        rng,
        seconds,
        f0,
        variability * (config.cue_f0_variability if cue_here else 1.0),
        config.cue_energy if cue_here else 1.0,
        word_s,
        config.sample_rate,
    )
    cut = 16 * round(len(voice) * rng.uniform(0.4, 0.6) / 16) if rng.random() < 0.5 else len(voice)
    begin = round(start + 1.3, 3)
    segments = [(begin, round(begin + cut / config.sample_rate, 3))]
    if cut < len(voice):
        resume = round(segments[0][1] + 0.5, 3)
        segments.append((resume, round(resume + (len(voice) - cut) / config.sample_rate, 3)))
    topic = Topic(TOPIC_BANK[key][0], answer, segments, question_id=key, start=start, audio=torch.from_numpy(voice))
    return topic, round(segments[-1][1] + 0.5, 3)


def make_synthetic_interviews(
    n: int, seed: int = 0, config: SyntheticInterviewConfig | None = None, id_offset: int = 300
) -> list[Interview]:
    """``n`` interviews (ids from ``id_offset``), exactly ``round(prevalence * n)`` depressed, topics with audio."""
    config = config or SyntheticInterviewConfig()
    rng = np.random.default_rng(seed)
    labels = np.zeros(n, dtype=int)
    labels[: round(config.prevalence * n)] = 1
    rng.shuffle(labels)
    others = [k for k in TOPIC_BANK if k not in CUE_TOPICS]
    interviews = []
    for i, label in enumerate(labels):
        cues = [k for k in CUE_TOPICS if rng.random() < config.cue_topic_prob] or [str(rng.choice(CUE_TOPICS))]
        fillers = rng.choice(others, size=config.topics_per_interview - len(cues), replace=False).tolist()
        keys = [str(k) for k in rng.permutation(cues + fillers)]
        speaker = (rng.uniform(100, 140) if rng.random() < 0.5 else rng.uniform(180, 240), rng.uniform(0.1, 0.2))
        score = int(rng.integers(10, 25) if label else rng.integers(0, 10))
        topics, clock = [], 0.5
        for key in keys:
            topic, clock = _topic(rng, key, bool(label), speaker, clock, config)
            topics.append(topic)
        interviews.append(Interview(str(id_offset + i), int(label), score, topics))
    return interviews


def _session_rows(interview: Interview) -> list[tuple[float, float, str, str]]:
    rows = []
    for topic in interview.topics:
        rows.append((topic.start, topic.start + 1.0, "Ellie", f"{topic.question_id} ({topic.question})"))
        words = topic.answer.split()
        split = round(len(words) * (topic.segments[0][1] - topic.segments[0][0]) / _speech_seconds(topic))
        parts = [" ".join(words[:split]), " ".join(words[split:])] if len(topic.segments) > 1 else [topic.answer]
        for (start, stop), text in zip(topic.segments, parts):
            rows.append((start, stop, "Participant", text))
        if len(topic.segments) > 1:
            rows.append((topic.segments[0][1] + 0.1, topic.segments[0][1] + 0.4, "Ellie", "mhm"))
    return sorted(rows, key=lambda r: r[0])


def _speech_seconds(topic: Topic) -> float:
    return sum(stop - start for start, stop in topic.segments)


def write_daicwoz_layout(root: str | os.PathLike, splits: dict[str, list[Interview]], seed: int = 0) -> Path:
    """Write ``splits`` (``{"train": [...], "dev": [...]}``) as a DAIC-WOZ folder: transcripts, int16 wavs, CSVs.

    Participant audio is placed at its segment times, the interviewer's questions are spoken by a fixed
    second voice; the split CSVs are ``<name>_split_Depression_AVEC2017.csv``.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for name, interviews in splits.items():
        with (root / SPLIT_FILE.format(name)).open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["Participant_ID", "Gender", "PHQ8_Binary", "PHQ8_Score"])
            for interview in interviews:
                writer.writerow([interview.id, 0, interview.label, interview.score])
        for interview in interviews:
            _write_session(root, interview, rng)
    return root


def _write_session(root: Path, interview: Interview, rng: np.random.Generator, sr: int = 16000) -> None:
    folder = root / f"{interview.id}_P"
    folder.mkdir(exist_ok=True)
    rows = _session_rows(interview)
    with (folder / f"{interview.id}_TRANSCRIPT.csv").open("w", newline="") as handle:
        handle.write("start_time\tstop_time\tspeaker\tvalue\n")
        handle.writelines(f"{start:.3f}\t{stop:.3f}\t{speaker}\t{text}\n" for start, stop, speaker, text in rows)
    end = max(stop for _, stop, _, _ in rows) + 0.5
    wave = (0.002 * rng.standard_normal(round(end * sr) + sr)).astype(np.float32)
    for topic in interview.topics:
        question = _voice(rng, 1.0, INTERVIEWER_F0, 0.1, 1.0, 0.25, sr)
        wave[round(topic.start * sr) : round(topic.start * sr) + len(question)] = question
        audio, offset = topic.audio.numpy(), 0
        for start, stop in topic.segments:
            piece = audio[offset : offset + round((stop - start) * sr)]
            wave[round(start * sr) : round(start * sr) + len(piece)] = piece
            offset += len(piece)
    pcm = np.clip(np.round(wave * 32767), -32768, 32767).astype(np.int16)
    scipy.io.wavfile.write(folder / f"{interview.id}_AUDIO.wav", sr, pcm)
