"""tts.sh checks every numeric option once, with one message, and a stage range that selects nothing is an error:
nothing runs (no data/, exp/ or dump/ appears) and the exit status is 2."""
from __future__ import annotations

from pathlib import Path

import pytest

from tts_codec.testing.recipes import run_recipe

BAD = [
    (("--stage", "abc"), "--stage must be a whole number >= 1, not 'abc'"),
    (("--stage", "99"), "--stage 99: the stages are 1..12"),
    (("--stage", "0"), "--stage must be a whole number >= 1, not '0'"),
    (("--stage", "5", "--stop_stage", "2"), "--stage 5 --stop_stage 2 selects no stage"),
    (("--stop_stage", "-1"), "--stop_stage must be a whole number >= 1, not '-1'"),
    (("--nj", "0"), "--nj must be a whole number >= 1, not '0'"),
    (("--inference_nj", "2.5"), "--inference_nj must be a whole number >= 1, not '2.5'"),
    (("--nj", "08"), "--nj must be a whole number >= 1, not '08'"),
    (("--ngpu", "-1"), "--ngpu must be a whole number >= 0, not '-1'"),
    (("--num_nodes", "x"), "--num_nodes must be a whole number >= 1, not 'x'"),
    (("--fs", "16k"), "--fs must be a whole number >= 1, not '16k'"),
    (("--codec_max_steps", "0"), "--codec_max_steps must be a whole number >= 1, not '0'"),
    (("--min_dur", "-0.5"), "--min_dur must be a number of seconds >= 0, not '-0.5'"),
    (("--max_dur", "nan"), "--max_dur must be a number of seconds >= 0, not 'nan'"),
    (("--min_dur", "5", "--max_dur", "2"), "--min_dur 5 must be below --max_dur 2"),
    (("--asr_model_dir", "/nonexistent/whisper"), "--asr_model_dir /nonexistent/whisper: no such directory"),
    (("--speaker_model_dir", "/nonexistent/wavlm"), "--speaker_model_dir /nonexistent/wavlm: no such directory"),
    (("--ssl_model_dir", "/nonexistent/w2v"), "--ssl_model_dir /nonexistent/w2v: no such directory"),
]


@pytest.mark.parametrize("args, message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_option_is_one_line_and_runs_nothing(mini_recipe: Path, args: tuple, message: str) -> None:
    proc = run_recipe(mini_recipe, *args, timeout=60)
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and message in errors[0]
    assert "Traceback" not in proc.stderr and "stage 1" not in proc.stderr
    assert not any((mini_recipe / d).exists() for d in ("data", "dump", "exp"))
