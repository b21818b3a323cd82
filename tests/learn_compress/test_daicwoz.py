"""DAIC-WOZ reader, topic segmentation, per-topic audio and the synthetic interview writer (toat.md §5 items 6-7)."""

import numpy as np
import pytest
import scipy.io.wavfile
import torch

from lab_common import DataFormatError
from learn_compress.data.daicwoz import (
    SegmentationConfig,
    Turn,
    load_daicwoz,
    parse_transcript,
    read_split,
    segment_topics,
    slice_topic_audio,
)
from learn_compress.data.synthetic_interviews import (
    CUE_TOPICS,
    SyntheticInterviewConfig,
    cue_mask,
    make_synthetic_interviews,
    write_daicwoz_layout,
)

HEADER = "start_time\tstop_time\tspeaker\tvalue\n"
# opens with participant speech; back-channels; a `code (text)` line; two Ellie rows merged; an empty answer
TRANSCRIPT = [
    (0.0, 1.0, "Participant", "hello can you hear me"),
    (1.2, 2.0, "Ellie", "hi i'm ellie thanks for coming in today"),
    (2.1, 3.0, "Ellie", "where are you from originally"),
    (3.5, 5.0, "Participant", "i'm from chicago"),
    (5.1, 5.4, "Ellie", "mhm"),
    (5.6, 7.0, "Participant", "but i moved here"),
    (7.5, 8.5, "Ellie", "sleep (how easy is it for you to get a good night's sleep)"),
    (9.0, 9.5, "Participant", ""),
    (10.0, 11.0, "Ellie", "tell me more about that"),
    (11.5, 13.0, "Participant", "not easy at all"),
    (13.5, 14.5, "Ellie", "what do you do to relax"),
    (15.0, 15.5, "Participant", ""),
    (16.0, 17.0, "Ellie", "thank you goodbye now"),
]


def write_transcript(path, rows):
    path.write_text(HEADER + "".join(f"{a}\t{b}\t{s}\t{v}\n" for a, b, s, v in rows))
    return path


def test_transcript_to_topics(tmp_path):
    turns = parse_transcript(write_transcript(tmp_path / "1_TRANSCRIPT.csv", TRANSCRIPT))
    assert turns[6].code == "sleep" and turns[6].text.startswith("how easy")
    topics = segment_topics(turns)
    assert [t.question for t in topics] == [
        "hi i'm ellie thanks for coming in today where are you from originally mhm",
        "how easy is it for you to get a good night's sleep tell me more about that",
    ]
    assert [t.answer for t in topics] == ["i'm from chicago but i moved here", "not easy at all"]
    assert topics[0].segments == [(3.5, 5.0), (5.6, 7.0)] and topics[1].segments == [(11.5, 13.0)]
    assert [t.question_id for t in topics] == [None, "sleep"]


def test_session_without_interviewer_splits_at_gaps(tmp_path, caplog):
    rows = [(0.0, 1.0, "Participant", "a b"), (1.5, 2.0, "Participant", "c"), (9.0, 10.0, "Participant", "d e")]
    topics = segment_topics(parse_transcript(write_transcript(tmp_path / "t.csv", rows)), session="7")
    assert [t.answer for t in topics] == ["a b c", "d e"] and "session 7" in caplog.text
    assert len(segment_topics(parse_transcript(tmp_path / "t.csv"), SegmentationConfig(gap_s=20.0))) == 1


def test_max_topics_keeps_the_first(tmp_path):
    rows = [r for k in range(5) for r in ((10.0 * k, 10 * k + 1, "Ellie", f"question number {k} please"),
                                         (10 * k + 2, 10 * k + 3, "Participant", f"answer {k}"))]  # fmt: skip
    topics = segment_topics(
        parse_transcript(write_transcript(tmp_path / "t.csv", rows)), SegmentationConfig(max_topics=3)
    )
    assert [t.answer for t in topics] == ["answer 0", "answer 1", "answer 2"]


@pytest.mark.parametrize(
    "body, where",
    [
        ("1.0\t2.0\tEllie\n", "line 2"),
        ("1.0\tx\tEllie\thi\n", "line 2"),
        ("0.0\t1.0\tEllie\thi\n1.0\t2.0\tDoctor\thi\n", "line 3"),
        ("2.0\t1.0\tEllie\thi\n", "line 2"),
    ],
)
def test_malformed_transcript_raises_naming_the_line(tmp_path, body, where):
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + body)
    with pytest.raises(DataFormatError, match=where) as error:
        parse_transcript(path)
    assert "bad.csv" in str(error.value)


def test_wrong_header_raises(tmp_path):
    (tmp_path / "t.csv").write_text("start\tstop\twho\twhat\n")
    with pytest.raises(DataFormatError, match="header"):
        parse_transcript(tmp_path / "t.csv")


def test_audio_slices_have_the_summed_segment_duration():
    wave = torch.arange(16000 * 20, dtype=torch.float32)
    topics = segment_topics([Turn(*row) for row in TRANSCRIPT])
    first = slice_topic_audio(wave, topics[0], 16000, max_seconds=None)
    assert abs(first.numel() - (1.5 + 1.4) * 16000) <= 2
    assert first[0] == 3.5 * 16000 and first[round(1.5 * 16000)] == 5.6 * 16000
    assert slice_topic_audio(wave, topics[0], 16000, max_seconds=2.0).numel() == 32000
    whole = slice_topic_audio(wave, topics[0], 16000, span="topic", max_seconds=None)
    assert whole.numel() == round((7.0 - 1.2) * 16000)


def test_split_csv_aliases_and_label_check(tmp_path):
    (tmp_path / "test.csv").write_text("Participant_ID,PHQ_Binary,PHQ_Score,Gender\n300,1,12,0\n301,0,3,1\n")
    assert read_split(tmp_path / "test.csv") == [("300", 1, 12), ("301", 0, 3)]
    (tmp_path / "bad.csv").write_text("Participant_ID,PHQ8_Binary,PHQ8_Score\n300,0,12\n")
    with pytest.raises(DataFormatError, match="line 2"):
        read_split(tmp_path / "bad.csv")
    (tmp_path / "cols.csv").write_text("Participant_ID,PHQ8_Score\n300,12\n")
    with pytest.raises(DataFormatError, match="PHQ8_Binary"):
        read_split(tmp_path / "cols.csv")


def test_missing_files_raise(tmp_path):
    (tmp_path / "train.csv").write_text("Participant_ID,PHQ8_Binary,PHQ8_Score\n300,1,12\n")
    with pytest.raises(DataFormatError, match="300_TRANSCRIPT.csv"):
        load_daicwoz(tmp_path, "train.csv")
    (tmp_path / "300_P").mkdir()
    write_transcript(tmp_path / "300_P" / "300_TRANSCRIPT.csv", TRANSCRIPT)
    with pytest.raises(DataFormatError, match="300_AUDIO.wav"):
        load_daicwoz(tmp_path, "train.csv")
    assert len(load_daicwoz(tmp_path, "train.csv", audio=False)[0].topics) == 2


def test_reader_resamples_and_slices(tmp_path):
    (tmp_path / "train.csv").write_text("Participant_ID,PHQ8_Binary,PHQ8_Score\n300,0,2\n")
    (tmp_path / "300_P").mkdir()
    write_transcript(tmp_path / "300_P" / "300_TRANSCRIPT.csv", TRANSCRIPT)
    scipy.io.wavfile.write(tmp_path / "300_P" / "300_AUDIO.wav", 8000, np.zeros(8000 * 18, dtype=np.int16))
    topics = load_daicwoz(tmp_path, "train.csv")[0].topics
    assert [t.audio.numel() for t in topics] == [round(2.9 * 16000), round(1.5 * 16000)]


def test_synthetic_writer_round_trips_through_the_reader(tmp_path):
    config = SyntheticInterviewConfig(topics_per_interview=4, max_words=8)
    train = make_synthetic_interviews(6, seed=3, config=config)
    dev = make_synthetic_interviews(4, seed=4, config=config, id_offset=400)
    write_daicwoz_layout(tmp_path, {"train": train, "dev": dev})
    for name, made in (("train", train), ("dev", dev)):
        read = load_daicwoz(tmp_path, f"{name}_split_Depression_AVEC2017.csv", max_topic_seconds=3.0)
        assert [(i.id, i.label, i.score, len(i.topics)) for i in read] == [
            (i.id, i.label, i.score, len(i.topics)) for i in made
        ]
        for a, b in zip(made, read):
            assert [t.answer for t in a.topics] == [t.answer for t in b.topics]
            assert torch.equal(cue_mask(a), cue_mask(b))
            for ta, tb in zip(a.topics, b.topics):
                assert ta.audio.numel() == tb.audio.numel()
                assert torch.allclose(ta.audio, tb.audio, atol=1e-4)  # int16 quantisation only


def test_synthetic_design():
    config = SyntheticInterviewConfig(max_topic_seconds=0.5)
    interviews = make_synthetic_interviews(30, seed=0, config=config)
    assert sum(i.label for i in interviews) == 9  # 30 % prevalence
    assert all(len(i.topics) == 10 and cue_mask(i).any() for i in interviews)
    assert all((i.score >= 10) == bool(i.label) for i in interviews)
    assert all(t.audio.numel() <= 0.5 * 16000 for i in interviews for t in i.topics)
    cue_words = {"hopeless", "worthless", "exhausted", "sad", "lonely", "empty"}

    def negative(topic):
        return bool(cue_words & set(topic.answer.split()))

    healthy_cue = [negative(t) for i in interviews if not i.label for t in i.topics if t.question_id in CUE_TOPICS]
    assert not any(healthy_cue)
    depressed_cue = [negative(t) for i in interviews if i.label for t in i.topics if t.question_id in CUE_TOPICS]
    assert sum(depressed_cue) > 0.3 * len(depressed_cue)
    again = make_synthetic_interviews(30, seed=0, config=config)
    assert torch.equal(again[5].topics[2].audio, interviews[5].topics[2].audio)
