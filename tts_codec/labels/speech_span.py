"""Where speech starts and ends in a waveform: both attribute measures trim leading and trailing silence first.

The rule is librosa.effects.trim's (frame RMS more than `top_db` below the loudest frame is silence), written out in
numpy because librosa's version JIT-compiles for about 10 s in every new process, i.e. in every labelling job.
"""
from __future__ import annotations

import numpy as np

#: Silence = frames more than this many dB below the loudest frame.
TRIM_TOP_DB = 40.0
FRAME_S = 0.032
HOP_S = 0.008


def speech_span(wav: np.ndarray, sr: int, top_db: float = TRIM_TOP_DB) -> tuple[int, int]:
    """Sample range [start, end) from the first to the last non-silent frame (32 ms frames centred every 8 ms).

    Returns (0, 0) for an all-silent or empty signal.
    """
    x = np.asarray(wav, dtype=np.float64)
    if x.size == 0 or not np.any(x):
        return 0, 0
    frame, hop = max(2, int(round(FRAME_S * sr))), max(1, int(round(HOP_S * sr)))
    padded = np.pad(x, frame // 2)
    if padded.size < frame:
        padded = np.pad(padded, (0, frame - padded.size))
    frames = np.lib.stride_tricks.sliding_window_view(padded, frame)[::hop]
    power = np.mean(frames ** 2, axis=1)
    loud = np.flatnonzero(10.0 * np.log10(np.maximum(power, 1e-20) / power.max()) > -top_db)
    return int(loud[0] * hop), int(min(x.size, (loud[-1] + 1) * hop))


def speech_duration(wav: np.ndarray, sr: int, top_db: float = TRIM_TOP_DB) -> float:
    """Seconds between the first and last non-silent sample."""
    start, end = speech_span(wav, sr, top_db)
    return (end - start) / sr
