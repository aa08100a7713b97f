"""The scorer contract: evaluation items, per-utterance results with failures, checked audio loading, summaries.

A scorer turns a batch of `EvalItem`s into one `UttResult` each. Anything wrong with one utterance (missing,
silent or too short wav, unsupported sample rate, a library refusing the input) becomes a failure *reason* for that
utterance and metric, never an exception that stops the run. One rule for short audio holds for every metric:
audio shorter than MIN_SECONDS is a failure, never a number averaged with real ones.
"""
from __future__ import annotations

import functools
import math
import os
from collections import Counter
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar, Optional, Sequence, Tuple, Union

import numpy as np

from tts_codec.errors import UserError

MIN_SR, MAX_SR = 8000, 192000
SILENCE_PEAK = 1e-4  # -80 dBFS: nothing a metric can measure
MIN_SECONDS = 0.25  # shorter audio is a failure for every metric (PESQ's own floor; below a syllable)
BOOTSTRAP_RESAMPLES = 2000

#: An audio reference: a wav.scp spec (path or `cmd |`), or (spec, start_s, end_s) for a `segments` entry.
AudioSpec = Union[str, Tuple[str, float, Optional[float]]]


class ScoreFailure(Exception):
    """One utterance could not be scored; the message is the reason written to failures.tsv."""


@dataclass
class EvalItem:
    """One utterance to score. Audio fields are AudioSpecs (see `AudioSpec`), None when not available.

    Attributes:
        gen: the generated (or resynthesised) audio under test.
        ref: the ground-truth audio of the same utterance (intrusive metrics, SIM of codec resynthesis).
        text: the text the audio should say (WER).
        prompt: the speaker prompt given to the TTS (SIM-o); prompt_recon: that prompt resynthesised (SIM-r).
        labels: intended attribute labels, e.g. {"pitch": "high", "speed": "low", "gender": "female"}.
    """

    utt: str
    gen: AudioSpec | None = None
    ref: AudioSpec | None = None
    text: str | None = None
    prompt: AudioSpec | None = None
    prompt_recon: AudioSpec | None = None
    labels: dict[str, str] = field(default_factory=dict)

    def audio(self, role: str, sr: int) -> np.ndarray:
        """Load the `role` wav ("gen", "ref", "prompt", "prompt_recon") at `sr`; ScoreFailure when unusable."""
        spec = getattr(self, role)
        if spec is None:
            raise ScoreFailure(f"no {role} wav for this utterance")
        return load_checked(spec, sr)

    def native_sr(self, role: str) -> int:
        """Sample rate of the `role` wav as stored (before any resampling)."""
        spec = getattr(self, role)
        if spec is None:
            raise ScoreFailure(f"no {role} wav for this utterance")
        return _load_native(spec)[1]


@dataclass
class UttResult:
    """Per-utterance output: metric values, failure reasons, and side-file lines (e.g. {"hyp.txt": "..."}).

    A column in neither `values` nor `failures` is "not applicable" (an empty cell that counts as neither).
    """

    values: dict[str, float] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    extras: dict[str, str] = field(default_factory=dict)

    @classmethod
    def failed(cls, columns: Sequence[str], reason: str) -> "UttResult":
        return cls(failures={c: reason for c in columns})


@dataclass
class EvalOptions:
    """Every knob a scorer may read; the CLI fills it from flags of the same names."""

    asr_model_dir: str | None = None
    asr_beam_size: int = 1
    asr_language: str = "en"
    asr_threads: int = 2
    speaker_model_dir: str | None = None
    attr_boundaries: str | None = None
    syllable_dict: str | None = None
    lang: str = "en"
    timing_file: str | None = None
    device: str = "cpu"  # torch/CTranslate2 device of the model-based metrics (ASR, speaker embeddings)


class Scorer(ABC):
    """Base class: subclasses set `name`, `columns` ({column: higher_is_better or None}) and `score_one`.

    Models are loaded lazily (on first use) and shared per process through cached loader functions.
    """

    name: ClassVar[str]
    columns: ClassVar[dict[str, bool | None]]

    def __init__(self, options: EvalOptions | None = None) -> None:
        self.options = options or EvalOptions()

    def model_version(self) -> str:
        """Exact model/package identity behind the numbers (goes into summary.json "models")."""
        return "none"

    def score(self, items: Sequence[EvalItem]) -> list[UttResult]:
        """Score a batch; per-item ScoreFailure becomes a failure on every column of this scorer."""
        results = []
        for item in items:
            try:
                results.append(self.score_one(item))
            except ScoreFailure as err:
                results.append(UttResult.failed(list(self.columns), str(err)))
        return results

    @abstractmethod
    def score_one(self, item: EvalItem) -> UttResult:
        """Score one item or raise ScoreFailure."""


def _key(spec) -> tuple[str, float, float | None]:
    return (spec, 0.0, None) if isinstance(spec, str) else (spec[0], float(spec[1]), spec[2])


def _stamp(path: str) -> int:
    """File modification time (0 for pipes), part of the cache key so a rewritten file is read again."""
    if path.rstrip().endswith("|"):
        return 0
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        raise ScoreFailure(f"missing wav {path}") from None


def describe(spec) -> str:
    """Human-readable form of an AudioSpec for failure reasons."""
    path, start, end = _key(spec)
    return path if not start and end is None else f"{path} [{start}, {end}] s"


def cache_key(spec) -> tuple[str, float, float | None, int]:
    """A hashable identity of an AudioSpec's current content (path, span, modification time)."""
    key = _key(spec)
    return (*key, _stamp(key[0]))


def _load_native(spec) -> tuple[np.ndarray, int]:
    key = _key(spec)
    return _load_native_cached(key, _stamp(key[0]))


@functools.lru_cache(maxsize=32)
def _load_native_cached(key: tuple[str, float, float | None], stamp: int) -> tuple[np.ndarray, int]:
    from tts_codec.data.audio import read_audio

    path, start, end = key
    where = describe(key)
    try:
        wav, sr = read_audio(path, start=start, end=end)
    except (UserError, RuntimeError, OSError, ValueError) as err:
        raise ScoreFailure(f"unreadable wav: {err}") from None
    if not MIN_SR <= sr <= MAX_SR:
        raise ScoreFailure(f"unsupported sample rate {sr} Hz in {where} (need {MIN_SR}..{MAX_SR})")
    if wav.size and not np.isfinite(wav).all():
        raise ScoreFailure(f"non-finite samples (NaN/inf) in {where}")
    if wav.size == 0 or float(np.max(np.abs(wav))) < SILENCE_PEAK:
        raise ScoreFailure(f"silent or empty wav {where}")
    if wav.size < MIN_SECONDS * sr:
        raise ScoreFailure(f"too short to score: {wav.size / sr:.3f} s in {where} (every metric needs >= {MIN_SECONDS} s)")
    wav = np.ascontiguousarray(wav, dtype=np.float32)
    wav.setflags(write=False)
    return wav, sr


def load_checked(spec, sr: int) -> np.ndarray:
    """Mono float32 audio of an AudioSpec at `sr` (soxr resampling); read-only, cached for the current batch.

    Raises:
        ScoreFailure: missing, unreadable, non-finite, silent/empty, shorter than MIN_SECONDS, or outside the
            supported sample-rate range.
    """
    key = _key(spec)
    return _resampled(key, _stamp(key[0]), sr)


@functools.lru_cache(maxsize=32)
def _resampled(key: tuple[str, float, float | None], stamp: int, sr: int) -> np.ndarray:
    wav, native = _load_native_cached(key, stamp)
    if native == sr:
        return wav
    import soxr

    out = soxr.resample(wav, native, sr).astype(np.float32)
    out.setflags(write=False)
    return out


def trim_to_shorter(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cut both signals to the shorter length (codec outputs differ from the input by a few samples)."""
    n = min(len(a), len(b))
    return a[:n], b[:n]


def mean_ci95(values: Sequence[float], seed: int = 0) -> tuple[float, list[float]]:
    """Mean and 95 % percentile-bootstrap interval (2000 resamples, fixed seed, over values in given order).

    The seed and C-sorted input order make the interval reproducible, so merged parts equal a whole run.
    """
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return math.nan, [math.nan, math.nan]
    mean = float(x.mean())
    if x.size == 1:
        return mean, [mean, mean]
    rng = np.random.default_rng(seed)
    boots = x[rng.integers(0, x.size, size=(BOOTSTRAP_RESAMPLES, x.size))].mean(axis=1)
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return mean, [float(lo), float(hi)]


def run_scorers(items: Sequence[EvalItem], scorers: Sequence[Scorer], batch_size: int = 16) -> dict[str, UttResult]:
    """Run every scorer over `items` batch by batch (with a progress bar); returns utt -> merged UttResult."""
    from tqdm import tqdm

    merged = {item.utt: UttResult() for item in items}
    for start in tqdm(range(0, len(items), batch_size), desc="scoring", unit="batch", disable=None):
        batch = items[start:start + batch_size]
        for scorer in scorers:
            for item, result in zip(batch, scorer.score(batch)):
                target = merged[item.utt]
                target.values.update(result.values)
                target.failures.update(result.failures)
                target.extras.update(result.extras)
    return merged


def require_scores(results: dict[str, UttResult]) -> None:
    """UserError when not one value was scored (every utterance failed every metric), naming the common reasons:
    such a run is a broken input (wrong list, missing audio), not a result."""
    if any(math.isfinite(v) for r in results.values() for v in r.values.values()):
        return
    reasons = Counter(reason for r in results.values() for reason in set(r.failures.values()))
    common = "; ".join(f"{n}x {reason}" for reason, n in reasons.most_common(2))
    raise UserError(f"no utterance could be scored: all {len(results)} failed every metric ({common or 'no scores'})")
