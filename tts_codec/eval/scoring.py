"""The scorer contract: evaluation items, per-utterance results with failures, checked audio loading, summaries.

A scorer turns a batch of `EvalItem`s into one `UttResult` each. Anything wrong with one utterance (missing,
silent or too short wav, unsupported sample rate, a library refusing the input) becomes a failure *reason* for that
utterance and metric, never an exception that stops the run. One rule for short audio holds for every metric:
audio shorter than MIN_SECONDS (or silent) is a failure, never a measured number averaged with real ones.

Failures of the audio under test (`GenFailure`: missing, unreadable, silent or too short) in the TTS headline
metrics (those with `worst` values: wer/cer, sim_o, sim_r) are not dropped from the mean, which would flatter a
weak system:
- toolkit rules (every protocol but `seed`): the utterance gets the worst score (WER/CER 1.0 = nothing recognised,
  SIM 0.0 = no shared direction) *and* a failure row, so it counts in the mean (`n`) and in `n_failed`;
- `seed` rules (Seed-TTS-eval exactly): every readable generated wav is scored as the official scripts do, silent
  and short ones included (an empty transcript is WER 1.0); a missing or unreadable one is left out of the mean as
  the official scripts leave it out (they skip a missing file; an unreadable one stops them), counted in `n_failed`.
Other metrics (PESQ, STOI, mel, DNSMOS, attributes) leave every failure out of the mean and count it.
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
SEED_PROTOCOLS = ("seed", "seed-tts-eval")  # --protocol values that select the official Seed-TTS-eval rules

#: An audio reference: a wav.scp spec (path or `cmd |`), or (spec, start_s, end_s) for a `segments` entry.
AudioSpec = Union[str, Tuple[str, float, Optional[float]]]


class ScoreFailure(Exception):
    """One utterance could not be scored; the message is the reason written to failures.tsv."""


class GenFailure(ScoreFailure):
    """The audio under test itself is unusable (missing, unreadable, silent, too short): a failure of the system."""


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

    def audio(self, role: str, sr: int, audible: bool = True) -> np.ndarray:
        """Load the `role` wav ("gen", "ref", "prompt", "prompt_recon") at `sr`.

        Args:
            audible: refuse silent audio and audio shorter than MIN_SECONDS (False: any readable wav, even empty).
        Raises:
            ScoreFailure when unusable; GenFailure (a subclass) when the unusable audio is the "gen" one.
        """
        spec = getattr(self, role)
        kind = GenFailure if role == "gen" else ScoreFailure
        try:
            if spec is None:
                raise ScoreFailure(f"no {role} wav for this utterance")
            return load_checked(spec, sr) if audible else load_readable(spec, sr)
        except ScoreFailure as err:
            raise kind(str(err)) from None

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
    asr_language: str | None = None  # None: the language of `lang`
    asr_threads: int = 2
    asr_compute_type: str | None = None  # None: float16 on CUDA, int8 on CPU
    hyp_file: str | None = None  # `utt transcript` lines scored instead of running the ASR
    speaker_model_dir: str | None = None
    attr_boundaries: str | None = None
    syllable_dict: str | None = None
    lang: str = "en"  # language of the texts: en (WER) or zh (CER); also of the speed boundaries
    timing_file: str | None = None
    device: str = "cpu"  # torch/CTranslate2 device of the model-based metrics (ASR, speaker embeddings)
    protocol: str = ""  # "seed" / "seed-tts-eval" select the official Seed-TTS-eval rules (see the module docstring)
    text_norm: str = ""  # WER text normaliser; "" = the protocol's (seed-tts for `seed`, simple otherwise)

    @property
    def seed_rules(self) -> bool:
        """True when the official Seed-TTS-eval rules apply (normaliser, failures, ASR window)."""
        return self.protocol.strip().lower() in SEED_PROTOCOLS


class Scorer(ABC):
    """Base class: subclasses set `name`, `columns` ({column: higher_is_better or None}) and `score_one`.

    Models are loaded lazily (on first use) and shared per process through cached loader functions.
    """

    name: ClassVar[str]
    columns: ClassVar[dict[str, bool | None]]
    #: worst value per column, counted for a failed audio under test (TTS headline metrics only; see module doc)
    worst: ClassVar[dict[str, float]] = {}

    def __init__(self, options: EvalOptions | None = None) -> None:
        self.options = options or EvalOptions()

    def gen_audio(self, item: EvalItem, sr: int) -> np.ndarray:
        """The audio under test; under the seed rules a headline metric takes any readable wav, silent or short."""
        return item.audio("gen", sr, audible=not (self.worst and self.options.seed_rules))

    def worst_values(self) -> dict[str, float]:
        """The columns (and worst values) this scorer writes; subclasses whose columns vary override it."""
        return dict(self.worst)

    def model_version(self) -> str:
        """Exact model/package identity behind the numbers (goes into summary.json "models")."""
        return "none"

    def score(self, items: Sequence[EvalItem]) -> list[UttResult]:
        """Score a batch; per-item ScoreFailure becomes a failure on every column of this scorer."""
        results = []
        for item in items:
            try:
                results.append(self.score_one(item))
            except GenFailure as err:
                results.append(self.gen_failed(str(err)))
            except ScoreFailure as err:
                results.append(UttResult.failed(list(self.columns), str(err)))
        return results

    def gen_failed(self, reason: str) -> UttResult:
        """The result for an unusable audio under test: the worst score plus a failure row under toolkit rules,
        a failure left out of the mean under the seed rules and for metrics without a worst score."""
        worst = self.worst_values()
        if not worst or self.options.seed_rules:
            return UttResult.failed(list(worst or self.columns), reason)
        return UttResult(values=worst, failures={c: f"{reason} (counted as {v:g})" for c, v in worst.items()})

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


def _check_audible(wav: np.ndarray, sr: int, where: str) -> None:
    if wav.size == 0 or float(np.max(np.abs(wav))) < SILENCE_PEAK:
        raise ScoreFailure(f"silent or empty wav {where}")
    if wav.size < MIN_SECONDS * sr:
        raise ScoreFailure(f"too short to score: {wav.size / sr:.3f} s in {where} (every metric needs >= {MIN_SECONDS} s)")


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
    stamp = _stamp(key[0])
    _check_audible(*_load_native_cached(key, stamp), describe(key))
    return _resampled(key, stamp, sr)


def load_readable(spec, sr: int) -> np.ndarray:
    """Like `load_checked`, but silent, short and empty audio is returned too (the Seed-TTS-eval rule)."""
    key = _key(spec)
    return _resampled(key, _stamp(key[0]), sr)


@functools.lru_cache(maxsize=32)
def _resampled(key: tuple[str, float, float | None], stamp: int, sr: int) -> np.ndarray:
    wav, native = _load_native_cached(key, stamp)
    if native == sr or wav.size == 0:
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
    if any(math.isfinite(v) and c not in r.failures for r in results.values() for c, v in r.values.items()):
        return  # a worst score counted for a failure is no score
    reasons = Counter(reason for r in results.values() for reason in set(r.failures.values()))
    common = "; ".join(f"{n}x {reason}" for reason, n in reasons.most_common(2))
    raise UserError(f"no utterance could be scored: all {len(results)} failed every metric ({common or 'no scores'})")
