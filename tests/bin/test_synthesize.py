"""The synthesis CLI end to end (main(argv)) on a tiny packed model dir and on the recipe-style codec + LM pair:
the same seed gives the same wav, a text file gives one wav per line in one voice, a saved voice speaks again, and
voice creation keeps the voice it made for the first line."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from tts_codec.bin import synthesize
from tts_codec.cli import run_main
from tts_codec.data.audio import write_wav
from tts_codec.lm.spark import prompts as P
from tts_codec.testing.bicodec import tone
from tts_codec.testing.model_dirs import make_packed_dir
from tts_codec.testing.spark_tts import ScriptedLM
from tts_codec.tts.generation import SamplingConfig
from tts_codec.tts.model_dir import load_model_dir
from tts_codec.tts.synthesis_request import VoiceChoice, speak_texts
from tts_codec.tts.voice import load_voice

FAST = ["--max_new_tokens", "24"]


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    return make_packed_dir(tmp_path_factory.mktemp("synth"))


@pytest.fixture()
def ref(tmp_path):
    write_wav(tmp_path / "ref.wav", tone(1.0), 16000)
    return tmp_path / "ref.wav"


def _run(*argv) -> int:
    return run_main(synthesize.main, [str(a) for a in argv])


def test_clone_is_reproducible_and_the_packed_dir_speaks_like_the_recipe_dirs(packed, ref, tmp_path):
    voice = ["--text", "Hello there.", "--prompt_wav", ref, *FAST]
    args = [*voice, "--seed", "3"]
    assert _run("--model_dir", packed, *args, "--out", tmp_path / "a.wav") == 0
    assert _run("--model_dir", packed, *args, "--out", tmp_path / "b.wav") == 0
    src = packed.parent / "src"
    assert _run("--codec_dir", src / "codec", "--lm_dir", src / "LLM", *args, "--out", tmp_path / "c.wav") == 0
    wav, sr = sf.read(tmp_path / "a.wav")
    assert sr == 16000 and len(wav) > 0 and np.abs(wav).max() > 0
    data = [(tmp_path / f"{n}.wav").read_bytes() for n in "abc"]
    assert data[0] == data[1] == data[2]
    assert _run("--model_dir", packed, *voice, "--seed", "4", "--out", tmp_path / "d.wav") == 0
    assert (tmp_path / "d.wav").read_bytes() != data[0]


def test_a_text_file_speaks_every_line_in_one_saved_voice(packed, ref, tmp_path, capsys):
    (tmp_path / "lines.txt").write_text("First line.\n\nThird line here.\n")
    out = tmp_path / "out"
    assert _run("--model_dir", packed, "--text_file", tmp_path / "lines.txt", "--prompt_wav", ref, *FAST,
                "--out", out, "--save_voice", tmp_path / "v.json") == 0
    assert sorted(p.name for p in out.iterdir()) == ["line0001.wav", "line0003.wav"]
    assert "2 text(s)" in capsys.readouterr().err
    voice = load_voice(tmp_path / "v.json")
    assert voice.global_codes.size == 32 and voice.source == str(ref)
    # the saved voice speaks again (prompt A with the reference's 32 global tokens)
    assert _run("--model_dir", packed, "--text", "First line.", "--voice", tmp_path / "v.json", *FAST,
                "--out", tmp_path / "again.wav") == 0
    assert len(sf.read(tmp_path / "again.wav")[0]) > 0
    # a rerun replaces the outputs only when asked
    assert _run("--model_dir", packed, "--text_file", tmp_path / "lines.txt", "--voice", tmp_path / "v.json",
                *FAST, "--out", out) == 2
    assert _run("--model_dir", packed, "--text_file", tmp_path / "lines.txt", "--voice", tmp_path / "v.json",
                *FAST, "--out", out, "--overwrite", "true") == 0


def test_voice_creation_without_room_for_the_voice_is_refused_and_writes_nothing(packed, tmp_path, capsys):
    # voice creation writes 2 fine values and 32 global tokens before its first semantic token: 24 cannot hold them
    code = _run("--model_dir", packed, "--text", "Hello.", "--gender", "male", "--pitch", "high", *FAST,
                "--out", tmp_path / "x.wav")
    assert code == 2 and "max_new_tokens 24 is too small" in capsys.readouterr().err
    assert not (tmp_path / "x.wav").exists()


def test_voice_creation_keeps_the_voice_made_for_the_first_line(packed):
    tts = load_model_dir(packed)
    script = P.encode(P.control_target(230, 4, np.arange(32) * 9, np.arange(10, 35)), tts.vocab)
    tts.lm = ScriptedLM(tts.lm, [[script]], tts.vocab.eos_id)
    results = speak_texts(tts, ["One.", "Two.", "Three."], VoiceChoice(gender="female", pitch="low"),
                          SamplingConfig(max_new_tokens=120))
    assert tts.lm.calls == 3 and all(r.voice is results[0].voice for r in results)
    assert results[0].voice.attributes["pitch"] == "low" and results[0].voice.global_codes.tolist()[:2] == [0, 9]
    assert all(len(r.wav) == 25 * 320 for r in results)  # 25 semantic frames of 20 ms each
