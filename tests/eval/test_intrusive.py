"""PESQ, STOI and mel distance: identical audio gives the ceiling, known degradations rank in the right order."""
import numpy as np
import pytest
import scipy.signal

from tts_codec.data.audio import write_wav
from tts_codec.eval.intrusive import PesqScorer, StoiScorer, pesq_score, stoi_score
from tts_codec.eval.mel_distance import MelScorer, mel_distance
from tts_codec.eval.scoring import EvalItem, ScoreFailure, trim_to_shorter

SR = 16000


@pytest.fixture(scope="module")
def speech(espeak_engine):
    from tts_codec.data.synth.espeak import Prosody, synthesize

    return synthesize("The birch canoe slid on the smooth planks.", Prosody("en-us+m3"), SR, espeak_engine)


@pytest.fixture(scope="module")
def degraded(speech):
    rng = np.random.default_rng(0)
    b, a = scipy.signal.butter(8, 3000 / (SR / 2))
    return {
        "lowpass": scipy.signal.lfilter(b, a, speech).astype(np.float32),
        "noise": np.clip(speech + 0.02 * rng.standard_normal(len(speech)), -1, 1).astype(np.float32),
    }


def test_identical_is_the_ceiling(speech):
    assert pesq_score(speech, speech, SR, "wb") == pytest.approx(4.64, abs=0.01)
    assert pesq_score(speech, speech, SR, "nb") == pytest.approx(4.55, abs=0.02)
    assert stoi_score(speech, speech) == pytest.approx(1.0, abs=1e-6)
    assert mel_distance(speech, speech) == 0.0


def test_degradations_rank_in_order(speech, degraded):
    lp, noise = degraded["lowpass"], degraded["noise"]
    assert 4.64 > pesq_score(speech, lp) > pesq_score(speech, noise) > 0.9
    assert 1.0 > stoi_score(speech, lp) > stoi_score(speech, noise) > 0.8
    assert 0 < mel_distance(speech, lp) < mel_distance(speech, noise)


def test_pesq_error_code_becomes_a_failure():
    silence = np.zeros(SR, dtype=np.float32)
    with pytest.raises(ScoreFailure, match="no utterances detected"):
        pesq_score(silence, silence)


def test_trim_to_shorter():
    a, b = trim_to_shorter(np.ones(10), np.ones(7))
    assert len(a) == len(b) == 7


def test_scorers_resample_trim_and_fail_per_utterance(tmp_path, speech, degraded):
    write_wav(tmp_path / "ref.wav", speech, SR)
    import soxr

    write_wav(tmp_path / "gen24k.wav", np.append(soxr.resample(speech, SR, 24000), np.zeros(300)), 24000)
    write_wav(tmp_path / "noise.wav", degraded["noise"], SR)
    write_wav(tmp_path / "ref8k.wav", soxr.resample(speech, SR, 8000), 8000)
    items = [
        EvalItem("a", gen=str(tmp_path / "gen24k.wav"), ref=str(tmp_path / "ref.wav")),
        EvalItem("b", gen=str(tmp_path / "noise.wav"), ref=str(tmp_path / "ref.wav")),
        EvalItem("c", gen=str(tmp_path / "absent.wav"), ref=str(tmp_path / "ref.wav")),
        EvalItem("d", gen=str(tmp_path / "noise.wav"), ref=str(tmp_path / "ref8k.wav")),
    ]
    pesq = PesqScorer().score(items)
    assert pesq[0].values["pesq_wb"] > 4.0 > pesq[1].values["pesq_wb"]
    assert "missing wav" in pesq[2].failures["pesq_wb"] and not pesq[2].values
    assert "8000 Hz" in pesq[3].failures["pesq_nb"]
    stoi = StoiScorer().score(items[:3])
    assert stoi[0].values["stoi"] > 0.99 and stoi[0].values["estoi"] > 0.98
    assert set(stoi[2].failures) == {"stoi", "estoi"}
    mel = MelScorer().score(items[:2])
    assert mel[0].values["mel"] < mel[1].values["mel"]
