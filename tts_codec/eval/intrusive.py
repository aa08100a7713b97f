"""Intrusive codec-quality metrics against the ground truth: PESQ (wide- and narrow-band) and (E)STOI.

Both signals are resampled to 16 kHz (PESQ accepts only 8/16 kHz) and trimmed to the shorter length, since codec
outputs differ from their input by a few samples (evaluation.md §3 pitfalls 6, 8; §6).
"""
from __future__ import annotations

import warnings
from importlib import metadata

import numpy as np

from tts_codec.eval.scoring import MIN_SECONDS, EvalItem, Scorer, ScoreFailure, UttResult, trim_to_shorter

INTRUSIVE_SR = 16000
_PESQ_ERRORS = {
    -1: "unknown error",
    -2: "invalid sample rate",
    -3: "out of memory (ref)",
    -4: "out of memory (deg)",
    -5: "out of memory (tmp)",
    -6: "buffer too short",
    -7: "no utterances detected",
}


def pesq_score(ref: np.ndarray, deg: np.ndarray, sr: int = INTRUSIVE_SR, mode: str = "wb") -> float:
    """PESQ MOS-LQO of `deg` against `ref` (same length, `sr` 8000 or 16000; "wb" needs 16000).

    Raises:
        ScoreFailure: when the PESQ library returns one of its error codes (e.g. no speech detected).
    """
    from pesq import PesqError, pesq

    value = pesq(sr, np.asarray(ref, dtype=np.float64), np.asarray(deg, dtype=np.float64), mode,
                 on_error=PesqError.RETURN_VALUES)
    if value in _PESQ_ERRORS:
        raise ScoreFailure(f"pesq-{mode}: {_PESQ_ERRORS[int(value)]}")
    return float(value)


def stoi_score(ref: np.ndarray, deg: np.ndarray, sr: int = INTRUSIVE_SR, extended: bool = False) -> float:
    """(Extended) short-time objective intelligibility of `deg` against `ref` (same length).

    Raises:
        ScoreFailure: fewer than the 30 non-silent frames (~0.4 s) STOI needs; pystoi would return 1e-5 instead.
    """
    from pystoi import stoi

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = float(stoi(np.asarray(ref, dtype=np.float64), np.asarray(deg, dtype=np.float64), sr, extended=extended))
    if any("Not enough STFT frames" in str(w.message) for w in caught):
        raise ScoreFailure(f"{'estoi' if extended else 'stoi'}: fewer than 30 non-silent frames (~0.4 s of speech)")
    return value


def _pair(item: EvalItem) -> tuple[np.ndarray, np.ndarray]:
    ref, deg = trim_to_shorter(item.audio("ref", INTRUSIVE_SR), item.audio("gen", INTRUSIVE_SR))
    if len(ref) < MIN_SECONDS * INTRUSIVE_SR:
        raise ScoreFailure(f"overlap of ref and gen is only {len(ref) / INTRUSIVE_SR:.3f} s (need >= {MIN_SECONDS} s)")
    return ref, deg


class PesqScorer(Scorer):
    """`pesq_wb` (16 kHz wide-band) and `pesq_nb` (narrow-band on the same 16 kHz signals)."""

    name = "pesq"
    columns = {"pesq_wb": True, "pesq_nb": True}

    def model_version(self) -> str:
        return f"pesq {metadata.version('pesq')} (ITU-T P.862.2 wb / P.862 nb, 16 kHz)"

    def score_one(self, item: EvalItem) -> UttResult:
        result = UttResult()
        for role in ("ref", "gen"):
            if item.native_sr(role) < INTRUSIVE_SR:
                raise ScoreFailure(f"{role} wav is {item.native_sr(role)} Hz; PESQ here needs >= {INTRUSIVE_SR} Hz")
        ref, deg = _pair(item)
        for mode in ("wb", "nb"):
            try:
                result.values[f"pesq_{mode}"] = pesq_score(ref, deg, INTRUSIVE_SR, mode)
            except ScoreFailure as err:
                result.failures[f"pesq_{mode}"] = str(err)
        return result


class StoiScorer(Scorer):
    """`stoi` and `estoi` (extended STOI) at 16 kHz."""

    name = "stoi"
    columns = {"stoi": True, "estoi": True}

    def model_version(self) -> str:
        return f"pystoi {metadata.version('pystoi')} (16 kHz)"

    def score_one(self, item: EvalItem) -> UttResult:
        ref, deg = _pair(item)
        result = UttResult()
        for column, extended in (("stoi", False), ("estoi", True)):
            try:
                result.values[column] = stoi_score(ref, deg, extended=extended)
            except ScoreFailure as err:
                result.failures[column] = str(err)
        return result
