"""Hostile inputs for the shell entry points: every utils/*.sh wrapper (run as a subprocess, as users call them),
the job runners (utils/run.sh, utils/slurm.sh, run_jobs) and utils/parse_options.sh (through a small script)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tts_codec.testing.hostile import REPO, Case, bad_numbers, check_case, data_dir, set_line


def _data(ws: Path) -> Path:
    return data_dir(ws)


def _file(ws: Path, name: str, content: bytes) -> Path:
    (ws / name).write_bytes(content)
    return ws / name


WRAPPERS = [
    Case("utils/validate_data_dir.sh", "unsorted",
         lambda ws: [set_line(_data(ws) / "utt2spk", 1, "zzz-1 zzz").parent], "{ws}/data/utt2spk"),
    Case("utils/fix_data_dir.sh", "missing_dir", lambda ws: [ws / "nope"], "{ws}/nope"),
    Case("utils/fix_data_dir.sh", "read_only_dir", lambda ws: [_data(ws)], "{ws}/data", read_only=("data",)),
    Case("utils/subset_data_dir.sh", "dest_is_src", lambda ws: ["--first", "2", _data(ws), ws / "data"],
         "is also an input"),
    Case("utils/subset_data_dir.sh", "first_zero", lambda ws: ["--first", "0", _data(ws), ws / "o"], "--first"),
    Case("utils/copy_data_dir.sh", "utt_prefix_whitespace",
         lambda ws: ["--utt-prefix", "a b", _data(ws), ws / "o"], "--utt_prefix 'a b'"),
    Case("utils/copy_data_dir.sh", "read_only_parent",
         lambda ws: [_data(ws), (ws / "ro").mkdir() or ws / "ro" / "o"], "{ws}/ro", read_only=("ro",)),
    Case("utils/combine_data.sh", "dest_is_a_source", lambda ws: ["--overwrite", "true", _data(ws), ws / "data"],
         "is also an input"),
    Case("utils/split_data.sh", "zero_parts", lambda ws: [_data(ws), "0"], "num_to_split"),
    Case("utils/split_data.sh", "read_only_dir", lambda ws: [_data(ws), "2"], "{ws}/data", read_only=("data",)),
    Case("utils/utt2spk_to_spk2utt.sh", "three_fields", lambda ws: [_file(ws, "u", b"a-1 a b\n")], "{ws}/u:1"),
    Case("utils/spk2utt_to_utt2spk.sh", "missing", lambda ws: [ws / "nope"], "{ws}/nope"),
    Case("utils/filter_scp.sh", "field_zero", lambda ws: ["-f", "0", _file(ws, "i", b"a\n"), _file(ws, "s", b"a 1\n")],
         "--field"),
]

RUN = "utils/run.sh"
RUNNERS = [
    *[Case(RUN, f"{opt.strip('-')}_{name}", lambda ws, o=opt, v=value: [o, v, "log/x.log", "true"], opt)
      for opt in ("--max-jobs-run", "--num-threads") for name, value in bad_numbers(opt)],
    Case(RUN, "range_backwards", lambda ws: ["JOB=3:1", "log/x.JOB.log", "true"], "JOB=3:1"),
    Case(RUN, "range_not_numbers", lambda ws: ["JOB=1:N", "log/x.JOB.log", "true"], "JOB=1:N"),
    Case(RUN, "log_without_job", lambda ws: ["JOB=1:2", "log/x.log", "true"], "log/x.log"),
    Case(RUN, "no_command", lambda ws: ["log/x.log"], "expected a log file and a command"),
    Case(RUN, "unknown_option", lambda ws: ["--frobnicate", "1", "log/x.log", "true"], "--frobnicate"),
    Case(RUN, "log_is_a_dir", lambda ws: (ws / "log" / "x.1.log").mkdir(parents=True) or
         ["JOB=1:1", "log/x.JOB.log", "true"], "log/x.1.log"),
    Case(RUN, "read_only_log_dir", lambda ws: (ws / "log").mkdir() or ["JOB=1:1", "log/x.JOB.log", "true"],
         "log/x.1.log", read_only=("log",)),
    Case("utils/slurm.sh", "config_missing", lambda ws: ["--config", ws / "nope.conf", "log/x.log", "true"],
         "{ws}/nope.conf"),
    Case("utils/slurm.sh", "max_jobs_zero", lambda ws: ["--max-jobs-run", "0", "log/x.log", "true"],
         "--max-jobs-run"),
    Case("utils/slurm.sh", "unknown_option", lambda ws: ["--frobnicate", "1", "log/x.log", "true"], "--frobnicate"),
    Case("run_jobs", "unknown_backend", lambda ws: ["--backend", "pbs", "log/x.log", "true"], "pbs"),
    Case("run_jobs", "no_backend", lambda ws: ["log/x.log", "true"], "--backend"),
]

PROG = f"""stage=1
max_dur=30
use_gpu=false
name=x
. "{REPO}/utils/parse_options.sh"
echo "ran with stage=$stage" > ran.txt
"""


def _prog(ws: Path, *argv) -> list:
    (ws / "prog.sh").write_text(PROG)
    return list(argv)


PARSE_OPTIONS = [
    Case("./prog.sh", "unknown_option", lambda ws: _prog(ws, "--nope", "1"), "'--nope'"),
    Case("./prog.sh", "bool_not_true_false", lambda ws: _prog(ws, "--use_gpu", "yes"), "'--use_gpu' takes true"),
    Case("./prog.sh", "missing_value", lambda ws: _prog(ws, "--stage"), "'--stage' needs a value"),
    Case("./prog.sh", "config_missing", lambda ws: _prog(ws, "--config", ws / "nope.conf"), "{ws}/nope.conf"),
    Case("./prog.sh", "config_bad_line", lambda ws: _prog(ws, "--config", _file(ws, "c.conf", b"stage 3\n")),
         "{ws}/c.conf:1"),
    Case("./prog.sh", "config_unknown_key", lambda ws: _prog(ws, "--config", _file(ws, "c.conf", b"nope=3\n")),
         "{ws}/c.conf:1"),
]

CASES = [*WRAPPERS, *RUNNERS, *PARSE_OPTIONS]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hostile_input_is_refused_cleanly(case: Case, tmp_path: Path) -> None:
    check_case(case, tmp_path / "ws")

