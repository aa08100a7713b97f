"""Numpy audio DSP shared by codec front ends and datasets: mono float at a target rate, volume normalisation,
biquad high-pass, reference clips (no model knowledge; BiCodec uses them as below).

Official inference (`BiCodecTokenizer.process_audio`) volume-normalises and takes the reference clip; the 40 Hz
high-pass is applied only by the training data pipeline (SparkVox), so `prepare_audio` leaves it off by default.
"""
from __future__ import annotations

import math

import numpy as np
import soxr
from scipy.signal import lfilter

from tts_codec.errors import UserError


def prepare_audio(audio: np.ndarray, sample_rate: int, target_rate: int, volume_normalize: bool = True,
                  highpass_cutoff: float | None = None, what: str = "audio") -> np.ndarray:
    """Mono float32 at `target_rate`, checked, optionally high-passed and volume-normalised.

    Args:
        audio: (N,) mono or (N, C) channels-last samples, float in [-1, 1] or integer PCM.
        sample_rate: rate of `audio`; other rates are resampled with soxr "VHQ" (as the official loader).
        target_rate: the rate the caller's model reads (the codec's `sample_rate`).
        highpass_cutoff: e.g. 40.0 to apply the training pipeline's biquad high-pass.
        what: names the input in error messages (a file name or utterance id).

    Returns:
        (N',) float32.
    """
    audio = np.asarray(audio)
    if audio.ndim == 2:  # downmix (N, C); the official loader keeps channel 0, we average
        audio = audio.mean(axis=1) if audio.shape[1] <= audio.shape[0] else audio.mean(axis=0)
    if audio.ndim != 1:
        raise UserError(f"{what}: expected mono (N,) or (N, channels) audio, got shape {audio.shape}")
    if np.issubdtype(audio.dtype, np.integer):
        audio = audio.astype(np.float64) / float(np.iinfo(audio.dtype).max)
    audio = audio.astype(np.float64)
    if audio.size == 0:
        raise UserError(f"{what}: audio is empty (0 samples)")
    if not np.all(np.isfinite(audio)):
        raise UserError(f"{what}: audio contains NaN or infinite samples")
    if sample_rate <= 0:
        raise UserError(f"{what}: invalid sample rate {sample_rate}")
    if sample_rate != target_rate:
        audio = soxr.resample(audio, sample_rate, target_rate, quality="VHQ")
    if highpass_cutoff:
        audio = highpass_biquad(audio, target_rate, highpass_cutoff)
    if volume_normalize:
        audio = volume_normalize_audio(audio)
    return audio.astype(np.float32)


def volume_normalize_audio(audio: np.ndarray, coeff: float = 0.2) -> np.ndarray:
    """Scale so the mean of the 90th-99th percentile of |x| (over |x| > 0.01) is `coeff`; gain in [0.1, 10], peak <= 1.

    Very quiet audio (peak < 0.1) is first scaled to peak 0.1; silence stays silence.
    """
    magnitudes = np.sort(np.abs(audio))
    if magnitudes[-1] < 0.1:
        audio = audio / max(magnitudes[-1], 1e-3) * 0.1
    magnitudes = magnitudes[magnitudes > 0.01]
    count = magnitudes.shape[0]
    if count <= 10:
        return audio
    volume = np.mean(magnitudes[int(0.9 * count): int(0.99 * count)])
    audio = audio * np.clip(coeff / volume, a_min=0.1, a_max=10)
    peak = np.max(np.abs(audio))
    return audio / peak if peak > 1 else audio


def highpass_biquad(audio: np.ndarray, sample_rate: int, cutoff: float, q: float = 0.707) -> np.ndarray:
    """Second-order high-pass (RBJ cookbook), output clamped to [-1, 1] as torchaudio's `highpass_biquad` does."""
    w0 = 2 * math.pi * cutoff / sample_rate
    alpha = math.sin(w0) / 2 / q
    b = np.array([(1 + math.cos(w0)) / 2, -1 - math.cos(w0), (1 + math.cos(w0)) / 2])
    a = np.array([1 + alpha, -2 * math.cos(w0), 1 - alpha])
    return np.clip(lfilter(b / a[0], a / a[0], audio), -1.0, 1.0)


def reference_length(sample_rate: int, ref_segment_duration: float, hop_length: int) -> int:
    """Reference clip length in samples: the duration rounded down to whole hops (96 000 for 6 s at 16 kHz)."""
    return int(sample_rate * ref_segment_duration) // hop_length * hop_length


def reference_clip(audio: np.ndarray, length: int) -> np.ndarray:
    """First `length` samples of `audio` (..., N), tiled along the last axis first when shorter."""
    if audio.shape[-1] < length:
        reps = length // audio.shape[-1] + 1
        audio = np.tile(audio, (1,) * (audio.ndim - 1) + (reps,))
    return audio[..., :length]
