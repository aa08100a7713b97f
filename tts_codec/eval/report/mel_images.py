"""Mel-spectrogram thumbnails for the listening page: one pixel per 12.5 ms frame and per mel bin, so
images of the same utterance at different sample rates line up in time and frequency."""
from __future__ import annotations

import os

import librosa
import matplotlib.image
import numpy as np

from tts_codec.atomic import atomic_path

HOP_S = 0.0125
WIN_S = 0.05
TOP_DB = 80.0


def mel_db(wav: np.ndarray, sr: int, n_mels: int = 80, fmax: float | None = None) -> np.ndarray:
    """Log-mel spectrogram in dB relative to its maximum, clipped to -TOP_DB.

    Args:
        wav: mono audio, shape (N,).
        sr: sample rate in Hz.
        n_mels: mel bins.
        fmax: highest frequency (default sr / 2); pass the lowest Nyquist of a row to compare sample rates.
    Returns:
        (n_mels, T) float32 array in [-TOP_DB, 0], T = 1 + N // hop.
    """
    hop = max(1, round(sr * HOP_S))
    n_fft = 1 << max(8, int(np.ceil(np.log2(sr * WIN_S))))
    fmax = min(fmax or sr / 2, sr / 2)
    power = librosa.feature.melspectrogram(
        y=np.asarray(wav, dtype=np.float32), sr=sr, n_fft=n_fft, hop_length=hop, n_mels=n_mels, fmax=fmax
    )
    if not np.any(power > 0):
        return np.full(power.shape, -TOP_DB, dtype=np.float32)
    return librosa.power_to_db(power, ref=np.max, top_db=TOP_DB).astype(np.float32)


def write_mel_png(
    wav: np.ndarray, sr: int, path: str | os.PathLike, n_mels: int = 80, fmax: float | None = None
) -> tuple[int, int]:
    """Write the mel spectrogram of `wav` as a PNG (low frequencies at the bottom, magma colour map).

    Returns:
        (width, height) of the image in pixels.
    """
    spec = mel_db(wav, sr, n_mels=n_mels, fmax=fmax)
    with atomic_path(path) as tmp:
        matplotlib.image.imsave(tmp, spec, cmap="magma", vmin=-TOP_DB, vmax=0.0, origin="lower", format="png")
    return spec.shape[1], spec.shape[0]
