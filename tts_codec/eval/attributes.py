"""Attribute-control metrics: was the requested pitch level, speed level and gender realised?

Generated audio is measured with the functions that label the training data (`tts_codec.labels`, stage 3), so a
level read here means what the LM was conditioned on:
- Pitch: mean voiced F0 of PyWorld DIO + StoneMask (5 ms, silence trimmed, 50-2400 Hz) -> mel
  `2595 log10(1 + f/700)` -> level with the gender-specific Spark-TTS percentile boundaries (bicodec_spark.md §6),
  or a `--attr_boundaries` JSON file.
- Speed: syllables per second of speech; syllables from the text (CMUdict, an ARPAbet dictionary of
  `WORD PH1 PH2 ...` lines via `--syllable_dict` first, a vowel-group rule for unknown words), duration after
  trimming leading/trailing silence (40 dB).
- Gender: a mean-F0 threshold (165 Hz) classifier. This is an offline *proxy*, not Spark's WavLM classifier.
Confusion matrices have intended labels as rows and predicted labels as columns.
"""
from __future__ import annotations

import functools
from typing import Iterable, Sequence

import numpy as np

from tts_codec.attributes import load_boundaries, parse_gender, parse_level
from tts_codec.errors import UserError
from tts_codec.eval.scoring import EvalItem, EvalOptions, Scorer, ScoreFailure, UttResult, cache_key, load_checked
from tts_codec.labels import pitch, speed, speech_span, syllables
from tts_codec.labels.syllables import count_syllables, read_arpabet  # noqa: F401  (eval's public names)

ATTR_SR = 16000
GENDER_F0_HZ = 165.0


def mean_f0(wav: np.ndarray, sr: int = ATTR_SR) -> float:
    """Mean voiced F0 (Hz) as the stage-3 labels measure it (`tts_codec.labels.pitch`); ScoreFailure if there is
    no voiced frame (noise, silence)."""
    try:
        return pitch.mean_f0(wav, sr)
    except pitch.NoVoicedFrames as err:
        raise ScoreFailure(str(err)) from None


def item_f0(item: EvalItem) -> float:
    """Mean F0 of the item's generated audio, computed once per file per process (pitch and gender share it)."""
    if item.gen is None:
        raise ScoreFailure("no gen wav for this utterance")
    return _cached_f0(cache_key(item.gen), item.gen)


@functools.lru_cache(maxsize=64)
def _cached_f0(key: tuple, spec) -> float:
    return mean_f0(load_checked(spec, ATTR_SR))


def speech_duration(wav: np.ndarray, sr: int = ATTR_SR) -> float:
    """Seconds between the first and last non-silent sample (`tts_codec.labels.speech_span`)."""
    return speech_span.speech_duration(wav, sr)


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
        return f"{pitch.describe()} levels ({src}); gender from label or F0 proxy"

    def score_one(self, item: EvalItem) -> UttResult:
        f0 = item_f0(item)
        gender = parse_gender(item.labels["gender"]) if "gender" in item.labels else predict_gender(f0)
        level = pitch.pitch_level(f0, self.bounds[gender])
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
        return (f"{syllables.describe(self.options.syllable_dict)} / silence-trimmed duration "
                f"({speech_span.TRIM_TOP_DB:g} dB), {self.options.lang} boundaries")

    def score_one(self, item: EvalItem) -> UttResult:
        if not item.text:
            raise ScoreFailure("no text to count syllables")
        try:
            sps = speed.syllables_per_second(item.audio("gen", ATTR_SR), ATTR_SR, item.text, self.arpabet)
        except speed.NoSpeech as err:
            raise ScoreFailure(str(err)) from None
        level = speed.speed_level(sps, self.bounds)
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
        return f"PROXY: mean pyworld F0 < {GENDER_F0_HZ:g} Hz -> male (not a trained gender classifier)"

    def score_one(self, item: EvalItem) -> UttResult:
        predicted = predict_gender(item_f0(item))
        intended = parse_gender(item.labels["gender"]) if "gender" in item.labels else None
        return _with_intended("gender", predicted, intended, {})
