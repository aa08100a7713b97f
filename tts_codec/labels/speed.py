"""Speaking rate as Spark-TTS labels it: syllables per second of speech (bicodec_spark.md §6).

The duration is the span between the first and last non-silent sample (`speech_span`); `speed_value = int(SPS)`
clipped to 0..10 and the level uses the language's percentile boundaries (`tts_codec.attributes`).
"""
from __future__ import annotations

import numpy as np

from tts_codec.attributes import to_level
from tts_codec.labels.speech_span import speech_duration
from tts_codec.labels.syllables import Arpabet, count_syllables

SPEED_VALUE_MAX = 10
#: Shorter spans are not speech worth timing (a click, a breath).
MIN_SPEECH_S = 0.05


class NoSpeech(ValueError):
    """Nothing to time: no text, no syllables, or no speech after trimming the silence."""


def syllables_per_second(wav: np.ndarray, sr: int, text: str, arpabet: Arpabet | None = None) -> float:
    """Syllables of `text` over the speech duration of `wav`.

    Raises:
        NoSpeech: for an empty transcript or (almost) silent audio.
    """
    syllables = count_syllables(text or "", arpabet)
    if syllables == 0:
        raise NoSpeech("no syllables in the text")
    duration = speech_duration(wav, sr)
    if duration <= MIN_SPEECH_S:
        raise NoSpeech("no speech after silence trimming")
    return syllables / duration


def speed_value(sps: float) -> int:
    """Spark's fine speed token value `int(SPS)`, 0..10."""
    return int(np.clip(sps, 0.0, SPEED_VALUE_MAX))


def speed_level(sps: float, bounds: dict[str, float]) -> str:
    """The five-level speed label given one language's boundaries (SPS clipped to 0..10 first, as Spark does)."""
    return to_level(float(np.clip(sps, 0.0, SPEED_VALUE_MAX)), bounds)


def language_key(lang: str) -> str:
    """The boundary-table key of a language tag: `en-us`, `en_GB`, `EN` -> `en`; `zh-cn`, `cmn` -> `zh`."""
    key = lang.strip().lower().replace("_", "-").split("-")[0]
    return {"cmn": "zh", "yue": "zh", "eng": "en", "zho": "zh", "chi": "zh"}.get(key, key)
