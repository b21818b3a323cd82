"""DAIC-WOZ reader, topic segmentation and per-topic audio (``compress-common.md`` section 5, ``toat.md`` §3).

Layout: ``<root>/<id>_P/<id>_TRANSCRIPT.csv`` (tab-separated ``start_time stop_time speaker value``) and
``<id>_AUDIO.wav`` (16 kHz mono), plus split CSVs with ``Participant_ID``, ``PHQ8_Binary`` and
``PHQ8_Score`` (``PHQ_Binary``/``PHQ_Score`` accepted). A topic is one interviewer question and the
participant's answer (TOAT's unit); the segmentation rules are ours (assumed) and configurable through
:class:`SegmentationConfig`. Missing or malformed files raise :class:`lab_common.DataFormatError` and
nothing is returned half-loaded.
"""

from __future__ import annotations

import csv
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch

from lab_common import DataFormatError

from ..audio import SAMPLE_RATE, read_wav, resample

log = logging.getLogger(__name__)

TRANSCRIPT_HEADER = ("start_time", "stop_time", "speaker", "value")
INTERVIEWER, PARTICIPANT = "Ellie", "Participant"
BACKCHANNELS = frozenset(
    {
        "mm", "mhm", "hmm", "uh huh", "okay", "ok", "yeah", "yes", "right", "i see", "really", "wow", "nice",
        "cool", "awesome", "great", "that's good", "that's great", "that's nice", "that sounds good",
        "that makes sense", "i understand", "i'm sorry", "i'm sorry to hear that", "that's too bad", "why",
        "how come", "tell me more about that", "can you tell me more about that", "can you give me an example",
        "can you give me an example of that", "how so", "what happened", "thank you", "aw", "oh",
    }
)  # fmt: skip
_CODED = re.compile(r"^\s*([A-Za-z0-9_]+)\s*\((.*)\)\s*$")
_SPLIT_COLUMNS = {
    "id": ("Participant_ID",),
    "label": ("PHQ8_Binary", "PHQ_Binary"),
    "score": ("PHQ8_Score", "PHQ_Score"),
}


@dataclass
class Turn:
    """One transcript row; ``code`` is the question id of a ``code (text)`` interviewer line."""

    start: float
    stop: float
    speaker: str
    text: str
    code: str | None = None


@dataclass
class Topic:
    """One question-answer pair: interviewer text, participant text, participant segments ``[(start, stop)]``."""

    question: str
    answer: str
    segments: list[tuple[float, float]]
    question_id: str | None = None
    start: float = 0.0
    audio: torch.Tensor | None = None  # 16 kHz mono samples of the topic, when loaded


@dataclass
class Interview:
    """A session: participant id, binary label (PHQ-8 >= 10), PHQ-8 score and its topics in interview order."""

    id: str
    label: int
    score: int
    topics: list[Topic] = field(default_factory=list)


@dataclass
class SegmentationConfig:
    """Rules of :func:`segment_topics` (assumed, ``compress-common.md`` section 5)."""

    min_question_words: int = 3
    backchannels: frozenset[str] = BACKCHANNELS
    gap_s: float = 5.0
    max_topics: int = 64


def parse_transcript(path: str | os.PathLike) -> list[Turn]:
    """Rows of a ``*_TRANSCRIPT.csv``, sorted by start time (stable); ``code (text)`` Ellie lines unpacked."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as error:
        raise DataFormatError(path, None, "a readable transcript file", f"{type(error).__name__}: {error}") from error
    if not lines or tuple(c.strip().lower() for c in lines[0].split("\t")) != TRANSCRIPT_HEADER:
        raise DataFormatError(path, 1, "the tab-separated header " + "\t".join(TRANSCRIPT_HEADER), repr(lines[:1]))
    turns = []
    for number, fields in enumerate(csv.reader(lines[1:], delimiter="\t", quoting=csv.QUOTE_NONE), start=2):
        if not fields or not any(f.strip() for f in fields):
            continue
        if len(fields) != 4:
            raise DataFormatError(path, number, "4 tab-separated fields", f"{len(fields)}: {fields!r}")
        try:
            start, stop = float(fields[0]), float(fields[1])
        except ValueError:
            raise DataFormatError(path, number, "numeric start and stop times", repr(fields[:2])) from None
        if stop < start:
            raise DataFormatError(path, number, "stop_time >= start_time", f"{start} > {stop}")
        speaker = fields[2].strip().capitalize()
        if speaker not in (INTERVIEWER, PARTICIPANT):
            raise DataFormatError(path, number, f"speaker {INTERVIEWER} or {PARTICIPANT}", repr(fields[2]))
        text, code = fields[3].strip(), None
        coded = _CODED.match(text) if speaker == INTERVIEWER else None
        if coded:
            code, text = coded.group(1), coded.group(2).strip()
        turns.append(Turn(start, stop, speaker, text, code))
    return sorted(turns, key=lambda t: t.start)


def is_backchannel(text: str, config: SegmentationConfig) -> bool:
    """An interviewer line that does not open a topic: too short, or a known acknowledgement or prompt."""
    normalised = " ".join(re.sub(r"[^a-z0-9' ]", " ", text.lower()).split())
    return len(normalised.split()) < config.min_question_words or normalised in config.backchannels


def segment_topics(turns: list[Turn], config: SegmentationConfig | None = None, session: str = "") -> list[Topic]:
    """Topics of a session: one question plus every participant turn until the next question.

    Consecutive interviewer rows before an answer merge into one question; back-channels join the current
    topic's interviewer text; speech before the first question, trailing questions and topics without
    participant words are discarded; empty participant rows are ignored. A session without interviewer
    rows falls back to :func:`split_at_gaps` (with a warning). At most ``max_topics``, in interview order.
    """
    config = config or SegmentationConfig()
    if not any(t.speaker == INTERVIEWER for t in turns):
        log.warning(
            "session %s has no %s rows: topics split at pauses longer than %s s", session, INTERVIEWER, config.gap_s
        )
        return split_at_gaps(turns, config)
    topics: list[Topic] = []
    current: Topic | None = None
    for turn in turns:
        if turn.speaker == PARTICIPANT:
            if current is not None and turn.text:
                current.answer = f"{current.answer} {turn.text}".strip()
                current.segments.append((turn.start, turn.stop))
        elif current is not None and (not current.segments or is_backchannel(turn.text, config)):
            current.question = f"{current.question} {turn.text}".strip()
            current.question_id = current.question_id or turn.code
        elif not is_backchannel(turn.text, config):
            current = Topic(question=turn.text, answer="", segments=[], question_id=turn.code, start=turn.start)
            topics.append(current)
    return [t for t in topics if t.segments][: config.max_topics]


def split_at_gaps(turns: list[Turn], config: SegmentationConfig) -> list[Topic]:
    """Participant speech cut into topics at pauses longer than ``gap_s`` (sessions without interviewer rows)."""
    topics: list[Topic] = []
    last_stop = None
    for turn in (t for t in turns if t.speaker == PARTICIPANT and t.text):
        if last_stop is None or turn.start - last_stop > config.gap_s:
            topics.append(Topic(question="", answer="", segments=[], start=turn.start))
        topics[-1].answer = f"{topics[-1].answer} {turn.text}".strip()
        topics[-1].segments.append((turn.start, turn.stop))
        last_stop = turn.stop
    return topics[: config.max_topics]


def slice_topic_audio(
    wave: torch.Tensor,
    topic: Topic,
    sample_rate: int = SAMPLE_RATE,
    span: str = "answer",
    max_seconds: float | None = 20.0,
) -> torch.Tensor:
    """Samples of a topic from the session's waveform ``[N]``, clipped to ``max_seconds``.

    ``span="answer"`` concatenates the participant segments; ``"topic"`` takes question start to last answer stop.
    """
    if span not in ("answer", "topic"):
        raise ValueError(f"span must be 'answer' or 'topic', got {span!r}")
    spans = topic.segments if span == "answer" else [(topic.start, topic.segments[-1][1])]
    pieces = [wave[round(s * sample_rate) : round(e * sample_rate)] for s, e in spans]
    audio = torch.cat(pieces) if pieces else wave[:0]
    return audio if max_seconds is None else audio[: round(max_seconds * sample_rate)]


def read_split(path: str | os.PathLike) -> list[tuple[str, int, int]]:
    """``[(participant_id, label, score)]`` of a split CSV; the label must agree with ``score >= 10``."""
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(path, None, "a split CSV file", "no such file")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in reader.fieldnames or []]
        reader.fieldnames = header
        names = {}
        for key, aliases in _SPLIT_COLUMNS.items():
            found = [a for a in aliases if a in header]
            if not found:
                raise DataFormatError(path, 1, f"a column {' or '.join(aliases)}", f"columns {header}")
            names[key] = found[0]
        rows = []
        for number, row in enumerate(reader, start=2):
            try:
                pid = str(int(float(row[names["id"]])))
                label, score = int(float(row[names["label"]])), int(float(row[names["score"]]))
            except (TypeError, ValueError):
                raise DataFormatError(path, number, "integer id, label and score", repr(dict(row))) from None
            if label not in (0, 1) or label != int(score >= 10):
                raise DataFormatError(path, number, "a binary label equal to PHQ-8 score >= 10", f"{label}, {score}")
            rows.append((pid, label, score))
    return rows


def load_daicwoz(
    root: str | os.PathLike,
    split_csv: str | os.PathLike,
    *,
    audio: bool = True,
    segmentation: SegmentationConfig | None = None,
    audio_span: str = "answer",
    max_topic_seconds: float | None = 20.0,
) -> list[Interview]:
    """Interviews of a split: labels from ``split_csv`` (a path, or a file name under ``root``), topics and audio.

    With ``audio=True`` each topic carries its 16 kHz samples (:func:`slice_topic_audio`).
    """
    root = Path(root)
    split_path = Path(split_csv) if Path(split_csv).is_file() else root / split_csv
    interviews = []
    for pid, label, score in read_split(split_path):
        folder = root / f"{pid}_P"
        transcript = folder / f"{pid}_TRANSCRIPT.csv"
        if not transcript.is_file():
            raise DataFormatError(transcript, None, f"the transcript of participant {pid}", "no such file")
        topics = segment_topics(parse_transcript(transcript), segmentation, session=pid)
        if not topics:
            raise DataFormatError(transcript, None, "at least one question with a participant answer", "none")
        if audio:
            wav_path = folder / f"{pid}_AUDIO.wav"
            if not wav_path.is_file():
                raise DataFormatError(wav_path, None, f"the audio of participant {pid}", "no such file")
            wave, sr = read_wav(wav_path)
            wave = resample(wave, sr)[0]
            for topic in topics:
                topic.audio = slice_topic_audio(wave, topic, SAMPLE_RATE, audio_span, max_topic_seconds).clone()
        interviews.append(Interview(pid, label, score, topics))
    return interviews
