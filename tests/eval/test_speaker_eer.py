"""Speaker similarity (resemblyzer offline) and EER over trial lists with known scores."""
import numpy as np
import pytest

from tts_codec.data.audio import write_wav
from tts_codec.errors import UserError
from tts_codec.eval.eer import Trial, compute_eer, read_trials, score_trials
from tts_codec.eval.scoring import EvalItem, ScoreFailure
from tts_codec.eval.speaker import ResemblyzerEncoder, SimOScorer, SimScorer, cosine

SR = 16000


@pytest.fixture(scope="module")
def voices(espeak_engine):
    from tts_codec.data.synth.espeak import Prosody, synthesize

    text = "Glue the sheet to the dark blue background."
    return {v: synthesize(text, Prosody(v), SR, espeak_engine) for v in ("en-us+m3", "en-us+f2")}


def test_cosine():
    assert cosine(np.array([1.0, 0.0]), np.array([2.0, 0.0])) == pytest.approx(1.0)
    assert cosine(np.array([1.0, 0.0]), np.array([0.0, 3.0])) == pytest.approx(0.0)
    with pytest.raises(ScoreFailure):
        cosine(np.zeros(2), np.ones(2))


def test_sim_identical_is_one_and_other_voice_lower(tmp_path, voices):
    m3, f2 = voices["en-us+m3"], voices["en-us+f2"]
    noisy = np.clip(m3 + 0.01 * np.random.default_rng(0).standard_normal(len(m3)), -1, 1)
    for name, wav in (("m3", m3), ("f2", f2), ("m3noisy", noisy)):
        write_wav(tmp_path / f"{name}.wav", wav, SR)
    items = [EvalItem(u, gen=str(tmp_path / f"{u}.wav"), ref=str(tmp_path / "m3.wav"),
                      prompt=str(tmp_path / "m3.wav")) for u in ("m3", "m3noisy", "f2")]
    sim = [r.values["sim"] for r in SimScorer().score(items)]
    assert sim[0] == pytest.approx(1.0, abs=1e-4)
    assert 1.0 > sim[1] > sim[2]
    assert [r.values["sim_o"] for r in SimOScorer().score(items)] == pytest.approx(sim)
    assert "resemblyzer" in SimScorer().model_version()


def test_sim_without_prompt_fails_per_item(tmp_path, voices):
    write_wav(tmp_path / "a.wav", voices["en-us+m3"], SR)
    (result,) = SimOScorer().score([EvalItem("a", gen=str(tmp_path / "a.wav"))])
    assert result.failures == {"sim_o": "no prompt wav for this utterance"}


def test_eer_known_answers():
    assert compute_eer([0.9, 0.8, 0.2, 0.1], [True, True, False, False]) == (0.0, 0.8)
    # one of three targets scores below one of three non-targets: EER 1/3 at threshold 0.75
    eer = compute_eer([0.9, 0.8, 0.7, 0.75, 0.3, 0.2], [True, True, True, False, False, False])
    assert eer.eer == pytest.approx(1 / 3) and eer.threshold == pytest.approx(0.75)
    # fully inverted scores: every decision wrong
    assert compute_eer([0.1, 0.2, 0.8, 0.9], [True, True, False, False]).eer == pytest.approx(1.0)
    with pytest.raises(ValueError, match="both target and non-target"):
        compute_eer([0.5, 0.6], [True, True])


def test_eer_of_random_scores_is_near_half():
    rng = np.random.default_rng(0)
    labels = rng.random(4000) < 0.5
    assert compute_eer(rng.random(4000), labels).eer == pytest.approx(0.5, abs=0.03)


def test_read_trials_and_errors(tmp_path):
    path = tmp_path / "trials"
    path.write_text("a b target\nc d nontarget\n\ne f 1\n")
    assert read_trials(path) == [Trial("a", "b", True), Trial("c", "d", False), Trial("e", "f", True)]
    path.write_text("a b target\nc d maybe\n")
    with pytest.raises(UserError, match=r"trials:2: expected `enroll test target\|nontarget`"):
        read_trials(path)


def test_score_trials_embeds_once_and_reports_failures():
    calls = []

    def embed(spec):
        calls.append(spec)
        if spec == "bad":
            raise ScoreFailure("silent or empty wav bad")
        return np.array([1.0, 0.0]) if spec.startswith("x") else np.array([0.0, 1.0])

    trials = [Trial("e1", "t1", True), Trial("e1", "t2", False), Trial("e2", "t1", False), Trial("e1", "t3", True)]
    out = score_trials(trials, {"e1": "x1", "e2": "y1"}, {"t1": "x2", "t2": "y2", "t3": "bad"}, embed)
    assert [s for _, s, _ in out] == [1.0, 0.0, 0.0, None]
    assert out[3][2] == "silent or empty wav bad"
    assert sorted(calls) == sorted(["x1", "x2", "y2", "y1", "bad"])


def test_resemblyzer_embedding_is_unit_norm(voices):
    emb = ResemblyzerEncoder().embed(voices["en-us+f2"])
    assert emb.shape == (256,) and np.linalg.norm(emb) == pytest.approx(1.0)
