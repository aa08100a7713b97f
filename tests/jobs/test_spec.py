"""Pure parsing: JOB ranges, the run.pl command line, log tails, failure summaries and conf/slurm.conf."""
from __future__ import annotations

from pathlib import Path

import pytest

from tts_codec.errors import UserError
from tts_codec.jobs.slurm import job_name
from tts_codec.jobs.slurm_conf import DEFAULT_SLURM_CONF, load_slurm_conf, parse_slurm_conf
from tts_codec.jobs.spec import (JobRange, failure_summary, join_command, log_tail, log_trailer, parse_job_args,
                                 parse_job_range, peek_option)

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("arg, expected", [
    ("JOB=1:4", JobRange("JOB", 1, 4)),
    ("JOB=3", JobRange("JOB", 3, 3)),
    ("SPLIT=2:5", JobRange("SPLIT", 2, 5)),
    ("JOB=7:7", JobRange("JOB", 7, 7)),
])
def test_parse_job_range(arg, expected):
    rng = parse_job_range(arg)
    assert rng == expected
    assert rng.ids == list(range(expected.start, expected.end + 1))


@pytest.mark.parametrize("arg", ["exp/log/train.log", "log.JOB.log", "a=b/c.log", "--mem"])
def test_not_a_range(arg):
    assert parse_job_range(arg) is None


@pytest.mark.parametrize("arg, message", [
    ("JOB=3:1", "start 3 is greater than end 1"),
    ("JOB=0:2", "start at 1"),
    ("JOB=1:", "expected NAME=START:END"),
    ("JOB=1:N", "expected NAME=START:END"),
    ("JOB=a:4", "expected NAME=START:END"),
    ("JOB=1-4", "expected NAME=START:END"),
])
def test_bad_range_is_an_error(arg, message):
    with pytest.raises(UserError, match=message) as err:
        parse_job_range(arg)
    assert repr(arg) in str(err.value)


@pytest.mark.parametrize("args, expected", [
    (["echo", "a", "|", "wc", "-l"], "echo a | wc -l"),
    (["echo", "$HOME"], "echo $HOME"),
    (["echo", "two words"], 'echo "two words"'),
    (["echo", "has $VAR here"], 'echo "has $VAR here"'),
    (["echo", 'say "hi" now'], "echo 'say \"hi\" now'"),
    (["echo", 'it\'s "x" y'], "echo 'it'\\''s \"x\" y'"),
    (["printf", ""], 'printf ""'),
])
def test_join_command_like_run_pl(args, expected):
    assert join_command(args) == expected


def test_parse_substitutes_job_in_log_and_command():
    req = parse_job_args(["JOB=1:3", "exp/log/x.JOB.log", "prog", "data/split3/JOB", "--out=o.JOB"])
    assert req.ids == [1, 2, 3]
    assert req.log_path(2) == Path("exp/log/x.2.log")
    assert req.command_for(3) == "prog data/split3/3 --out=o.3"
    assert req.command == "prog data/split3/JOB --out=o.JOB"


def test_options_before_and_after_range_in_both_spellings():
    req = parse_job_args(["--max_jobs_run", "3", "JOB=1:2", "--mem=4G", "--num-threads", "2",
                          "l.JOB.log", "cmd", "--mem", "9G"])
    assert req.options == {"max_jobs_run": "3", "mem": "4G", "num_threads": "2"}
    assert req.max_jobs_run == 3 and req.num_threads == 2
    assert req.command == "cmd --mem 9G"  # the command's own flags pass through


def test_single_job_without_range():
    req = parse_job_args(["exp/train.log", "python", "-m", "x", "JOB"])
    assert req.job_range is None and req.ids == [1]
    assert req.command_for(1) == "python -m x JOB"
    assert req.log_path(1) == Path("exp/train.log")


def test_custom_range_name_substitutes_that_name_only():
    req = parse_job_args(["N=2:3", "log.N.txt", "echo", "N", "JOB"])
    assert req.ids == [2, 3]
    assert req.command_for(2) == "echo 2 JOB"
    assert req.log_path(3) == Path("log.3.txt")


@pytest.mark.parametrize("argv, message", [
    (["--foo", "1", "l.log", "true"], "unknown option --foo"),
    (["-q", "all.q", "l.log", "true"], "unknown option '-q'"),
    (["--mem", "--gpu", "1", "l.log", "true"], "option --mem needs a value"),
    (["--mem"], "option --mem needs a value"),
    (["l.log"], "expected a log file and a command"),
    (["JOB=1:2", "l.log", "true"], "does not contain JOB"),
])
def test_bad_command_lines(argv, message):
    with pytest.raises(UserError, match=message):
        parse_job_args(argv)


def test_unknown_option_lists_allowed_and_hint():
    with pytest.raises(UserError, match=r"takes --gpu, --max-jobs-run.*; see conf") as err:
        parse_job_args(["--partition", "gpu", "l.log", "true"], ("max_jobs_run", "gpu"), "; see conf")
    assert "--partition" in str(err.value)


@pytest.mark.parametrize("value", ["0", "-1", "two"])
@pytest.mark.parametrize("flag", ["--max-jobs-run", "--num-threads"])
def test_counts_must_be_positive(value, flag):
    with pytest.raises(UserError, match=f"argument {flag}: expected an integer >= 1, got '{value}'"):
        parse_job_args([flag, value, "l.log", "true"])


def test_peek_option_finds_config_anywhere_in_the_option_prefix():
    assert peek_option(["--mem", "1G", "JOB=1:2", "--config", "c.conf", "l.JOB.log", "x"], "config") == "c.conf"
    assert peek_option(["--config=a.conf", "l.log", "x"], "config") == "a.conf"
    assert peek_option(["l.log", "prog", "--config", "not.mine"], "config") is None


def test_log_tail_drops_trailer(tmp_path):
    log = tmp_path / "x.log"
    body = [f"line {i}" for i in range(1, 16)]
    log.write_text("# cmd\n" + "\n".join(body) + "\n" + log_trailer(1, 2.0, 1))
    assert log_tail(log, 10) == body[-10:]
    assert "cannot read" in log_tail(tmp_path / "missing.log")[0]


def test_failure_summary_names_first_failed_job_log_and_tail(tmp_path):
    req = parse_job_args(["JOB=1:8", f"{tmp_path}/n.JOB.log", "x"])
    for j in req.ids:
        req.log_path(j).write_text(f"# x\noutput of {j}\nError in job {j}\n" + log_trailer(0, 1, 1))
    codes = {j: (1 if j in (3, 6) else 0) for j in req.ids}
    text = failure_summary("run.sh", req, codes)
    lines = text.splitlines()
    assert lines[0] == f"run.sh: 2 / 8 failed, e.g. job 3: log {tmp_path}/n.3.log"
    assert lines[1] == "run.sh: failed jobs: 3 6"
    assert "  | Error in job 3" in lines
    assert not any("job 6" in line for line in lines[2:])
    assert failure_summary("run.sh", req, {j: 0 for j in req.ids}) is None


def test_failure_summary_single_job_with_note_and_fallback_file(tmp_path):
    req = parse_job_args([f"{tmp_path}/train.log", "x"])
    out = tmp_path / "slurm.out"
    out.write_text("slurmstepd: error: *** JOB 5 CANCELLED DUE TO TIME LIMIT ***\n")
    text = failure_summary("slurm.sh", req, {1: 1}, notes={1: "JobState=TIMEOUT"}, tail_paths={1: out})
    assert text.splitlines()[0] == f"slurm.sh: job failed (exit code 1): log {tmp_path}/train.log"
    assert "slurm.sh: job 1: JobState=TIMEOUT" in text
    assert "CANCELLED DUE TO TIME LIMIT" in text


# ---- conf/slurm.conf ----

def test_default_conf_maps_resources():
    conf = parse_slurm_conf(DEFAULT_SLURM_CONF, "default")
    assert conf.command == ["sbatch", "--export=ALL", "--ntasks-per-node=1"]
    assert conf.submit_args({}) == ["--cpus-per-task=1"]  # defaults: num_threads=1, gpu=0 adds nothing
    args = conf.submit_args({"mem": "4G", "gpu": "2", "num_threads": "3", "time": "1:00:00"})
    assert sorted(args) == sorted(["--mem=4G", "--gres=gpu:2", "--cpus-per-task=3", "--time=1:00:00"])
    assert conf.submit_args({"mem": "0", "gpu": "0"}) == ["--cpus-per-task=1"]  # exact values win over `*`


def test_repository_conf_equals_builtin_default():
    repo = load_slurm_conf(REPO / "conf" / "slurm.conf")
    builtin = parse_slurm_conf(DEFAULT_SLURM_CONF, "default")
    assert repo.command == builtin.command and repo.defaults == builtin.defaults
    for options in ({}, {"mem": "2G", "gpu": "1"}, {"num_threads": "4", "time": "10"}, {"mem": "0", "gpu": "0"}):
        assert repo.submit_args(options) == builtin.submit_args(options)


def test_conf_line_order_does_not_matter_and_templates_repeat():
    conf = parse_slurm_conf("option gpu=* -p gpu --gres=gpu:$0 --comment=g$0\ncommand sbatch\n"
                            "option gpu=0 -p cpu\ndefault gpu=0\noption partition=* -p $0\n", "c")
    assert conf.submit_args({}) == ["-p", "cpu"]
    assert conf.submit_args({"gpu": "2"}) == ["-p", "gpu", "--gres=gpu:2", "--comment=g2"]
    assert conf.option_names == ["gpu", "partition"]


@pytest.mark.parametrize("text, message", [
    ("command sbatch\noption mem=* --mem=4G\n", r"my.conf:2: `option mem=\*` needs `\$0`"),
    ("command sbatch\nqueue all.q\n", "my.conf:2: cannot parse 'queue all.q'"),
    ("option mem=* --mem=$0\n", "my.conf: no `command` line"),
    ("command sbatch\ndefault gpu=0\n", "my.conf: `default gpu=...` but no `option gpu=` line"),
    ("command sbatch\noption mem= --mem=1\n", "my.conf:2: `option mem=` needs a value"),
    ("command sbatch\noption m!em=* x$0\n", "my.conf:2: bad option name"),
])
def test_bad_conf_names_file_and_line(text, message):
    with pytest.raises(UserError, match=message):
        parse_slurm_conf(text, "my.conf")


def test_value_without_rule_names_option_and_conf():
    conf = parse_slurm_conf("command sbatch\noption gpu=0\n", "conf/slurm.conf")
    with pytest.raises(UserError, match=r"option --gpu 2 is not described in conf/slurm.conf"):
        conf.submit_args({"gpu": "2"})


def test_load_conf_default_and_missing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_slurm_conf().source == "the built-in default slurm config"
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "slurm.conf").write_text("command sbatch -A me\n")
    assert load_slurm_conf().command == ["sbatch", "-A", "me"]
    with pytest.raises(UserError, match="cannot read the slurm config nope.conf"):
        load_slurm_conf("nope.conf")


@pytest.mark.parametrize("argv, name", [
    (["JOB=1:4", "exp/log/decode.JOB.log", "x"], "decode"),
    (["JOB=1:4", "exp/log/JOB/decode.log", "x"], "decode"),
    (["exp/train.log", "x"], "train"),
    (["JOB=1:2", "exp/log/a b.JOB.log", "x"], "a_b"),
])
def test_slurm_job_name(argv, name):
    assert job_name(parse_job_args(argv)) == name
