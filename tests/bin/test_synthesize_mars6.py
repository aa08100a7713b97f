"""The synthesis CLI over a mars6 model (a packed dir, or the recipe's SNAC + MARS6 pair): a shallow clone by
default, a deep clone with --prompt_text (per-chunk or fixed-ref), the same seed gives the same wav, a text file
gives one wav per line; voice creation and the spark sampling options are refused with one line."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from tts_codec.bin import synthesize
from tts_codec.cli import run_main
from tts_codec.data.audio import write_wav
from tts_codec.testing.mars6_dirs import make_mars6_tts_dirs
from tts_codec.tts.mars6 import Mars6Options
from tts_codec.tts.model_dir import load_model_dir
from tts_codec.tts.packing import pack_model

TEXT = "Hello there."
FAST = ["--max_attempts", "1"]  # one try per chunk: the random model's audio is not judged here


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("mars6_synth")
    codec, lm = make_mars6_tts_dirs(root / "src")
    pack_model(codec, lm, root / "packed")
    return root / "packed", codec, lm


@pytest.fixture(scope="module")
def ref(tmp_path_factory):
    path = tmp_path_factory.mktemp("ref") / "ref.wav"
    t = np.arange(24000) / 24000
    write_wav(path, (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32), 24000)
    return path


def _run(*argv) -> int:
    return run_main(synthesize.main, [str(a) for a in argv])


def _read(path):
    wav, sr = sf.read(path, dtype="float32")
    assert sr == 24000 and len(wav) > 0
    return wav


def test_shallow_clone_is_reproducible_and_the_pair_speaks_like_the_packed_dir(dirs, ref, tmp_path):
    packed, codec, lm = dirs
    args = ["--text", TEXT, "--prompt_wav", ref, "--seed", "3", *FAST]
    assert _run("--model_dir", packed, *args, "--out", tmp_path / "a.wav") == 0
    assert _run("--codec_dir", codec, "--lm_dir", lm, *args, "--out", tmp_path / "c.wav") == 0
    data = [(tmp_path / f"{n}.wav").read_bytes() for n in "ac"]
    assert data[0] == data[1]
    assert _run("--model_dir", packed, *args, "--seed", "4", "--out", tmp_path / "d.wav") == 0
    assert (tmp_path / "d.wav").read_bytes() != data[0]
    api = load_model_dir(packed, options=Mars6Options(seed=3, deep_clone_mode="none", max_attempts=1)).clone(TEXT, ref)
    np.testing.assert_allclose(_read(tmp_path / "a.wav"), np.clip(api.wav, -1, 1), atol=1 / 16384)


@pytest.mark.parametrize("mode", [None, "fixed-ref"])
def test_prompt_text_makes_a_deep_clone_in_the_chosen_mode(dirs, ref, tmp_path, mode):
    packed = dirs[0]
    extra = ["--deep_clone_mode", mode] if mode else []
    assert _run("--model_dir", packed, "--text", TEXT, "--prompt_wav", ref, "--prompt_text", "a steady tone",
                "--seed", "3", *FAST, *extra, "--out", tmp_path / "deep.wav") == 0
    options = Mars6Options(seed=3, deep_clone_mode=mode or "per-chunk", max_attempts=1)
    api = load_model_dir(packed, options=options).clone(TEXT, ref, "a steady tone")
    np.testing.assert_allclose(_read(tmp_path / "deep.wav"), np.clip(api.wav, -1, 1), atol=1 / 16384)


def test_a_text_file_gives_one_wav_per_line(dirs, ref, tmp_path):
    (tmp_path / "lines.txt").write_text("First line.\n\nThird line here.\n")
    assert _run("--model_dir", dirs[0], "--text_file", tmp_path / "lines.txt", "--prompt_wav", ref, *FAST,
                "--out", tmp_path / "out") == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["line0001.wav", "line0003.wav"]


@pytest.mark.parametrize("extra, message", [
    (["--gender", "female"], "--gender (voice creation): a mars6 model does not offer this"),
    (["--prompt_wav", "REF", "--temperature", "0.5"], "--temperature: an option of spark models"),
    (["--prompt_wav", "REF", "--save_voice", "v.json"], "--save_voice: a mars6 model has no saved voices"),
    (["--prompt_wav", "REF", "--deep_clone_mode", "fixed-ref"], "a deep clone needs --prompt_text"),
])
def test_what_mars6_cannot_do_is_refused_in_one_line(dirs, ref, tmp_path, capsys, extra, message):
    extra = [str(ref) if a == "REF" else str(tmp_path / a) if a.endswith(".json") else a for a in extra]
    assert _run("--model_dir", dirs[0], "--text", TEXT, *extra, "--out", tmp_path / "x.wav") != 0
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and not (tmp_path / "x.wav").exists()
