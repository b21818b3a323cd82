"""Audio input of the interview models (``compress-common.md`` section 7).

``read_wav`` uses :func:`scipy.io.wavfile.read` (torchaudio 2.9 loading needs torchcodec, which is not a
dependency); resampling and the log-mel front end are torchaudio's.
"""

from __future__ import annotations

import os
from functools import lru_cache

import numpy as np
import scipy.io.wavfile
import torch
import torchaudio

from lab_common import DataFormatError

SAMPLE_RATE = 16000
N_MELS = 80
HOP_LENGTH = 160  # 100 frames per second at 16 kHz


def read_wav(path: str | os.PathLike, mono: bool = True) -> tuple[torch.Tensor, int]:
    """``(float32 [C, N], sample_rate)``: int16 / 2^15, int32 / 2^31, uint8 (x - 128) / 128, float kept.

    ``mono=True`` averages the channels into one (``[1, N]``). An unreadable file or an unsupported sample
    type raises :class:`lab_common.DataFormatError`.
    """
    try:
        sr, data = scipy.io.wavfile.read(os.fspath(path))
    except (OSError, ValueError) as error:
        raise DataFormatError(path, None, "a PCM or float WAV file", f"unreadable ({error})") from error
    scales = {np.dtype("int16"): 32768.0, np.dtype("int32"): 2.0**31}
    if data.dtype in scales:
        wave = data.astype(np.float32) / scales[data.dtype]
    elif data.dtype == np.uint8:
        wave = (data.astype(np.float32) - 128.0) / 128.0
    elif np.issubdtype(data.dtype, np.floating):
        wave = data.astype(np.float32)
    else:
        raise DataFormatError(path, "samples", "int16, int32, uint8 or float samples", str(data.dtype))
    tensor = torch.from_numpy(np.ascontiguousarray(wave.reshape(len(wave), -1).T))
    if mono:
        tensor = tensor.mean(dim=0, keepdim=True)
    return tensor, int(sr)


def resample(x: torch.Tensor, sr: int, target: int = SAMPLE_RATE) -> torch.Tensor:
    """``x`` (``[..., N]``) from ``sr`` to ``target`` Hz with :func:`torchaudio.functional.resample`."""
    return x if sr == target else torchaudio.functional.resample(x, sr, target)


@lru_cache(maxsize=1)
def _mel_transform() -> torchaudio.transforms.MelSpectrogram:
    return torchaudio.transforms.MelSpectrogram(
        sample_rate=SAMPLE_RATE, n_fft=400, win_length=400, hop_length=HOP_LENGTH, n_mels=N_MELS
    )


def log_mel(x: torch.Tensor) -> torch.Tensor:
    """Log-mel features ``[T_frames, 80]`` at 100 frames/s of a 16 kHz waveform ``[N]`` (or ``[1, N]``).

    MelSpectrogram(n_fft 400, hop 160, 80 mels), ``log(mel + 1e-6)``, then per-utterance mean and variance
    normalisation of each mel band (a one-frame utterance is only mean-centred).
    """
    wave = x.reshape(-1).float()
    with torch.no_grad():
        features = torch.log(_mel_transform()(wave) + 1e-6).T
    centred = features - features.mean(dim=0, keepdim=True)
    if features.shape[0] < 2:
        return centred
    return centred / (features.std(dim=0, keepdim=True) + 1e-5)
