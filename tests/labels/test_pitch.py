"""Pitch labels on signals with a known F0: PyWorld mean F0, silence trimming, noise rejection, mel values/levels."""
from __future__ import annotations

import numpy as np
import pytest

from tts_codec.attributes import DEFAULT_BOUNDARIES, hz_to_mel
from tts_codec.labels.pitch import NoVoicedFrames, f0_contour, mean_f0, pitch_level, pitch_value

SR = 16000


def harmonic(f0: float, seconds: float = 1.0, pad: float = 0.0, sr: int = SR) -> np.ndarray:
    """A five-harmonic 'vowel' at `f0` Hz with `pad` s of silence on both sides."""
    t = np.arange(int(seconds * sr)) / sr
    wav = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 6)) * 0.2
    silence = np.zeros(int(pad * sr))
    return np.concatenate([silence, wav, silence]).astype(np.float32)


@pytest.mark.parametrize("f0", [60.0, 100.0, 150.0, 220.0, 400.0])
def test_mean_f0_of_a_harmonic_tone(f0):
    assert mean_f0(harmonic(f0), SR) == pytest.approx(f0, rel=0.01)


def test_mean_f0_at_other_sample_rates_and_with_silence():
    assert mean_f0(harmonic(120.0, sr=24000), 24000) == pytest.approx(120.0, rel=0.01)
    padded = harmonic(120.0, pad=0.5)
    assert f0_contour(padded, SR).size == pytest.approx(1.0 / 0.005, abs=10)  # 5 ms frames over the trimmed second
    assert mean_f0(padded, SR) == pytest.approx(120.0, rel=0.01)


def test_mean_f0_is_the_mean_over_voiced_frames():
    glide = np.concatenate([harmonic(100.0), harmonic(200.0)])
    assert mean_f0(glide, SR) == pytest.approx(150.0, rel=0.03)


@pytest.mark.parametrize("seed", range(4))
def test_white_noise_has_no_voiced_frames(seed):
    """DIO alone reports F0 near its floor on some noise (seed 0: 22 frames of 2 s); the periodicity check drops it."""
    noise = (0.1 * np.random.default_rng(seed).standard_normal(2 * SR)).astype(np.float32)
    with pytest.raises(NoVoicedFrames, match="no voiced frames"):
        mean_f0(noise, SR)


@pytest.mark.parametrize("wav", [np.zeros(SR, np.float32), np.zeros(0, np.float32), harmonic(150.0, 0.004)],
                         ids=["silence", "empty", "4ms"])
def test_silence_and_too_short_audio_have_no_voiced_frames(wav):
    with pytest.raises(NoVoicedFrames):
        mean_f0(wav, SR)


def test_pitch_value_is_int_mel_clipped():
    assert pitch_value(100.0) == int(hz_to_mel(100.0)) == 150
    assert pitch_value(1e6) == 1000 and pitch_value(0.0) == 0


def test_pitch_levels_use_the_gender_boundaries():
    male, female = DEFAULT_BOUNDARIES["pitch"]["male"], DEFAULT_BOUNDARIES["pitch"]["female"]
    assert [pitch_level(f, male) for f in (90, 100, 125, 150, 200)] == \
        ["very_low", "low", "moderate", "high", "very_high"]
    assert [pitch_level(f, female) for f in (140, 170, 200, 240, 300)] == \
        ["very_low", "low", "moderate", "high", "very_high"]
