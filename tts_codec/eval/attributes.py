"""Attribute-control metrics: was the requested pitch level, speed level and gender realised?

- Pitch: mean voiced F0 of librosa.pyin (50-600 Hz, 20 ms hop) -> mel `2595 log10(1 + f/700)` -> level with the
  gender-specific Spark-TTS percentile boundaries (bicodec_spark.md §6), or a `--attr_boundaries` JSON file.
- Speed: syllables per second of speech; syllables from the text (a vowel-group rule, or an ARPAbet dictionary of
  `WORD PH1 PH2 ...` lines via `--syllable_dict`), duration after trimming leading/trailing silence (40 dB).
- Gender: a mean-F0 threshold (165 Hz) classifier. This is an offline *proxy*, not Spark's WavLM classifier.
Confusion matrices have intended labels as rows and predicted labels as columns.
"""
from __future__ import annotations

import functools
import re
from importlib import metadata
from typing import Iterable, Sequence

import numpy as np

from tts_codec.attributes import hz_to_mel, load_boundaries, parse_gender, parse_level, to_level
from tts_codec.errors import UserError
from tts_codec.eval.normalize import simple_normalize
from tts_codec.eval.scoring import EvalItem, EvalOptions, Scorer, ScoreFailure, UttResult, cache_key, load_checked

ATTR_SR = 16000
GENDER_F0_HZ = 165.0
# NOTE(f0): librosa >= 0.11 pyin compares each frame with a zero-padded copy of itself (librosa PR #1882), so the
# energy of the last `lag` samples enters the difference function and the YIN trough rises with the period: on the
# eSpeak male voices of the mini corpus (F0 80-110 Hz, lag 145-200 at 16 kHz) the trough is about 0.3 instead of
# 0.2 and pyin's default threshold prior beta(2, 18) (mean 0.1) leaves every frame's voicing probability below
# 0.5 (spk09_enus_m2_0004: at most 0.48). pYIN's mean-0.2 prior beta(2, 8) (Mauch & Dixon 2014) absorbs this.
# https://github.com/librosa/librosa/pull/1882
PYIN_BETA = (2.0, 8.0)
# Frames without any trough under the thresholds get pyin's `no_trough_prob` (0.01), yet its HMM may still call
# them voiced (white noise: up to 70 % of frames). A floor of 0.1 drops those and keeps at least 50 frames of
# every utterance of the mini corpus.
MIN_VOICED_PROB = 0.1
_VOWEL_GROUP = re.compile(r"[aeiouy]+")


def mean_f0(wav: np.ndarray, sr: int = ATTR_SR) -> float:
    """Mean F0 (Hz) over the frames librosa.pyin calls voiced with a voicing probability >= MIN_VOICED_PROB
    (threshold prior PYIN_BETA, see the NOTE above); ScoreFailure if there are none (noise, silence)."""
    import librosa

    f0, voiced, prob = librosa.pyin(np.asarray(wav, dtype=np.float32), fmin=50.0, fmax=600.0, sr=sr,
                                 frame_length=1024, hop_length=320, beta_parameters=PYIN_BETA)
    f0 = f0[voiced & np.isfinite(f0) & (prob >= MIN_VOICED_PROB)]
    if f0.size == 0:
        raise ScoreFailure("no voiced frames for F0")
    return float(f0.mean())


def item_f0(item: EvalItem) -> float:
    """Mean F0 of the item's generated audio, computed once per file per process (pitch and gender share it)."""
    if item.gen is None:
        raise ScoreFailure("no gen wav for this utterance")
    return _cached_f0(cache_key(item.gen), item.gen)


@functools.lru_cache(maxsize=64)
def _cached_f0(key: tuple, spec) -> float:
    return mean_f0(load_checked(spec, ATTR_SR))


def speech_duration(wav: np.ndarray, sr: int = ATTR_SR, top_db: float = 40.0) -> float:
    """Seconds between the first and last non-silent sample (energy VAD, `top_db` below the peak)."""
    import librosa

    _, (start, end) = librosa.effects.trim(np.asarray(wav, dtype=np.float32), top_db=top_db, frame_length=512,
                                           hop_length=128)
    return (end - start) / sr


def count_syllables(text: str, arpabet: dict[str, list[str]] | None = None) -> int:
    """Syllables of a text: ARPAbet vowels (phones ending in a stress digit) when the word is in `arpabet`, else
    vowel groups (a, e, i, o, u, y) minus a silent final "e" (after a consonant other than l), at least one per
    word; digits count one each."""
    total = 0
    for word in simple_normalize(text).split():
        if arpabet and word.upper() in arpabet:
            total += sum(1 for ph in arpabet[word.upper()] if ph[-1:].isdigit())
        elif word.isdigit():
            total += len(word)
        else:
            groups = len(_VOWEL_GROUP.findall(word))
            silent_e = word.endswith("e") and len(word) > 2 and word[-2] not in "aeiouyl"
            if silent_e and groups > 1:
                groups -= 1
            total += max(groups, 1)
    return total


def read_arpabet(path: str) -> dict[str, list[str]]:
    """CMUdict-style `WORD PH1 PH2 ...` lines (first pronunciation wins; `;;;` comments skipped)."""
    table: dict[str, list[str]] = {}
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            fields = line.split()
            if len(fields) >= 2 and not line.startswith(";;;"):
                table.setdefault(re.sub(r"\(\d+\)$", "", fields[0]).upper(), fields[1:])
    if not table:
        raise UserError(f"--syllable_dict {path}: no `WORD PHONES...` lines")
    return table


def confusion(pairs: Iterable[tuple[str, str]], labels: Sequence[str]) -> dict:
    """Confusion matrix of (intended, predicted) pairs: rows intended, columns predicted, plus accuracy."""
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=int)
    for intended, predicted in pairs:
        matrix[index[intended], index[predicted]] += 1
    total = int(matrix.sum())
    return {"labels": list(labels), "matrix": matrix.tolist(),
            "accuracy": float(np.trace(matrix) / total) if total else None}


def _with_intended(attr: str, predicted: str, intended: str | None, values: dict[str, float]) -> UttResult:
    extras = {f"labels_{attr}.txt": f"{intended or '-'} {predicted}"}
    if intended is not None:
        values[f"{attr}_acc"] = float(intended == predicted)
    return UttResult(values=values, extras=extras)


class PitchScorer(Scorer):
    """`f0_hz` and, when the item has an intended pitch label, `pitch_acc` (1 if the level matches)."""

    name = "pitch"
    columns = {"f0_hz": None, "pitch_acc": True}

    def __init__(self, options: EvalOptions | None = None) -> None:
        super().__init__(options)
        self.bounds = load_boundaries(self.options.attr_boundaries)["pitch"]

    def model_version(self) -> str:
        src = self.options.attr_boundaries or "Spark-TTS percentile table"
        return f"librosa {metadata.version('librosa')} pyin mean F0 -> mel levels ({src}); gender from label or F0 proxy"

    def score_one(self, item: EvalItem) -> UttResult:
        f0 = item_f0(item)
        gender = parse_gender(item.labels["gender"]) if "gender" in item.labels else predict_gender(f0)
        level = to_level(hz_to_mel(f0), self.bounds[gender])
        intended = parse_level(item.labels["pitch"]) if "pitch" in item.labels else None
        return _with_intended("pitch", level, intended, {"f0_hz": f0})


class SpeedScorer(Scorer):
    """`sps` (syllables per second of speech) and, with an intended speed label, `speed_acc`."""

    name = "speed"
    columns = {"sps": None, "speed_acc": True}

    def __init__(self, options: EvalOptions | None = None) -> None:
        super().__init__(options)
        self.arpabet = read_arpabet(self.options.syllable_dict) if self.options.syllable_dict else None
        bounds = load_boundaries(self.options.attr_boundaries)["speed"]
        if self.options.lang not in bounds:
            raise UserError(f"--lang {self.options.lang}: no speed boundaries (have {sorted(bounds)})")
        self.bounds = bounds[self.options.lang]

    def model_version(self) -> str:
        rule = f"ARPAbet {self.options.syllable_dict}" if self.arpabet else "vowel-group rule"
        return f"syllables from text ({rule}) / librosa-trimmed duration (40 dB), {self.options.lang} boundaries"

    def score_one(self, item: EvalItem) -> UttResult:
        if not item.text:
            raise ScoreFailure("no text to count syllables")
        duration = speech_duration(item.audio("gen", ATTR_SR))
        if duration <= 0.05:
            raise ScoreFailure("no speech after silence trimming")
        sps = count_syllables(item.text, self.arpabet) / duration
        level = to_level(sps, self.bounds)
        intended = parse_level(item.labels["speed"]) if "speed" in item.labels else None
        return _with_intended("speed", level, intended, {"sps": sps})


def predict_gender(f0_hz: float) -> str:
    """Proxy gender classifier: mean F0 below 165 Hz -> male, else female."""
    return "male" if f0_hz < GENDER_F0_HZ else "female"


class GenderScorer(Scorer):
    """`gender_acc` of the F0-threshold proxy against the intended gender label (utt2gender / spk2gender)."""

    name = "gender"
    columns = {"gender_acc": True}

    def model_version(self) -> str:
        return f"PROXY: mean pyin F0 < {GENDER_F0_HZ:g} Hz -> male (not a trained gender classifier)"

    def score_one(self, item: EvalItem) -> UttResult:
        predicted = predict_gender(item_f0(item))
        intended = parse_gender(item.labels["gender"]) if "gender" in item.labels else None
        return _with_intended("gender", predicted, intended, {})
