"""Stage 10 end to end through `main(argv)`: a tiny codec + tiny random LM speak a clone list in nj parts, resume,
refuse other settings, and voice creation (scripted LM) writes wavs, wav.scp, timing and failed."""
from __future__ import annotations

import numpy as np
import pytest

from tts_codec.bin import tts_decode
from tts_codec.data.audio import read_audio
from tts_codec.data.table import read_table
from tts_codec.errors import UserError
from tts_codec.lm.spark import prompts as P
from tts_codec.testing.spark_tts import ScriptedLM, make_tts_dirs, make_tts_test_set
from tts_codec.tts.spark import SparkTTS
from tts_codec.tts.voice import Voice

FAST = ["--max_new_tokens", "20", "--num_threads", "1"]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    return make_tts_dirs(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def test_set(tmp_path_factory):
    return make_tts_test_set(tmp_path_factory.mktemp("set"))


def _args(models, out, *extra):
    return ["--codec_dir", str(models[0]), "--lm_dir", str(models[1]), "--out_dir", str(out), *FAST, *extra]


def _clone(models, test_set, out, *extra):
    return tts_decode.main(["--task", "clone", "--meta_lst", str(test_set[1] / "meta.lst"), *_args(models, out),
                            *extra])


def test_clone_list_in_two_parts_resumes_and_matches_one_part(models, test_set, tmp_path):
    out = tmp_path / "decode_test_clone"
    assert _clone(models, test_set, out, "--nj", "2", "--nj_part", "1") == 0
    assert not (out / "wav" / "wav.scp").exists()  # part 2 is not done yet
    assert _clone(models, test_set, out, "--nj", "2", "--nj_part", "2") == 0
    scp = read_table(out / "wav" / "wav.scp")
    assert sorted(scp) == ["spk1-utt1", "spk1-utt2", "spk2-utt1", "spk2-utt2"]
    assert sorted(read_table(out / "timing")) == sorted(scp) and (out / "failed").read_text() == ""
    for path in scp.values():
        wav, sr = read_audio(path)
        assert sr == 16000 and len(wav) % 320 == 0 and 0 < len(wav) <= 20 * 320
    stamps = {u: (out / "wav" / f"{u}.wav").stat().st_mtime_ns for u in scp}
    assert _clone(models, test_set, out, "--nj", "2", "--nj_part", "1") == 0  # resume: nothing to redo
    assert stamps == {u: (out / "wav" / f"{u}.wav").stat().st_mtime_ns for u in scp}
    single = tmp_path / "single"
    assert _clone(models, test_set, single) == 0  # the seed is per utterance: the split does not matter
    for utt in scp:
        assert np.array_equal(read_audio(str(single / "wav" / f"{utt}.wav"))[0],
                              read_audio(str(out / "wav" / f"{utt}.wav"))[0])


def test_other_settings_are_refused_unless_overwrite(models, test_set, tmp_path):
    out = tmp_path / "dec"
    assert _clone(models, test_set, out) == 0
    with pytest.raises(UserError, match="other settings .*sampling.*--overwrite true"):
        _clone(models, test_set, out, "--seed", "7")
    (models[1] / "config.json").touch()  # as if stage 8 had written a new LM
    with pytest.raises(UserError, match="other settings .*lm_model"):
        _clone(models, test_set, out)
    before = (out / "wav" / "spk1-utt1.wav").read_bytes()
    assert _clone(models, test_set, out, "--seed", "7", "--overwrite", "true") == 0
    assert (out / "wav" / "spk1-utt1.wav").read_bytes() != before


def test_voice_creation_writes_every_labelled_utterance_and_lists_the_rest(models, test_set, tmp_path, monkeypatch):
    data = tmp_path / "test"
    import shutil

    shutil.copytree(test_set[0], data)
    (data / "utt2gender").write_text("spk1-utt1 m\nspk1-utt2 unknown\nspk2-utt1 f\nspk2-utt2 f\n")
    load = SparkTTS.from_dirs

    def scripted(*args, **kwargs):
        tts = load(*args, **kwargs)
        target = P.control_target(220, 4, np.arange(32), np.arange(30, 45))
        tts.lm = ScriptedLM(tts.lm, [[P.encode(target, tts.vocab)]], tts.vocab.eos_id)
        return tts

    monkeypatch.setattr(SparkTTS, "from_dirs", scripted)
    out = tmp_path / "create"
    assert tts_decode.main(["--task", "create", "--data_dir", str(data), "--fine_values", "true",
                            *_args(models, out), "--max_new_tokens", "80"]) == 0
    assert sorted(read_table(out / "wav" / "wav.scp")) == ["spk1-utt1", "spk2-utt1", "spk2-utt2"]
    assert "no gender label" in read_table(out / "failed")["spk1-utt2"]
    assert len(read_audio(str(out / "wav" / "spk2-utt1.wav"))[0]) == 15 * 320


def test_a_random_lm_never_creates_a_voice_and_the_run_says_so(models, test_set, tmp_path):
    with pytest.raises(UserError, match="no utterance could be spoken"):
        tts_decode.main(["--task", "create", "--data_dir", str(test_set[0]), *_args(models, tmp_path / "c"),
                         "--max_retries", "1"])
    assert (tmp_path / "c" / "wav" / "wav.scp").read_text() == ""  # a report can show the system that said nothing
    assert len(read_table(tmp_path / "c" / "failed")) == 4


def test_a_saved_voice_speaks_a_data_dir(models, test_set, tmp_path):
    Voice(np.arange(32) * 11, {"gender": "female"}, "test").save(tmp_path / "v.json")
    out = tmp_path / "voice"
    assert tts_decode.main(["--task", "voice", "--voice", str(tmp_path / "v.json"), "--data_dir", str(test_set[0]),
                            *_args(models, out), "--batch_size", "3", "--restrict_head", "true"]) == 0
    assert len(read_table(out / "wav" / "wav.scp")) == 4
