"""Equal error rate of speaker-verification trials (`enroll test label` lists), from any score source.

A trial is accepted when its score >= threshold. EER is where the false-rejection rate (targets below the
threshold) meets the false-acceptance rate (non-targets at or above it), linearly interpolated between the two
neighbouring thresholds of the empirical curves.
"""
from __future__ import annotations

import os
from typing import Callable, Mapping, NamedTuple, Sequence

import numpy as np

from tts_codec.data.table import read_lines
from tts_codec.errors import UserError
from tts_codec.eval.scoring import ScoreFailure


_LABELS = {"target": True, "1": True, "true": True, "nontarget": False, "0": False, "false": False}


class Trial(NamedTuple):
    """One verification trial: enrolment id, test id, and whether both are the same speaker."""

    enroll: str
    test: str
    target: bool


class EerResult(NamedTuple):
    """EER (fraction in [0, 1]) and the score threshold where it is reached."""

    eer: float
    threshold: float


def read_trials(path: str | os.PathLike) -> list[Trial]:
    """Read `enroll test label` lines (label target/nontarget, 1/0 or true/false); UserError names file:line."""
    trials = []
    for lineno, line in enumerate(read_lines(path), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 3 or fields[2].lower() not in _LABELS:
            raise UserError(f"{path}:{lineno}: expected `enroll test target|nontarget`, got {line.strip()!r}")
        trials.append(Trial(fields[0], fields[1], _LABELS[fields[2].lower()]))
    if not trials:
        raise UserError(f"{path}: no trials")
    return trials


def compute_eer(scores: Sequence[float], targets: Sequence[bool]) -> EerResult:
    """EER of scored trials.

    Args:
        scores: one similarity per trial (higher = more likely the same speaker).
        targets: True for same-speaker trials.
    Raises:
        ValueError: without at least one target and one non-target trial.
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(targets, dtype=bool)
    if y.all() or not y.any():
        raise ValueError("EER needs both target and non-target trials")
    thr = np.unique(s)
    tgt, non = np.sort(s[y]), np.sort(s[~y])
    frr = np.searchsorted(tgt, thr, side="left") / tgt.size  # targets rejected (score < t)
    far = 1.0 - np.searchsorted(non, thr, side="left") / non.size  # non-targets accepted (score >= t)
    diff = frr - far  # non-decreasing in t
    i = int(np.argmax(diff >= 0)) if (diff >= 0).any() else len(thr) - 1
    if i == 0 or diff[i] < 0:
        return EerResult(float((frr[i] + far[i]) / 2), float(thr[i]))
    w = -diff[i - 1] / (diff[i] - diff[i - 1])
    return EerResult(float(frr[i - 1] + w * (frr[i] - frr[i - 1])), float(thr[i - 1] + w * (thr[i] - thr[i - 1])))


def score_trials(
    trials: Sequence[Trial],
    enroll_audio: Mapping[str, object],
    test_audio: Mapping[str, object],
    embed: Callable[[object], np.ndarray],
) -> list[tuple[Trial, float | None, str]]:
    """Cosine-score trials, embedding each distinct wav once.

    Args:
        enroll_audio / test_audio: id -> AudioSpec; embed: AudioSpec -> unit embedding (may raise ScoreFailure).
    Returns:
        (trial, score or None, failure reason or "") per trial, in input order.
    """
    cache: dict[tuple[str, str], np.ndarray | str] = {}

    def get(side: str, key: str, table: Mapping[str, object]) -> np.ndarray:
        if (side, key) not in cache:
            try:
                if key not in table:
                    raise ScoreFailure(f"{side} id {key} has no wav")
                cache[side, key] = embed(table[key])
            except ScoreFailure as err:
                cache[side, key] = str(err)
        value = cache[side, key]
        if isinstance(value, str):
            raise ScoreFailure(value)
        return value

    out = []
    for trial in trials:
        try:
            score = float(np.dot(get("enroll", trial.enroll, enroll_audio), get("test", trial.test, test_audio)))
            out.append((trial, score, ""))
        except ScoreFailure as err:
            out.append((trial, None, str(err)))
    return out
