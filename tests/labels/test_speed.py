"""Speed labels: speech span (silence trimming), syllables per second, values, levels and language keys."""
from __future__ import annotations

import numpy as np
import pytest

from tts_codec.attributes import DEFAULT_BOUNDARIES
from tts_codec.labels.speech_span import speech_duration, speech_span
from tts_codec.labels.speed import NoSpeech, language_key, speed_level, speed_value, syllables_per_second

SR = 16000


def tone(seconds: float, pad: float = 0.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    silence = np.zeros(int(pad * SR))
    return np.concatenate([silence, 0.3 * np.sin(2 * np.pi * 200 * t), silence]).astype(np.float32)


def test_speech_span_trims_leading_and_trailing_silence():
    """Exact to half a 32 ms frame plus an 8 ms hop at each end (centred frames, as in librosa.effects.trim)."""
    start, end = speech_span(tone(1.0, pad=0.5), SR)
    assert start == pytest.approx(0.5 * SR, abs=0.024 * SR) and end == pytest.approx(1.5 * SR, abs=0.024 * SR)
    assert speech_duration(tone(1.0, pad=0.5), SR) == pytest.approx(1.0, abs=0.048)
    quiet_tail = np.concatenate([tone(1.0), 0.001 * tone(0.5)])  # 50 dB down: silence
    assert speech_duration(quiet_tail, SR) == pytest.approx(1.0, abs=0.048)
    assert speech_span(np.zeros(SR), SR) == (0, 0) and speech_span(np.zeros(0), SR) == (0, 0)


def test_syllables_per_second_over_the_speech_span():
    assert syllables_per_second(tone(2.0, pad=0.4), SR, "one two three four five six") == pytest.approx(3.0, rel=0.03)


@pytest.mark.parametrize("wav,text,reason", [
    (tone(1.0), "", "no syllables in the text"),
    (tone(1.0), " ... ", "no syllables in the text"),
    (np.zeros(SR, np.float32), "hello", "no speech after silence trimming"),
    (tone(0.03), "hello", "no speech after silence trimming"),
])
def test_nothing_to_time_is_no_speech(wav, text, reason):
    with pytest.raises(NoSpeech, match=reason):
        syllables_per_second(wav, SR, text)


def test_speed_values_and_levels():
    assert [speed_value(s) for s in (0.4, 3.9, 9.99, 14.0)] == [0, 3, 9, 10]
    en, zh = DEFAULT_BOUNDARIES["speed"]["en"], DEFAULT_BOUNDARIES["speed"]["zh"]
    assert [speed_level(s, en) for s in (2.0, 3.0, 4.0, 5.0, 6.0, 30.0)] == \
        ["very_low", "low", "moderate", "high", "very_high", "very_high"]
    assert speed_level(2.6, zh) == "very_low" and speed_level(2.6, en) == "low"


@pytest.mark.parametrize("tag,key", [("en-us", "en"), ("en_GB", "en"), ("EN", "en"), ("zh-CN", "zh"), ("cmn", "zh"),
                                     ("de", "de")])
def test_language_keys(tag, key):
    assert language_key(tag) == key
