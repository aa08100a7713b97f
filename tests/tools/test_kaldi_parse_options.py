"""utils/parse_options.sh against Kaldi's: a --config file is read as shell (quotes are shell quotes) before every
command-line option, and an empty --cmd is refused (the expected results are Kaldi's, written by hand)."""
from __future__ import annotations

import subprocess
from pathlib import Path

from tts_codec.testing.recipes import REPO

SCRIPT = """
nj=4; cmd="run.pl"; name=""
. {parse}
printf '%s\\n' "nj=$nj" "cmd=$cmd" "name=$name"
"""


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    script = tmp_path / "demo.sh"
    script.write_text(SCRIPT.format(parse=REPO / "utils" / "parse_options.sh"))
    return subprocess.run(["bash", str(script), *args], capture_output=True, text=True, cwd=tmp_path)


def test_config_values_are_shell_words(tmp_path):
    (tmp_path / "c.conf").write_text('cmd="queue.pl -l arch=*64"  # the grid\nname=\'a # b\'\nnj=8 # jobs\n')
    proc = _run(tmp_path, "--config", "c.conf")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["nj=8", "cmd=queue.pl -l arch=*64", "name=a # b"]


def test_command_line_wins_over_config_wherever_it_is(tmp_path):
    (tmp_path / "c.conf").write_text("nj=8\nname=conf\n")
    proc = _run(tmp_path, "--nj", "2", "--config", "c.conf")  # Kaldi sources every --config first
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["nj=2", "cmd=run.pl", "name=conf"]


def test_empty_cmd_is_refused_as_in_kaldi(tmp_path):
    proc = _run(tmp_path, "--cmd", "")
    assert proc.returncode != 0 and "empty argument to --cmd option" in proc.stderr
    (tmp_path / "c.conf").write_text('cmd=""\n')
    assert "empty argument to --cmd" in _run(tmp_path, "--config", "c.conf").stderr


def test_config_value_of_several_words_names_the_line(tmp_path):
    (tmp_path / "c.conf").write_text("nj=2\ncmd=queue.pl -q all\n")
    proc = _run(tmp_path, "--config", "c.conf")
    assert proc.returncode == 2 and "c.conf:2: the value of cmd is not one shell word" in proc.stderr
