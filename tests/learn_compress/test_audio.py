"""wav reading, resampling and log-mel features (compress-common.md §7, §9 item 10)."""

import numpy as np
import pytest
import scipy.io.wavfile
import torch

from lab_common import DataFormatError
from learn_compress.audio import log_mel, read_wav, resample


def test_int16_round_trip(tmp_path):
    samples = np.array([0, 16384, -32768, 32767, -1], dtype=np.int16)
    scipy.io.wavfile.write(tmp_path / "a.wav", 16000, samples)
    wave, sr = read_wav(tmp_path / "a.wav")
    assert sr == 16000 and wave.shape == (1, 5)
    assert torch.allclose(wave[0], torch.tensor([0.0, 0.5, -1.0, 32767 / 32768, -1 / 32768]))


def test_uint8_and_stereo(tmp_path):
    scipy.io.wavfile.write(tmp_path / "u.wav", 8000, np.array([128, 192, 0], dtype=np.uint8))
    assert torch.allclose(read_wav(tmp_path / "u.wav")[0][0], torch.tensor([0.0, 0.5, -1.0]))
    stereo = np.array([[1000, 3000], [-2000, 0]], dtype=np.int16)
    scipy.io.wavfile.write(tmp_path / "s.wav", 16000, stereo)
    assert read_wav(tmp_path / "s.wav", mono=False)[0].shape == (2, 2)
    assert torch.allclose(read_wav(tmp_path / "s.wav")[0][0], torch.tensor([2000.0, -1000.0]) / 32768)


def test_not_a_wav_raises(tmp_path):
    (tmp_path / "x.wav").write_bytes(b"not a wav file at all")
    with pytest.raises(DataFormatError, match="x.wav"):
        read_wav(tmp_path / "x.wav")


def test_resample_and_log_mel_shapes():
    one_second = torch.sin(torch.arange(16000) * 2 * torch.pi * 440 / 16000)
    features = log_mel(one_second)
    assert features.shape == (101, 80)
    assert torch.allclose(features.mean(0), torch.zeros(80), atol=1e-4)  # per-utterance normalisation
    assert resample(one_second[None, :8000], 8000).shape == (1, 16000)
    assert resample(one_second, 16000) is one_second
