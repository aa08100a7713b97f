"""The mini recipe's stage 1 (local/data.sh) refuses a bad --size or --splice_sentences with one message and exit 2,
before anything is written."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

MINI = Path(__file__).resolve().parents[2] / "egs" / "mini" / "tts1"


@pytest.mark.parametrize("argv, message", [
    (("--size", "huge"), "--size must be small, large, xlarge, xxlarge or xxxlarge, got 'huge'"),
    (("--size", "xlarge", "--splice_sentences", "maybe"), "option '--splice_sentences' takes true or false, not 'maybe'"),
])
def test_bad_stage1_options_exit_2_and_write_nothing(tmp_path, argv, message):
    for name in ("utils", "path.sh"):
        (tmp_path / name).symlink_to((MINI / name).resolve())
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / "data.sh").symlink_to(MINI / "local" / "data.sh")
    done = subprocess.run(["bash", "local/data.sh", *argv], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["local", "path.sh", "utils"]
