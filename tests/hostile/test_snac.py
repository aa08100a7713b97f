"""Hostile inputs for the SNAC benchmark verb: each is refused before any model is built, with one clear message
naming the option or file, a non-zero exit and no file written (tts_codec.testing.hostile)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tts_codec.testing.hostile import Case, bad_numbers, check_case


def _args(ws: Path, *extra) -> list:
    return ["--out", ws / "bench", *extra]


def _config(ws: Path, text: str) -> list:
    (ws / "c.yaml").write_text(text)
    return _args(ws, "--config", ws / "c.yaml")


BENCHMARK_SNAC = [
    Case("benchmark_snac", "config_missing", lambda ws: _args(ws, "--config", ws / "nope.yaml"),
         "--config {ws}/nope.yaml"),
    Case("benchmark_snac", "config_not_snac", lambda ws: _config(ws, "codec: bicodec\n"), "--config {ws}/c.yaml"),
    Case("benchmark_snac", "config_bad_yaml", lambda ws: _config(ws, "codec: [\n"), "{ws}/c.yaml"),
    Case("benchmark_snac", "dtype_unknown", lambda ws: _args(ws, "--dtypes", "float16"), "--dtypes"),
    Case("benchmark_snac", "fast_not_bool", lambda ws: _args(ws, "--fast", "maybe"), "--fast"),
    Case("benchmark_snac", "compare_channels_last_not_bool",
         lambda ws: _args(ws, "--compare_channels_last", "maybe"), "--compare_channels_last"),
    Case("benchmark_snac", "warmup_negative", lambda ws: _args(ws, "--warmup", "-1"), "--warmup"),
    *[Case("benchmark_snac", f"{option}_{name}", lambda ws, o=option, v=value: _args(ws, f"--{o}", v), f"--{option}")
      for option in ("seconds", "batch_sizes", "runs", "threads") for name, value in bad_numbers(option)],
    Case("benchmark_snac", "unknown_option", lambda ws: _args(ws, "--frobnicate"), "--frobnicate"),
]
CASES = BENCHMARK_SNAC


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hostile_input_is_refused_cleanly(case: Case, tmp_path: Path) -> None:
    check_case(case, tmp_path)
