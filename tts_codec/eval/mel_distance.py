"""Mel distance: mean absolute difference of log-mel spectrograms of ground truth and resynthesis (lower is better).

Computed at 16 kHz (80 mels, 1024-point FFT, hop 256, log with a 1e-5 floor, natural log) after trimming both
signals to the shorter length, so systems at different native rates compare on the same grid.
"""
from __future__ import annotations

from importlib import metadata

import numpy as np

from tts_codec.eval.scoring import EvalItem, Scorer, UttResult, trim_to_shorter

MEL_SR, N_FFT, HOP, N_MELS, LOG_FLOOR = 16000, 1024, 256, 80, 1e-5


def log_mel(wav: np.ndarray, sr: int = MEL_SR) -> np.ndarray:
    """Natural-log mel magnitude spectrogram. Args: wav (N,). Returns: (N_MELS, frames)."""
    import librosa

    mel = librosa.feature.melspectrogram(y=np.asarray(wav, dtype=np.float32), sr=sr, n_fft=N_FFT, hop_length=HOP,
                                         n_mels=N_MELS, power=1.0)
    return np.log(np.maximum(mel, LOG_FLOOR))


def mel_distance(ref: np.ndarray, deg: np.ndarray, sr: int = MEL_SR) -> float:
    """L1 distance of log-mel spectrograms, averaged over bins and frames (signals trimmed to the shorter)."""
    ref, deg = trim_to_shorter(np.asarray(ref), np.asarray(deg))
    return float(np.mean(np.abs(log_mel(ref, sr) - log_mel(deg, sr))))


class MelScorer(Scorer):
    """`mel`: L1 log-mel distance between ref and gen."""

    name = "mel"
    columns = {"mel": False}

    def model_version(self) -> str:
        return f"librosa {metadata.version('librosa')} log-mel L1 ({MEL_SR} Hz, n_fft {N_FFT}, hop {HOP}, {N_MELS} mels)"

    def score_one(self, item: EvalItem) -> UttResult:
        return UttResult(values={"mel": mel_distance(item.audio("ref", MEL_SR), item.audio("gen", MEL_SR))})
