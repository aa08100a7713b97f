"""Hostile inputs for the LM benchmark verb: each is refused before any model is built, with one clear message
naming the option, a non-zero exit and no file written (tts_codec.testing.hostile)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tts_codec.testing.hostile import Case, bad_numbers, check_case


def _args(ws: Path, *extra) -> list:
    return ["--out", ws / "bench", "--pipeline", "false", *extra]


SPARK_LM = [
    Case("benchmark_spark_lm", "codec_config_missing", lambda ws: ["--codec_config", ws / "nope.yaml"],
         "--codec_config {ws}/nope.yaml"),
    Case("benchmark_spark_lm", "new_tokens_one", lambda ws: _args(ws, "--new_tokens", "1"), "--new_tokens"),
    Case("benchmark_spark_lm", "warmup_negative", lambda ws: _args(ws, "--warmup", "-1"), "--warmup"),
    Case("benchmark_spark_lm", "dtype_unknown", lambda ws: _args(ws, "--dtypes", "float16"), "--dtypes"),
    Case("benchmark_spark_lm", "path_unknown", lambda ws: _args(ws, "--paths", "fastest"), "--paths"),
    *[Case("benchmark_spark_lm", f"seconds_{name}", lambda ws, v=value: _args(ws, "--seconds", v), "--seconds")
      for name, value in bad_numbers("--seconds") if name != "text"],
    *[Case("benchmark_spark_lm", f"codec_seconds_{name}", lambda ws, v=value: _args(ws, "--codec_seconds", v),
           "--codec_seconds") for name, value in bad_numbers("--codec_seconds") if name != "text"],
    *[Case("benchmark_spark_lm", f"bandwidth_{name}", lambda ws, v=value: _args(ws, "--bandwidth", v),
           "--bandwidth") for name, value in bad_numbers("--bandwidth")],
    *[Case("benchmark_spark_lm", f"{option}_{name}", lambda ws, o=option, v=value: _args(ws, f"--{o}", v),
           f"--{option}") for option in ("batch_sizes", "runs", "threads", "new_tokens", "prompt_tokens")
      for name, value in bad_numbers(option)],
    Case("benchmark_spark_lm", "unknown_option", lambda ws: _args(ws, "--frobnicate"), "--frobnicate"),
]
CASES = SPARK_LM


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hostile_input_is_refused_cleanly(case: Case, tmp_path: Path) -> None:
    check_case(case, tmp_path)
