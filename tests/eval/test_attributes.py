"""Pitch / speed / gender attribute metrics on signals with known F0 and duration; confusion matrices."""
import json

import numpy as np
import pytest

from tts_codec.data.audio import write_wav
from tts_codec.errors import UserError
from tts_codec.attributes import hz_to_mel, load_boundaries, parse_gender, parse_level, to_level
from tts_codec.eval.attributes import (GenderScorer, PitchScorer, SpeedScorer, confusion, count_syllables, mean_f0,
                                       read_arpabet, speech_duration)
from tts_codec.eval.scoring import EvalItem, EvalOptions, ScoreFailure

SR = 16000


def voiced(f0: float, seconds: float = 1.0, pad: float = 0.0) -> np.ndarray:
    """A harmonic 'vowel' at `f0` Hz with `pad` s of silence on both sides."""
    t = np.arange(int(seconds * SR)) / SR
    wav = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 6)) * 0.2
    silence = np.zeros(int(pad * SR))
    return np.concatenate([silence, wav, silence]).astype(np.float32)


@pytest.mark.parametrize("f0", [100.0, 150.0, 220.0])
def test_mean_f0_of_a_harmonic_tone(f0):
    assert mean_f0(voiced(f0)) == pytest.approx(f0, rel=0.02)


def test_speech_duration_trims_silence():
    assert speech_duration(voiced(150.0, seconds=1.0, pad=0.5)) == pytest.approx(1.0, abs=0.05)


def test_levels_follow_the_spark_table():
    male = load_boundaries(None)["pitch"]["male"]
    assert to_level(hz_to_mel(90.0), male) == "very_low"  # < 144.3 mel (about 96 Hz)
    assert to_level(hz_to_mel(100.0), male) == "low"
    assert to_level(hz_to_mel(125.0), male) == "moderate"
    assert to_level(hz_to_mel(150.0), male) == "high"
    assert to_level(hz_to_mel(200.0), male) == "very_high"
    speed = load_boundaries(None)["speed"]["en"]
    assert [to_level(v, speed) for v in (2.0, 3.0, 4.0, 5.0, 6.0)] == ["very_low", "low", "moderate", "high", "very_high"]


def test_boundary_file_overrides(tmp_path):
    path = tmp_path / "bounds.json"
    path.write_text(json.dumps({"speed": {"en": {"very_low": 1, "low": 2, "high": 3, "very_high": 4}}}))
    bounds = load_boundaries(str(path))
    assert bounds["speed"]["en"]["high"] == 3 and bounds["pitch"]["male"]["low"] == 163.2
    path.write_text(json.dumps({"speed": {"en": {"low": 2}}}))
    with pytest.raises(UserError, match="needs keys very_low, low, high, very_high"):
        load_boundaries(str(path))


def test_label_parsing():
    assert parse_level("3") == "high" and parse_level("Very_Low") == "very_low"
    assert parse_gender("F") == "female" and parse_gender("1") == "male"
    with pytest.raises(UserError, match="unknown attribute level 'loud'"):
        parse_level("loud")


def test_syllables_rule_and_arpabet(tmp_path):
    assert count_syllables("The birch canoe slid on the smooth planks.") == 9
    assert count_syllables("table make beautiful") == 2 + 1 + 3
    assert count_syllables("one two three four five six seven eight nine ten") == 11
    cmu = tmp_path / "cmudict"
    cmu.write_text(";;; comment\nCANOE  K AH0 N UW1\nCANOE(1)  K AH0 N UW1 UW0\nMAKE  M EY1 K\n")
    arpabet = read_arpabet(str(cmu))
    assert arpabet["CANOE"] == ["K", "AH0", "N", "UW1"]
    assert count_syllables("canoe make", arpabet) == 3


def test_confusion_matrix_of_constructed_labels():
    pairs = [("low", "low"), ("low", "moderate"), ("high", "high"), ("high", "high"), ("moderate", "low")]
    out = confusion(pairs, ["low", "moderate", "high"])
    assert out == {"labels": ["low", "moderate", "high"], "matrix": [[1, 1, 0], [1, 0, 0], [0, 0, 2]],
                   "accuracy": 3 / 5}


def test_attribute_scorers_on_tones(tmp_path):
    write_wav(tmp_path / "low.wav", voiced(100.0, 2.0, pad=0.3), SR)  # a male "low" voice
    write_wav(tmp_path / "high.wav", voiced(240.0, 2.0, pad=0.3), SR)  # a female "high" voice
    items = [
        EvalItem("a", gen=str(tmp_path / "low.wav"), text="one two three four five six",
                 labels={"pitch": "low", "speed": "low", "gender": "male"}),
        EvalItem("b", gen=str(tmp_path / "high.wav"), text="one two three four five six seven eight nine ten one",
                 labels={"pitch": "low", "speed": "very_high", "gender": "male"}),
        EvalItem("c", gen=str(tmp_path / "high.wav"), text="one two"),  # no intended labels
    ]
    pitch = PitchScorer().score(items)
    assert pitch[0].values == {"f0_hz": pytest.approx(100.0, rel=0.02), "pitch_acc": 1.0}
    assert pitch[0].extras == {"labels_pitch.txt": "low low"}
    # gender label "male" is used for b's boundaries: 240 Hz is very_high for a man
    assert pitch[1].values["pitch_acc"] == 0.0 and pitch[1].extras["labels_pitch.txt"] == "low very_high"
    assert "pitch_acc" not in pitch[2].values and pitch[2].extras["labels_pitch.txt"] == "- high"
    speed = SpeedScorer(EvalOptions()).score(items)
    assert speed[0].values["sps"] == pytest.approx(6 / 2.0, rel=0.05)  # 3 syll/s -> low
    assert speed[0].values["speed_acc"] == 1.0
    assert speed[1].values["sps"] == pytest.approx(12 / 2.0, rel=0.05) and speed[1].values["speed_acc"] == 1.0
    gender = GenderScorer().score(items)
    assert [g.values.get("gender_acc") for g in gender] == [1.0, 0.0, None]
    assert "PROXY" in GenderScorer().model_version()


def test_unvoiced_audio_fails(tmp_path):
    noise = (0.1 * np.random.default_rng(0).standard_normal(SR)).astype(np.float32)
    write_wav(tmp_path / "noise.wav", noise, SR)
    (result,) = PitchScorer().score([EvalItem("n", gen=str(tmp_path / "noise.wav"))])
    assert result.failures == {"f0_hz": "no voiced frames for F0", "pitch_acc": "no voiced frames for F0"}


def test_low_male_espeak_voice_has_voiced_frames(tmp_path, espeak_engine):
    """Regression: the mini corpus' ground truth `spk09_enus_m2_0004` (en-us+m2 at eSpeak pitch 29, F0 about 80 Hz)
    had no frame with a pyin voicing probability >= 0.5 (the front end of then) and failed as "no voiced frames for
    F0"."""
    from tts_codec.data.synth.espeak import Prosody, synthesize

    prosody = Prosody("en-us+m2", rate=123, pitch=29, pitch_range=60, word_gap=3, seed=1434653963)
    wav = synthesize("The birch looked stark white and lonesome.", prosody, 24000, espeak_engine)
    write_wav(tmp_path / "m2.wav", wav, 24000)  # as in the corpus: 24 kHz, resampled to 16 kHz when scored
    item = EvalItem("spk09_enus_m2_0004", gen=str(tmp_path / "m2.wav"), labels={"gender": "male"})
    (gender,) = GenderScorer().score([item])
    assert gender.failures == {} and gender.values == {"gender_acc": 1.0}
    (pitch,) = PitchScorer().score([item])
    assert 70.0 < pitch.values["f0_hz"] < 110.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_noise_has_no_voiced_frames(seed):
    noise = (0.1 * np.random.default_rng(seed).standard_normal(2 * SR)).astype(np.float32)
    with pytest.raises(ScoreFailure, match="no voiced frames"):
        mean_f0(noise)
