"""Hostile inputs for stage 10 (tts_decode): each is refused with one clear message naming the culprit, exits
non-zero and leaves every file as it was (tts_codec.testing.hostile)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tts_codec.testing.hostile import Case, bad_numbers, check_case, set_line
from tts_codec.testing.spark_tts import make_tts_dirs, make_tts_test_set
from tts_codec.tts.voice import Voice

MODELS: dict[str, Path] = {}


@pytest.fixture(scope="module", autouse=True)
def _models(tmp_path_factory):
    MODELS["codec"], MODELS["lm"] = make_tts_dirs(tmp_path_factory.mktemp("models"))


def _args(ws: Path, task: str = "clone", *extra, codec=None, lm=None) -> list:
    data, clone = make_tts_test_set(ws, duration=0.5)
    source = ["--meta_lst", clone / "meta.lst"] if task == "clone" else ["--data_dir", data]
    return ["--task", task, *source, "--codec_dir", codec or MODELS["codec"], "--lm_dir", lm or MODELS["lm"],
            "--out_dir", ws / "exp" / "decode", "--max_new_tokens", "8", *extra]


def _voice(ws: Path, codes, **json_changes) -> list:
    path = ws / "v.json"
    Voice(np.asarray(codes)).save(path)
    if json_changes:
        path.write_text(json.dumps({**json.loads(path.read_text()), **json_changes}))
    return _args(ws, "voice", "--voice", path)


def _edit(args: list, path: Path, line: int, content) -> list:
    set_line(path, line, content)
    return args


CASES = [
    Case("tts_decode", "int8_with_bf16", lambda ws: _args(ws) + ["--int8_weights", "true", "--lm_dtype", "bfloat16"],
         "int8_weights runs float32 activations"),
    Case("tts_decode", "int8_prefill_without_int8_weights", lambda ws: _args(ws) + ["--int8_prefill", "true"],
         "int8_prefill runs the prompt through the int8 body: it needs int8_weights"),
    Case("tts_decode", "codec_channels_last_not_bool", lambda ws: _args(ws) + ["--codec_channels_last", "maybe"],
         "--codec_channels_last"),
    Case("tts_decode", "meta_lst_missing", lambda ws: _args(ws) + ["--meta_lst", ws / "nope.lst"],
         "{ws}/nope.lst: no such meta list"),
    Case("tts_decode", "meta_lst_three_fields",
         lambda ws: _edit(_args(ws), ws / "test_clone" / "meta.lst", 2, "spk1-utt2|a|b"), "meta.lst:2"),
    Case("tts_decode", "meta_lst_empty_text",
         lambda ws: _edit(_args(ws), ws / "test_clone" / "meta.lst", 1, f"u1|x|{ws}/test_wav/spk1-utt1.wav| "),
         "meta.lst:1: infer_text"),
    Case("tts_decode", "meta_lst_prompt_wav_missing",
         lambda ws: _edit(_args(ws), ws / "test_clone" / "meta.lst", 1, f"u1|x|{ws}/gone.wav|hello"),
         "{ws}/gone.wav: no such file"),
    Case("tts_decode", "clone_without_list", lambda ws: ["--task", "clone", "--codec_dir", ws, "--lm_dir", ws,
                                                         "--out_dir", ws / "o"], "--meta_lst"),
    Case("tts_decode", "create_text_punctuation_only",
         lambda ws: _edit(_args(ws, "create"), ws / "test" / "text", 3, "spk2-utt1 ?!"), "spk2-utt1: text '?!'"),
    Case("tts_decode", "create_without_labels",
         lambda ws: (args := _args(ws, "create"), (ws / "test" / "utt2pitch").unlink())[0], "no utt2pitch"),
    Case("tts_decode", "create_fine_values_missing",
         lambda ws: (args := _args(ws, "create", "--fine_values", "true"), (ws / "test" / "utt2speed_value").unlink())[0],
         "no utt2speed_value"),
    Case("tts_decode", "voice_without_file", lambda ws: _args(ws, "voice"), "--voice"),
    Case("tts_decode", "voice_file_missing", lambda ws: _args(ws, "voice", "--voice", ws / "nope.json"),
         "{ws}/nope.json: no such file"),
    Case("tts_decode", "voice_file_not_json",
         lambda ws: ((ws / "v.json").write_text("{"), _args(ws, "voice", "--voice", ws / "v.json"))[1],
         "{ws}/v.json: not a voice file"),
    Case("tts_decode", "voice_file_wrong_version", lambda ws: _voice(ws, range(32), version=3), "version 3"),
    Case("tts_decode", "voice_of_16_globals", lambda ws: _voice(ws, range(16)), "16 global codes"),
    Case("tts_decode", "voice_code_out_of_range", lambda ws: _voice(ws, [5000] * 32), "[0, 4096)"),
    Case("tts_decode", "lm_dir_missing", lambda ws: _args(ws, lm=ws / "nolm"), "{ws}/nolm"),
    Case("tts_decode", "lm_dir_not_an_llm", lambda ws: _args(ws, lm=ws / "test"), "{ws}/test: no config.json"),
    Case("tts_decode", "codec_dir_missing", lambda ws: _args(ws, codec=ws / "nocodec"), "{ws}/nocodec"),
    Case("tts_decode", "nj_part_above_nj", lambda ws: _args(ws, "clone", "--nj", "2", "--nj_part", "3"),
         "--nj_part 3"),
    Case("tts_decode", "top_p_above_one", lambda ws: _args(ws, "clone", "--top_p", "1.5"), "--top_p"),
    Case("tts_decode", "temperature_zero", lambda ws: _args(ws, "clone", "--temperature", "0"), "--temperature"),
    Case("tts_decode", "max_ref_seconds_negative", lambda ws: _args(ws, "clone", "--max_ref_seconds", "-1"),
         "--max_ref_seconds"),
    *[Case("tts_decode", f"batch_size_{name}", lambda ws, v=value: _args(ws, "clone", "--batch_size", v),
           "--batch_size") for name, value in bad_numbers("--batch_size")],
    *[Case("tts_decode", f"max_new_tokens_{name}", lambda ws, v=value: _args(ws, "clone", "--max_new_tokens", v),
           "--max_new_tokens") for name, value in bad_numbers("--max_new_tokens")],
    Case("tts_decode", "unknown_task", lambda ws: _args(ws, "sing"), "--task"),
    Case("tts_decode", "unknown_option", lambda ws: _args(ws, "clone", "--frobnicate"), "--frobnicate"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hostile_input_is_refused_cleanly(case: Case, tmp_path: Path) -> None:
    check_case(case, tmp_path / "ws")
