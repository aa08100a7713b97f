"""Synthesis speed: real-time factor from a timing file (`utt seconds` of compute per utterance) and durations.

RTF = compute seconds / seconds of generated audio (< 1 is faster than real time). The per-utterance `rtf` column
is averaged like every metric; summary.json also gives the corpus RTF (total compute / total audio), which is the
figure to quote because it is not dominated by short utterances.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from tts_codec.data.table import read_table
from tts_codec.errors import UserError
from tts_codec.eval.scoring import EvalItem, EvalOptions, Scorer, UttResult


@functools.lru_cache(maxsize=4)
def read_timing(path: str) -> dict[str, float]:
    """Read `utt seconds` lines; UserError naming file and utterance for a non-number or negative time."""
    times = {}
    for utt, value in read_table(path).items():
        try:
            seconds = float(value.split()[0])
        except ValueError:
            raise UserError(f"{path}: utterance {utt}: seconds {value!r} is not a number") from None
        if not math.isfinite(seconds) or seconds < 0:
            raise UserError(f"{path}: utterance {utt}: seconds {value!r} must be finite and >= 0")
        times[utt] = seconds
    return times


def duration_stats(durations: list[float]) -> dict[str, float]:
    """Total, mean, median, min and max of durations in seconds."""
    d = np.asarray(durations, dtype=np.float64)
    if d.size == 0:
        return {}
    return {"total": float(d.sum()), "mean": float(d.mean()), "median": float(np.median(d)),
            "min": float(d.min()), "max": float(d.max())}


def corpus_rtf(rtfs: list[float], durations: list[float]) -> float:
    """Total compute / total audio from per-utterance RTFs and durations (rtf_i * dur_i = compute seconds)."""
    total = float(np.sum(durations))
    return float(np.dot(rtfs, durations) / total) if total > 0 else math.nan


class RtfScorer(Scorer):
    """`duration_s` of the generated audio and, with `--timing_file`, its `rtf`."""

    name = "rtf"
    columns = {"duration_s": None, "rtf": False}

    def __init__(self, options: EvalOptions | None = None) -> None:
        super().__init__(options)
        self.timing = read_timing(self.options.timing_file) if self.options.timing_file else None

    def model_version(self) -> str:
        return f"timing file {self.options.timing_file}" if self.timing is not None else "durations only (no --timing_file)"

    def score_one(self, item: EvalItem) -> UttResult:
        sr = item.native_sr("gen")
        result = UttResult(values={"duration_s": len(item.audio("gen", sr)) / sr})
        if self.timing is not None:
            if item.utt in self.timing:
                result.values["rtf"] = self.timing[item.utt] / result.values["duration_s"]
            else:
                result.failures["rtf"] = "utterance not in timing file"
        return result
