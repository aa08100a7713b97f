"""Hostile inputs for the synthesis verbs (synthesize, pack_model, web_demo): each is refused with one clear message
naming the culprit, exits non-zero and leaves every file as it was (tts_codec.testing.hostile)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tts_codec.testing.codec_dirs import save_tiny_model
from tts_codec.testing.hostile import Case, bad_numbers, check_case, write_broken_audio
from tts_codec.testing.model_dirs import make_packed_dir

MODELS: dict[str, Path] = {}


@pytest.fixture(scope="module", autouse=True)
def _models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    MODELS["packed"] = make_packed_dir(root)
    MODELS["codec"], MODELS["lm"] = root / "src" / "codec", root / "src" / "LLM"


def _say(ws: Path, *extra, voice=("--gender", "female"), model=None) -> list:
    model = ["--model_dir", MODELS["packed"]] if model is None else model
    return [*model, "--text", "Hello.", *voice, "--out", ws / "x.wav", "--max_new_tokens", "8", *extra]


def _text_file(ws: Path, content: bytes) -> list:
    (ws / "lines.txt").write_bytes(content)
    return ["--model_dir", MODELS["packed"], "--text_file", ws / "lines.txt", "--gender", "male", "--out", ws / "out"]


def _broken_copy(ws: Path) -> list:
    import shutil

    shutil.copytree(MODELS["packed"], ws / "packed")
    (ws / "packed" / "lm" / "model.safetensors").write_bytes(b"cut")
    return _say(ws, model=["--model_dir", ws / "packed"])


def _pack(ws: Path, *extra, codec=None, lm=None, out=None) -> list:
    return ["--codec_dir", codec or MODELS["codec"], "--lm_dir", lm or MODELS["lm"], "--out_dir",
            out or ws / "packed", *extra]


def _existing(ws: Path, name: str) -> Path:
    (ws / name).mkdir(parents=True)
    (ws / name / "keep.txt").write_text("old\n")
    return ws / name


CASES = [
    # synthesize: the model
    Case("synthesize", "no_model", lambda ws: _say(ws, model=[]), "no model: give --model_dir"),
    Case("synthesize", "model_dir_and_pair", lambda ws: _say(ws, "--codec_dir", MODELS["codec"]), "not both"),
    Case("synthesize", "codec_dir_without_lm", lambda ws: _say(ws, model=["--codec_dir", MODELS["codec"]]),
         "--codec_dir and --lm_dir together"),
    Case("synthesize", "model_dir_missing", lambda ws: _say(ws, model=["--model_dir", ws / "nope"]),
         "{ws}/nope: no such directory"),
    Case("synthesize", "model_dir_not_packed", lambda ws: _say(ws, model=["--model_dir", _existing(ws, "m")]),
         "{ws}/m: no model_dir.json"),
    Case("synthesize", "model_dir_truncated_weights", _broken_copy, "{ws}/packed/lm/model.safetensors"),
    # the text
    Case("synthesize", "text_blank", lambda ws: [*_say(ws), "--text", "  "], "--text: the text is empty"),
    Case("synthesize", "text_and_text_file", lambda ws: [*_say(ws), "--text_file", ws / "t.txt"],
         "exactly one of --text or --text_file"),
    Case("synthesize", "text_file_missing", lambda ws: [*_text_file(ws, b"hi\n"), "--text_file", ws / "no.txt"],
         "--text_file {ws}/no.txt: no such file"),
    Case("synthesize", "text_file_blank", lambda ws: _text_file(ws, b"\n  \n"), "every line is blank"),
    Case("synthesize", "text_file_not_utf8", lambda ws: _text_file(ws, b"caf\xe9\n"), "not readable UTF-8"),
    # the voice
    Case("synthesize", "no_voice", lambda ws: _say(ws, voice=()), "exactly one of --prompt_wav"),
    Case("synthesize", "clone_and_create", lambda ws: _say(ws, "--prompt_wav", ws / "x.wav"),
         "exactly one of --prompt_wav"),
    Case("synthesize", "prompt_text_without_wav", lambda ws: _say(ws, "--prompt_text", "hi"), "--prompt_text"),
    Case("synthesize", "pitch_without_gender", lambda ws: _say(ws, voice=("--voice", ws / "v.json", "--pitch",
                                                                          "low")), "--pitch/--speed"),
    Case("synthesize", "gender_unknown", lambda ws: _say(ws, voice=("--gender", "robot")), "--gender: unknown"),
    Case("synthesize", "pitch_unknown", lambda ws: _say(ws, "--pitch", "loud"), "--pitch: unknown attribute level"),
    Case("synthesize", "prompt_wav_missing", lambda ws: _say(ws, voice=("--prompt_wav", ws / "nope.wav")),
         "--prompt_wav {ws}/nope.wav: no such file"),
    *[Case("synthesize", f"prompt_wav_{kind}",
           lambda ws, k=kind: _say(ws, voice=("--prompt_wav", write_broken_audio(ws / "ref.wav", k))),
           "{ws}/ref.wav") for kind in ("empty", "text", "truncated_header", "nan")],
    Case("synthesize", "voice_file_missing", lambda ws: _say(ws, voice=("--voice", ws / "nope.json")),
         "{ws}/nope.json: no such file"),
    # the output
    Case("synthesize", "out_exists", lambda ws: ((ws / "x.wav").write_bytes(b"old"), _say(ws))[1],
         "--out {ws}/x.wav already exists; pass --overwrite true"),
    Case("synthesize", "out_is_a_dir", lambda ws: _say(ws, "--out", _existing(ws, "d")), "--out {ws}/d is a "
         "directory"),
    Case("synthesize", "out_dir_exists", lambda ws: (_existing(ws, "out"), _text_file(ws, b"hi\n"))[1],
         "--out {ws}/out already exists"),
    Case("synthesize", "top_p_above_one", lambda ws: _say(ws, "--top_p", "1.5"), "--top_p"),
    *[Case("synthesize", f"max_new_tokens_{name}", lambda ws, v=value: _say(ws, "--max_new_tokens", v),
           "--max_new_tokens") for name, value in bad_numbers("--max_new_tokens")],
    Case("synthesize", "unknown_option", lambda ws: _say(ws, "--frobnicate"), "--frobnicate"),
    # pack_model
    Case("pack_model", "codec_dir_missing", lambda ws: _pack(ws, codec=ws / "nope"),
         "--codec_dir {ws}/nope: no such directory"),
    Case("pack_model", "lm_dir_not_an_llm", lambda ws: _pack(ws, lm=_existing(ws, "lm")), "{ws}/lm: no config.json"),
    Case("pack_model", "out_dir_exists", lambda ws: _pack(ws, out=_existing(ws, "packed")),
         "model dir {ws}/packed already exists; pass --overwrite true"),
    Case("pack_model", "scores_missing", lambda ws: _pack(ws, "--scores", ws / "RESULTS.md"),
         "--scores {ws}/RESULTS.md: no such file"),
    Case("pack_model", "official_layout_of_a_logmel_codec", lambda ws: _pack(ws, "--official_layout", "true"),
         "--official_layout false"),
    Case("pack_model", "official_layout_not_a_bool", lambda ws: _pack(ws, "--official_layout", "maybe"),
         "--official_layout"),
    Case("pack_model", "codec_larger_than_the_lm_vocabulary",
         lambda ws: _pack(ws, codec=save_tiny_model(ws / "big", codebook_size=16384)), "{ws}/big"),
    # web_demo (a valid model would start a server: only refusals here)
    Case("web_demo", "no_model", lambda ws: [], "no model: give --model_dir"),
    Case("web_demo", "model_dir_missing", lambda ws: ["--model_dir", ws / "nope"], "{ws}/nope: no such directory"),
    *[Case("web_demo", f"port_{name}", lambda ws, v=value: ["--model_dir", MODELS["packed"], "--port", v], "--port")
      for name, value in (("zero", "0"), ("too_high", "70000"), ("text", "http"))],
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hostile_input_is_refused_cleanly(case: Case, tmp_path: Path) -> None:
    check_case(case, tmp_path / "ws")
