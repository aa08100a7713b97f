"""eSpeak NG engine, voice table and sentence list of the synthetic corpus generator."""
import re
import shutil

import numpy as np
import pytest

from tts_codec.data.synth.espeak import ENGINE_SR, CliEngine, Prosody, get_engine, synthesize
from tts_codec.data.synth.layouts import voiced_f0
from tts_codec.data.synth.sentences import load_sentences
from tts_codec.data.synth.voices import VOICES, select_speakers
from tts_codec.errors import UserError

TEXT = "The birch canoe slid on the smooth planks."


@pytest.fixture(scope="module")
def engine():
    return get_engine("library")


@pytest.mark.parametrize("sr", [16000, 24000])
def test_audio_is_speech_like_at_target_rate(engine, sr):
    wav = synthesize(TEXT, Prosody("en-us+m3"), sr, engine)
    assert wav.dtype == np.float32 and wav.ndim == 1
    assert 2.0 < len(wav) / sr < 5.0  # evaluation.md §10.1: 3.16 s at 130 wpm
    assert 0.3 < np.abs(wav).max() < 0.99  # 0.8 gain: loud but never clipped
    assert np.sqrt(np.mean(wav**2)) > 0.03


def test_engine_facts(engine):
    samples = engine.synthesize(TEXT, Prosody("en-us+m3"))
    assert samples.dtype == np.int16
    wav16, wav24 = (synthesize(TEXT, Prosody("en-us+m3"), sr, engine) for sr in (16000, 24000))
    assert len(wav16) == pytest.approx(len(samples) * 16000 / ENGINE_SR, abs=2)
    assert len(wav24) == pytest.approx(len(samples) * 24000 / ENGINE_SR, abs=2)
    assert engine.version.startswith("1.52")


def test_same_settings_give_identical_samples_whatever_ran_before(engine):
    first = engine.synthesize(TEXT, Prosody("en-us+f2", seed=5))
    engine.synthesize("Something else entirely, to disturb any state.", Prosody("en+m7", pitch=20))
    again = engine.synthesize(TEXT, Prosody("en-us+f2", seed=5))
    np.testing.assert_array_equal(first, again)


def test_female_voices_are_higher_than_male(engine):
    f0 = {v.voice: np.median(voiced_f0(synthesize(TEXT, v.prosody(), 16000, engine), 16000)) for v in VOICES[:8]}
    male = [f for v, f in f0.items() if next(x for x in VOICES if x.voice == v).gender == "m"]
    female = [f for v, f in f0.items() if next(x for x in VOICES if x.voice == v).gender == "f"]
    assert max(male) < 150 < min(female), f0
    assert len({round(f) for f in f0.values()}) == len(f0)  # every speaker has its own pitch


def test_pitch_and_rate_parameters_act(engine):
    low, high = (np.median(voiced_f0(synthesize(TEXT, Prosody("en-us+m3", pitch=p), 16000, engine), 16000))
                 for p in (20, 80))
    assert high > 1.4 * low
    slow, fast = (len(engine.synthesize(TEXT, Prosody("en-us+m3", rate=r))) for r in (100, 170))
    assert slow > 1.4 * fast


def test_language_tags_resolve_like_the_cli(engine):
    # `en-gb` is not a voice *name* in libespeak-ng 1.52; it must resolve to the en-gb voice, not keep the last one
    engine.synthesize(TEXT, Prosody("en-us+m3"))
    np.testing.assert_array_equal(engine.synthesize(TEXT, Prosody("en-gb+f4")), engine.synthesize(TEXT, Prosody("en+f4")))


@pytest.mark.parametrize("voice, message", [("en-us+nosuch", "unknown variant 'nosuch'"),
                                            ("xx-yy+m3", "no language 'xx-yy'")])
def test_bad_voice_is_a_user_error(engine, voice, message):
    with pytest.raises(UserError, match=message):
        engine.synthesize(TEXT, Prosody(voice))


def test_unknown_backend():
    with pytest.raises(UserError, match="--engine must be"):
        get_engine("festival")


def test_phonemize_gives_ipa(engine):
    ipa = engine.phonemize("Hello world. How are you?", "en-us")
    assert "həlˈoʊ" in ipa and "wˈɜːld" in ipa and "hˈaʊ" in ipa


def test_cli_fallback_engine():
    program = shutil.which("espeak-ng")
    if program is None:
        pytest.skip("espeak-ng program not installed: apt-get install espeak-ng")
    cli = CliEngine(program)
    samples = cli.synthesize(TEXT, Prosody("en-us+f2"))
    assert samples.dtype == np.int16 and 2.0 < len(samples) / ENGINE_SR < 5.0
    np.testing.assert_array_equal(samples, cli.synthesize(TEXT, Prosody("en-us+f2")))
    assert "wˈɜːld" in cli.phonemize("Hello world", "en-us")
    with pytest.raises(UserError, match="espeak-ng failed"):
        cli.synthesize(TEXT, Prosody("zz-nonexistent"))


def test_voice_table_ids_and_genders():
    ids = [v.speaker_id(i + 1) for i, v in enumerate(VOICES)]
    assert len(set(ids)) == len(ids) >= 8
    assert all(re.fullmatch(r"spk\d\d_[a-z]+_[mf]\d", i) for i in ids)
    assert [v.gender for v in VOICES] == ["m", "f"] * (len(VOICES) // 2)
    assert all(120 <= v.rate <= 140 for v in VOICES)  # centred on the ASR-friendly 130 wpm


def test_select_speakers_holds_out_both_genders():
    seen, held = select_speakers(8, 2)
    assert [s.id for s in held] == ["spk07_engb_m4", "spk08_engb_f1"]
    assert len(seen) == 6 and not {s.id for s in seen} & {s.id for s in held}
    with pytest.raises(UserError, match="--num_speakers"):
        select_speakers(len(VOICES) + 1)
    with pytest.raises(UserError, match="--num_test_speakers"):
        select_speakers(4, 3)


def test_sentences():
    sentences = load_sentences()
    assert len(sentences) == 720 and len(set(sentences)) == 720
    assert sentences[0] == "The birch canoe slid on the smooth planks."
    assert all(s[0].isupper() and not s.startswith("#") for s in sentences)
    with pytest.raises(UserError, match="unknown sentence list"):
        load_sentences("timit")
