"""GRID layout, .align parser, stems, frame reading, landmark files and the synthetic talking-mouth corpus."""

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest

from lab_common import DataFormatError
from learn_compress.data.grid import (
    GRID_LEXICON,
    clip_transcript,
    decode_stem,
    encode_stem,
    grid_split,
    parse_align,
    pyav_available,
    read_frames,
    scan_grid,
)
from learn_compress.data.landmarks import (
    MIRROR_REDUCED,
    crop_mouth,
    fill_missing,
    flip_landmarks,
    load_landmarks,
    normalize_landmarks,
)
from learn_compress.data.synthetic_lips import SyntheticLipConfig, SyntheticLipCorpus, write_grid_layout
from learn_compress.lipreading.dataset import load_clip

SAMPLES = Path(os.environ.get("LAB_DATA_ROOT") or Path(__file__).resolve().parents[2].parent / "shared" / "data")
SAMPLES = SAMPLES / "grid-samples"
SWWP2S = "0 12250 sil\n12250 19250 set\n19250 27250 white\n27250 30500 with\n30500 36000 p\n36000 43250 two\n"
SWWP2S += "43250 55250 soon\n55250 74500 sil\n"


@pytest.fixture
def grid_samples() -> Path:
    if not (SAMPLES / "swwp2s.align").is_file():
        pytest.skip(f"GRID sample clips absent ({SAMPLES}); set LAB_DATA_ROOT to run this test")
    return SAMPLES


def test_parse_align_and_stem_give_the_sentence(tmp_path):
    path = tmp_path / "swwp2s.align"
    path.write_text(SWWP2S)
    segments = parse_align(path)
    assert segments[0] == (0.0, 12.25, "sil") and segments[-1] == (55.25, 74.5, "sil")
    assert clip_transcript_of(segments) == "set white with p two soon" == decode_stem("swwp2s")
    assert encode_stem("set white with p two soon") == "swwp2s"


def clip_transcript_of(segments):
    return " ".join(w for _, _, w in segments if w not in ("sil", "sp"))


def test_sample_files_align_and_stems(grid_samples):
    assert clip_transcript_of(parse_align(grid_samples / "swwp2s.align")) == decode_stem("swwp2s")
    stems = sorted(p.stem for p in grid_samples.glob("*.mpg"))
    assert len(stems) == 11
    expected = {
        "bbaf2n": "bin blue at f two now",
        "lwbsza": "lay white by s zero again",
        "pwij3p": "place white in j three please",
    }
    decoded = {s: decode_stem(s) for s in stems}
    assert all(decoded[s] == t for s, t in expected.items())
    assert all(encode_stem(t) == s for s, t in decoded.items())
    assert all(w in GRID_LEXICON for t in decoded.values() for w in t.split())


def test_sample_video_decoding_or_a_clear_error(grid_samples):
    video = grid_samples / "bbaf2n.mpg"
    if pyav_available():
        frames = read_frames(video)
        assert frames.shape == (75, 288, 360, 3) and frames.dtype == np.uint8
    else:
        with pytest.raises(DataFormatError, match="install PyAV") as info:
            read_frames(video)
        assert str(video) in str(info.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [("0 100 sil\n100 x set\n", "line 2"), ("0 100\n", "line 1"), ("", "empty"), ("200 100 set\n", "end >= start")],
)
def test_malformed_align_raises(tmp_path, text, message):
    path = tmp_path / "bad.align"
    path.write_text(text)
    with pytest.raises(DataFormatError, match=message) as info:
        parse_align(path)
    assert str(path) in str(info.value)


def test_bad_stems_raise():
    for stem in ("swwp2", "xwwp2s", "swwwxs", "swwp2x"):
        with pytest.raises(ValueError, match="stem"):
            decode_stem(stem)


def test_reader_layouts_npy_png_and_align_lookup_order(tmp_path):
    from PIL import Image

    frames = np.random.default_rng(0).integers(0, 256, (3, 4, 6, 1), dtype=np.uint8)
    (tmp_path / "s1" / "bbaf2n").mkdir(parents=True)
    for i, frame in enumerate(frames):
        Image.fromarray(frame[..., 0]).save(tmp_path / "s1" / "bbaf2n" / f"mouth_{i:03d}.png")
    np.save(tmp_path / "s1" / "swwp2s.npy", frames)
    (tmp_path / "s1" / "swwp2s.align").write_text("0 1000 sil\n1000 2000 set\n")  # beside the frames: last resort
    (tmp_path / "align" / "s1").mkdir(parents=True)
    (tmp_path / "align" / "s1" / "swwp2s.align").write_text(SWWP2S)
    (tmp_path / "s2").mkdir()
    (tmp_path / "s2" / "lrwp9a.mpg").write_bytes(b"not a video")
    clips = {c.key: c for c in scan_grid(tmp_path)}
    assert sorted(clips) == ["s1/bbaf2n", "s1/swwp2s", "s2/lrwp9a"]
    assert np.array_equal(read_frames(clips["s1/bbaf2n"].frames), frames)
    assert np.array_equal(read_frames(clips["s1/swwp2s"].frames), frames)
    assert clip_transcript(clips["s1/swwp2s"]) == "set white with p two soon"  # align/s1 wins
    assert clip_transcript(clips["s1/bbaf2n"]) == "bin blue at f two now"  # no align: decoded from the stem
    with pytest.raises(DataFormatError, match="decode" if pyav_available() else "pre-extract") as info:
        read_frames(clips["s2/lrwp9a"].frames)
    assert "lrwp9a.mpg" in str(info.value)
    np.save(tmp_path / "s1" / "bad.npy", frames.astype(np.float32))
    with pytest.raises(DataFormatError, match="uint8"):
        read_frames(tmp_path / "s1" / "bad.npy")


def test_grid_splits():
    from learn_compress.data.grid import GridClip

    clips = [GridClip(f"s{k}", f"bbaf{i}n", Path("x"), None, None) for k in (1, 2, 3, 20, 22, 23) for i in range(10)]
    train, test = grid_split("unseen", clips)
    assert {c.speaker for c in test} == {"s1", "s2", "s20", "s22"} and {c.speaker for c in train} == {"s3", "s23"}
    train, test = grid_split("overlapped", clips, seed=1, held_out_per_speaker=3)
    assert len(test) == 18 and len(train) == 42 and not {c.key for c in train} & {c.key for c in test}
    assert grid_split("overlapped", clips, seed=1, held_out_per_speaker=3)[1] == test


def _face_track(t=6, seed=0):
    corpus = SyntheticLipCorpus(SyntheticLipConfig(landmark_noise=0.0))
    return corpus.render("bin blue at f two now", "s3", seed).landmarks[:t].astype(np.float64)


def test_landmark_reader_fills_gaps_and_rejects_too_many(tmp_path):
    track = _face_track().astype(np.float32)
    gappy = track.copy()
    gappy[2] = np.nan
    np.save(tmp_path / "l.npy", gappy)
    filled = load_landmarks(tmp_path / "l.npy", num_frames=6)
    np.testing.assert_allclose(filled[2], (track[1] + track[3]) / 2, atol=1e-4)
    edge = track.copy()
    edge[0] = np.nan
    np.testing.assert_allclose(fill_missing(edge)[0], track[1])
    bad = track.copy()
    bad[:4] = np.nan
    np.savez(tmp_path / "bad.npz", landmarks=bad)
    with pytest.raises(DataFormatError, match="4 of 6") as info:
        load_landmarks(tmp_path / "bad.npz")
    assert "bad.npz" in str(info.value)
    with pytest.raises(DataFormatError, match="7 frames"):
        load_landmarks(tmp_path / "l.npy", num_frames=7)
    np.save(tmp_path / "shape.npy", track[:, :20])
    with pytest.raises(DataFormatError, match=r"shape \(6, 20, 2\)"):
        load_landmarks(tmp_path / "shape.npy")


def test_normalisation_removes_a_similarity_transform():
    track = _face_track()
    angle, scale, shift = 0.3, 1.7, np.array([12.0, -5.0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = scale * track @ rotation.T + shift
    np.testing.assert_allclose(normalize_landmarks(moved), normalize_landmarks(track), atol=1e-5)
    reduced = normalize_landmarks(track)
    assert reduced.shape == (6, 37, 2)
    # 37-point fallback: translation and scale removed, rotation kept
    lips = track[:, list(range(17)) + list(range(48, 68))]
    np.testing.assert_allclose(normalize_landmarks(2.5 * lips + 3), normalize_landmarks(lips), atol=1e-5)


def test_flip_twice_is_identity_and_swaps_mouth_corners():
    track = normalize_landmarks(_face_track())
    once = flip_landmarks(track)
    np.testing.assert_allclose(flip_landmarks(once), track)
    left, right = 17, 17 + 6  # points 48 and 54 in the reduced order
    assert MIRROR_REDUCED[left] == right and MIRROR_REDUCED[right] == left
    np.testing.assert_allclose(once[:, left], track[:, right] * [-1, 1])


def test_synthetic_speakers_differ_in_appearance_not_in_landmarks():
    corpus = SyntheticLipCorpus(SyntheticLipConfig(landmark_noise=0.0))
    a = corpus.render("set white with p two soon", "s1")
    b = corpus.render("set white with p two soon", "s2")
    np.testing.assert_allclose(normalize_landmarks(a.landmarks), normalize_landmarks(b.landmarks), atol=1e-5)
    assert np.abs(a.frames.astype(float) - b.frames).mean() > 10
    c = corpus.render("bin blue at f two now", "s1")
    assert a.frames.shape[1:] == (32, 64, 1)
    assert (
        len(a.frames) != len(c.frames)
        or np.abs(normalize_landmarks(a.landmarks) - normalize_landmarks(c.landmarks)).max() > 0.05
    )
    noisy = SyntheticLipCorpus()
    first, second = (
        noisy.render("set white with p two soon", "s1", 0),
        noisy.render("set white with p two soon", "s1", 1),
    )
    assert np.array_equal(first.frames, second.frames) and not np.array_equal(first.landmarks, second.landmarks)


def test_write_grid_layout_reads_back_through_the_reader(tmp_path):
    corpus = SyntheticLipCorpus(dataclasses.replace(SyntheticLipConfig(), height=16, width=32))
    write_grid_layout(tmp_path, {"s1": 3, "s4": 2}, corpus, sample_seed=5)
    clips = scan_grid(tmp_path)
    assert [c.speaker for c in clips] == ["s1"] * 3 + ["s4"] * 2
    clip = load_clip(clips[0])
    assert clip.text == decode_stem(clips[0].stem)
    assert clip.frames.shape[1:] == (16, 32, 1) and clip.landmarks.shape == (len(clip.frames), 37, 2)
    rendered = corpus.render(clip.text, "s1", 5)
    assert np.array_equal(rendered.frames, clip.frames)
    assert clip_transcript_of(parse_align(clips[0].align)) == clip.text


def test_missing_landmarks_raise_naming_the_clip(tmp_path):
    write_grid_layout(tmp_path, {"s5": 1})
    clip = scan_grid(tmp_path)[0]
    clip = dataclasses.replace(clip, landmarks=None)
    with pytest.raises(DataFormatError, match="no landmark file") as info:
        load_clip(clip)
    assert str(clip.frames) in str(info.value) and "landmarks/s5/" in str(info.value)


def test_mouth_crop_centres_the_lips():
    face = np.zeros((4, 120, 160, 3), dtype=np.uint8)
    face[:, 70:80, 60:100] = 200  # a bright "mouth" box centred at (79.5, 74.5)
    track = np.zeros((4, 68, 2), dtype=np.float32)
    track[:, 48:68] = [79.5, 74.5]
    track[:, 48], track[:, 54] = [59.5, 74.5], [99.5, 74.5]  # corners 40 px apart -> crop 72 x 36 px
    crops = crop_mouth(face, track, size=(18, 36))
    assert crops.shape == (4, 18, 36, 1)
    assert crops[:, 9, 18, 0].min() > 150 and crops[:, 0, 0, 0].max() == 0  # bright centre, dark corner
    np.testing.assert_array_equal(crops[:, :, ::-1], crops)  # symmetric box, symmetric crop
