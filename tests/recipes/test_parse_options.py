"""utils/parse_options.sh: Kaldi/ESPnet option semantics (dashes or underscores, --config files, errors)."""
from __future__ import annotations

import subprocess
from pathlib import Path

from tts_codec.testing.recipes import REPO

SCRIPT = """
stage=1; stop_stage=100; nj=4; use_gpu=false; name=""
help_message="usage: demo.sh [--stage N]"
. {parse}
echo "stage=$stage stop_stage=$stop_stage nj=$nj use_gpu=$use_gpu name=$name rest=$*"
"""


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    script = tmp_path / "demo.sh"
    script.write_text(SCRIPT.format(parse=REPO / "utils" / "parse_options.sh"))
    return subprocess.run(["bash", str(script), *args], capture_output=True, text=True, cwd=tmp_path)


def test_dashes_underscores_equals_and_positional_rest(tmp_path: Path) -> None:
    proc = _run(tmp_path, "--stop-stage", "3", "--nj=2", "--name", "a b", "x", "y")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "stage=1 stop_stage=3 nj=2 use_gpu=false name=a b rest=x y"


def test_config_file_is_overridden_by_later_options(tmp_path: Path) -> None:
    (tmp_path / "opts.conf").write_text("# defaults for this run\nnj=8\nstage=2  # trailing comment\n")
    proc = _run(tmp_path, "--config", "opts.conf", "--stage", "5")
    assert proc.returncode == 0, proc.stderr
    assert "stage=5" in proc.stdout and "nj=8" in proc.stdout


def test_unknown_option_names_it(tmp_path: Path) -> None:
    proc = _run(tmp_path, "--stage", "2", "--stgae", "3")
    assert proc.returncode == 2
    assert "unknown option '--stgae'" in proc.stderr and proc.stdout == ""


def test_config_errors_name_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "bad.conf").write_text("nj=2\nthis is not an option\n")
    proc = _run(tmp_path, "--config", "bad.conf")
    assert proc.returncode == 2 and "bad.conf:2: expected name=value" in proc.stderr
    proc = _run(tmp_path, "--config", "missing.conf")
    assert proc.returncode == 2 and "file not found: missing.conf" in proc.stderr


def test_boolean_options_take_true_or_false(tmp_path: Path) -> None:
    assert "use_gpu=true" in _run(tmp_path, "--use_gpu", "true").stdout
    proc = _run(tmp_path, "--use_gpu", "yes")
    assert proc.returncode == 2 and "takes true or false" in proc.stderr


def test_help_prints_message(tmp_path: Path) -> None:
    proc = _run(tmp_path, "--help")
    assert proc.returncode == 0 and proc.stdout.strip() == "usage: demo.sh [--stage N]"


def test_missing_value_is_an_error(tmp_path: Path) -> None:
    proc = _run(tmp_path, "--nj")
    assert proc.returncode == 2 and "'--nj' needs a value" in proc.stderr
