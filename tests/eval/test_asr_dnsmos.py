"""ASR-based WER and DNSMOS on a few eSpeak utterances (each costs ~0.5 s on 2 cores, so keep them few)."""
import numpy as np
import pytest

from tts_codec.data.audio import write_wav
from tts_codec.errors import UserError
from tts_codec.eval.asr import WhisperAsr
from tts_codec.eval.dnsmos import DnsmosScorer
from tts_codec.eval.scoring import EvalItem, EvalOptions
from tts_codec.eval.wer import WerScorer

SR = 16000
SENTENCES = {"m3": ("en-us+m3", "The juice of lemons makes fine punch."),
             "f2": ("en-us+f2", "Rice is often served in round bowls.")}


@pytest.fixture(scope="module")
def wavs(tmp_path_factory, espeak_engine):
    from tts_codec.data.synth.espeak import Prosody, synthesize

    root = tmp_path_factory.mktemp("asr")
    for utt, (voice, text) in SENTENCES.items():
        write_wav(root / f"{utt}.wav", synthesize(text, Prosody(voice), SR, espeak_engine), SR)
    return root


def test_wer_scorer_on_espeak_speech(wavs):
    items = [EvalItem(u, gen=str(wavs / f"{u}.wav"), text=t) for u, (_, t) in SENTENCES.items()]
    # negative control: the m3 audio scored against the f2 sentence
    items.append(EvalItem("swapped", gen=str(wavs / "m3.wav"), text=SENTENCES["f2"][1]))
    items.append(EvalItem("notext", gen=str(wavs / "m3.wav")))
    results = WerScorer(EvalOptions(asr_beam_size=1)).score(items)
    for result in results[:2]:
        assert 0.0 <= result.values["wer"] < 0.6, result.extras
        assert result.values["cer"] < 0.3, result.extras
        assert result.extras["hyp.txt"].strip() and result.extras["ref.txt"]
    assert results[2].values["wer"] > 0.8
    assert results[3].failures["wer"] == "no reference text"


def test_asr_version_names_the_bundled_model():
    version = WhisperAsr().version()
    assert "faster-whisper" in version and "tiny.en" in version and "beam 1" in version


def test_bad_asr_model_dir_is_a_user_error(tmp_path, wavs):
    with pytest.raises(UserError, match="no model.bin"):
        WhisperAsr(model_dir=str(tmp_path)).transcribe(np.zeros(SR, dtype=np.float32))


def test_dnsmos_clean_above_noisy(wavs, tmp_path):
    import soundfile

    clean, _ = soundfile.read(wavs / "m3.wav", dtype="float32")
    noisy = clean + 0.05 * np.random.default_rng(0).standard_normal(len(clean)).astype(np.float32)
    write_wav(tmp_path / "noisy.wav", noisy, SR)
    clean_r, noisy_r = DnsmosScorer().score([EvalItem("c", gen=str(wavs / "m3.wav")),
                                             EvalItem("n", gen=str(tmp_path / "noisy.wav"))])
    assert set(clean_r.values) == {"dnsmos_ovrl", "dnsmos_sig", "dnsmos_bak", "dnsmos_p808"}
    assert all(1.0 <= v <= 5.0 for v in clean_r.values.values())
    assert clean_r.values["dnsmos_bak"] > noisy_r.values["dnsmos_bak"]
    assert clean_r.values["dnsmos_ovrl"] > noisy_r.values["dnsmos_ovrl"]
