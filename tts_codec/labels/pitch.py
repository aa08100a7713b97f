"""Pitch of an utterance as Spark-TTS labels it: mean voiced F0 by PyWorld DIO + StoneMask (bicodec_spark.md §6).

5 ms frames over the speech with leading/trailing silence trimmed; F0 outside 50-2400 Hz is discarded, and so are
frames whose waveform does not repeat at the F0 period (see `periodicity`): DIO alone finds "F0" near its floor in
white noise, which would give a failed, noise-only TTS output a pitch. The mean is mapped to mel
`2595 log10(1 + f/700)`, clipped to 0..1000 (`pitch_value = int(mel)`) and binned into five levels with the
gender's percentile boundaries (`tts_codec.attributes`). Evaluation measures generated audio with the same
functions, so labels and measurements agree by construction.
"""
from __future__ import annotations

import warnings
from importlib import metadata

import numpy as np

from tts_codec.attributes import hz_to_mel, to_level
from tts_codec.labels.speech_span import speech_span

FRAME_PERIOD_MS = 5.0
F0_MIN_HZ = 50.0
F0_MAX_HZ = 2400.0
PITCH_VALUE_MAX = 1000
#: Frames with a normalised autocorrelation at the F0 period below this are not voiced. Measured on the mini
#: corpus: voiced eSpeak speech has a median of 0.82-0.98 (10th percentile 0.34-0.87), DIO's false alarms on
#: white noise -0.05-0.05.
MIN_PERIODICITY = 0.3


class NoVoicedFrames(ValueError):
    """The signal has no voiced frame in 50-2400 Hz (silence, noise, or whispered speech)."""


def _pyworld():
    with warnings.catch_warnings():  # pyworld 0.3.5 imports the deprecated pkg_resources
        warnings.simplefilter("ignore", UserWarning)
        import pyworld
    return pyworld


def f0_contour(wav: np.ndarray, sr: int) -> np.ndarray:
    """F0 in Hz per 5 ms frame of the silence-trimmed signal (0 = unvoiced or aperiodic), shape (T,)."""
    start, end = speech_span(wav, sr)
    x = np.ascontiguousarray(np.asarray(wav, dtype=np.float64)[start:end])
    if x.size < int(sr * 3 * FRAME_PERIOD_MS / 1000):
        return np.zeros(0)
    pw = _pyworld()
    f0, times = pw.dio(x, sr, f0_floor=F0_MIN_HZ, f0_ceil=F0_MAX_HZ, frame_period=FRAME_PERIOD_MS)
    f0 = pw.stonemask(x, f0, times, sr)
    f0[(f0 < F0_MIN_HZ) | (f0 > F0_MAX_HZ)] = 0.0
    f0[periodicity(x, f0, times, sr) < MIN_PERIODICITY] = 0.0
    return f0


def periodicity(x: np.ndarray, f0: np.ndarray, times: np.ndarray, sr: int) -> np.ndarray:
    """Normalised autocorrelation of `x` at lag 1/F0 around each frame with F0 > 0 (0 elsewhere), shape (T,).

    The window is max(one period, 20 ms) centred on the frame; 1 = the waveform repeats exactly.
    """
    out = np.zeros(len(f0))
    for i in np.flatnonzero(f0 > 0):
        lag = int(round(sr / f0[i]))
        length = max(lag, int(0.02 * sr))
        begin = max(0, int(times[i] * sr) - length // 2)
        a, b = x[begin:begin + length], x[begin + lag:begin + lag + length]
        n = min(len(a), len(b))
        if n >= lag:
            a, b = a[:n], b[:n]
            out[i] = float(a @ b) / (np.sqrt(float(a @ a) * float(b @ b)) + 1e-12)
    return out


def mean_f0(wav: np.ndarray, sr: int) -> float:
    """Mean F0 (Hz) over the voiced frames (50-2400 Hz, periodic).

    Raises:
        NoVoicedFrames: when there is none.
    """
    f0 = f0_contour(wav, sr)
    voiced = f0[f0 > 0]
    if voiced.size == 0:
        raise NoVoicedFrames("no voiced frames for F0")
    return float(voiced.mean())


def pitch_mel(f0_hz: float) -> float:
    """The mel value Spark-TTS bins: mel of the mean F0, clipped to 0..1000."""
    return float(np.clip(hz_to_mel(f0_hz), 0.0, PITCH_VALUE_MAX))


def pitch_value(f0_hz: float) -> int:
    """Spark's fine pitch token value `int(mel)`, 0..1000."""
    return int(pitch_mel(f0_hz))


def pitch_level(f0_hz: float, bounds: dict[str, float]) -> str:
    """The five-level pitch label of a mean F0 given one gender's mel boundaries."""
    return to_level(pitch_mel(f0_hz), bounds)


def describe() -> str:
    """The measuring method with the library version, recorded beside every label file and score."""
    return (f"pyworld {metadata.version('pyworld')} DIO+StoneMask, {FRAME_PERIOD_MS:g} ms, silence-trimmed, "
            f"mean voiced F0 in {F0_MIN_HZ:g}-{F0_MAX_HZ:g} Hz with periodicity >= {MIN_PERIODICITY:g} -> mel")
