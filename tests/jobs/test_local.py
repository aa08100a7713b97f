"""utils/run.sh for real: parallelism bound, JOB substitution, shell semantics, failure summary, Ctrl-C."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from pathlib import Path

import pytest

from tts_codec.bin.run_jobs import main
from tts_codec.errors import UserError
from tts_codec.jobs.local import Watchdog

REPO = Path(__file__).resolve().parents[2]


def test_max_jobs_run_bounds_parallelism(tmp_path, job_tools):
    res = job_tools.run("run.sh", "--max-jobs-run", "2", "JOB=1:6", "log/t.JOB.log",
                        *job_tools.timing_job(tmp_path, 0.6), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert job_tools.overlap(job_tools.intervals(tmp_path, 6)) == 2


def test_max_jobs_run_one_is_sequential(tmp_path, job_tools):
    res = job_tools.run("run.sh", "--max_jobs_run", "1", "JOB=1:3", "log/t.JOB.log",
                        *job_tools.timing_job(tmp_path, 0.2), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert job_tools.overlap(job_tools.intervals(tmp_path, 3)) == 1


def test_job_substitution_logs_and_headers(tmp_path, job_tools):
    res = job_tools.run("run.sh", "JOB=2:4", "exp/deep/log/x.JOB.log", "echo", "part", "JOB", "of", "split3/JOB",
                        cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout == "" and res.stderr == ""  # quiet on success, like run.pl
    assert not (tmp_path / "exp/deep/log/x.1.log").exists()
    for j in (2, 3, 4):
        lines = (tmp_path / f"exp/deep/log/x.{j}.log").read_text().splitlines()
        assert lines[0] == f"# echo part {j} of split3/{j}"
        assert lines[1].startswith("# Started at ")
        assert f"part {j} of split3/{j}" in lines
        assert lines[-2] == "# Accounting: time=0 threads=1"
        assert lines[-1].startswith("# Ended (code 0) at ")


def test_pipes_redirections_and_variables_run_in_bash(tmp_path, job_tools):
    res = job_tools.run("run.sh", "--num-threads", "3", "JOB=1:2", "log/p.JOB.log",
                        "echo", "$MYVAR", "JOB", "|", "tr", "a-z", "A-Z", ">", "out.JOB", "&&", "echo", "two words",
                        cwd=tmp_path, env={"MYVAR": "hello"})
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "out.1").read_text() == "HELLO 1\n"
    assert (tmp_path / "out.2").read_text() == "HELLO 2\n"
    log = (tmp_path / "log/p.2.log").read_text()
    assert log.startswith('# echo $MYVAR 2 | tr a-z A-Z > out.2 && echo "two words"\n')
    assert "\ntwo words\n" in log and "threads=3" in log


def test_failure_summary_names_job_log_and_tail(tmp_path, job_tools):
    # Jobs 3 and 5 print 15 lines and fail; the summary shows the last 10 lines of job 3 only.
    script = tmp_path / "job.sh"
    script.write_text('for i in $(seq 1 15); do echo "job $1 line $i"; done\n'
                      '[ "$1" = 3 ] || [ "$1" = 5 ] && { echo "fatal: job $1 broke" >&2; exit 7; }\nexit 0\n')
    res = job_tools.run("run.sh", "JOB=1:8", "log/n.JOB.log", "bash", str(script), "JOB", cwd=tmp_path)
    assert res.returncode == 1
    lines = res.stderr.splitlines()
    assert lines[0] == "run.sh: 2 / 8 failed, e.g. job 3: log log/n.3.log"
    assert lines[1] == "run.sh: failed jobs: 3 5"
    assert lines[2] == "run.sh: last lines of log/n.3.log (exit code 7):"
    tail = lines[3:]
    assert len(tail) == 10 and tail[-1] == "  | fatal: job 3 broke"
    assert "  | job 3 line 15" in tail and "  | job 3 line 6" not in tail
    assert "job 5" not in "\n".join(tail)
    assert "# Ended (code 7)" in (tmp_path / "log/n.5.log").read_text()
    assert "# Ended (code 0)" in (tmp_path / "log/n.4.log").read_text()


def test_single_job_failure(tmp_path, job_tools):
    res = job_tools.run("run.sh", "exp/train.log", "echo", "oops", ";", "exit", "3", cwd=tmp_path)
    assert res.returncode == 1
    assert res.stderr.splitlines()[0] == "run.sh: job failed (exit code 3): log exp/train.log"
    assert "  | oops" in res.stderr


@pytest.mark.parametrize("argv, message", [
    (["JOB=3:1", "log/x.JOB.log", "true"], "run.sh: error: bad job range 'JOB=3:1': start 3 is greater than end 1"),
    (["JOB=1:N", "log/x.JOB.log", "true"], "run.sh: error: bad job range 'JOB=1:N'"),
    (["--mem-per-cpu", "1G", "log/x.log", "true"], "run.sh: error: unknown option --mem-per-cpu"),
    (["--config", "conf/slurm.conf", "log/x.log", "true"], "run.sh: error: unknown option --config"),
    (["JOB=1:3", "log/x.log", "true"], "does not contain JOB"),
])
def test_user_errors_exit_2_without_running(tmp_path, job_tools, argv, message):
    res = job_tools.run("run.sh", *argv, cwd=tmp_path)
    assert res.returncode == 2
    assert message in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "log").exists()


def test_resource_options_are_accepted_and_help(tmp_path, job_tools):
    res = job_tools.run("run.sh", "--mem", "4G", "--gpu", "1", "--time", "1:00:00", "--num_threads", "2",
                        "log/r.log", "echo", "ok", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "threads=2" in (tmp_path / "log/r.log").read_text()
    res = job_tools.run("run.sh", "--help", cwd=tmp_path)
    assert res.returncode == 0 and res.stdout.startswith("usage: run.sh [--max-jobs-run N]")
    res = job_tools.run("run.sh", cwd=tmp_path)
    assert res.returncode == 2 and res.stderr.startswith("usage: run.sh")


def test_log_path_is_a_directory(tmp_path, job_tools):
    (tmp_path / "log" / "x.1.log").mkdir(parents=True)
    res = job_tools.run("run.sh", "JOB=1:1", "log/x.JOB.log", "true", cwd=tmp_path)
    assert res.returncode == 2 and "log file log/x.1.log is a directory" in res.stderr


def test_main_in_process(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["--backend", "local", "JOB=1:2", "log/m.JOB.log", "echo", "JOB", ">", "m.JOB"]) == 0
    assert (tmp_path / "m.2").read_text() == "2\n"
    assert main(["--backend", "local", "log/f.log", "false"]) == 1
    assert "run.sh: job failed (exit code 1): log log/f.log" in capsys.readouterr().err
    with pytest.raises(UserError, match="--backend must be local or slurm, not 'pbs'"):
        main(["--backend", "pbs", "l.log", "true"])


def test_a_job_runs_only_after_the_watchdog_holds_its_group(tmp_path, monkeypatch):
    # A runner SIGKILLed between starting a job and registering it must not leave the job's children behind:
    # the command may not start before registration, however long registration takes.
    seen_before_registration = []
    register = Watchdog.watch

    def slow_watch(self, pgid):
        time.sleep(0.5)
        seen_before_registration.append(sorted(p.name for p in tmp_path.glob("ran.*")))
        register(self, pgid)

    monkeypatch.setattr(Watchdog, "watch", slow_watch)
    monkeypatch.chdir(tmp_path)
    assert main(["--backend", "local", "--max-jobs-run", "1", "JOB=1:2", "log/g.JOB.log",
                 "echo", "$0", "[$1]", ">", "ran.JOB"]) == 0
    assert seen_before_registration == [[], ["ran.1"]]  # job 2 had not run when it was registered, job 1 had
    assert (tmp_path / "ran.1").read_text() == "bash []\n"  # the command sees what a plain `bash -c` gives it


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_kills_running_jobs(tmp_path, sig, process_gone):
    # Each job backgrounds a sleep (a grandchild of the runner) and waits: it must die with the runner.
    cmd = [sys.executable, "-m", "tts_codec.bin.run_jobs", "--backend", "local", "JOB=1:2", "log/s.JOB.log",
           "sleep", "60", "&", "echo", "$!", ">", "pid.JOB", ";", "wait"]
    # A shell without job control starts background commands with SIGINT ignored (e.g. `nohup make test &`), and
    # Python keeps an inherited SIG_IGN: give the runner the default SIGINT an interactive Ctrl-C would reach.
    proc = subprocess.Popen(cmd, cwd=tmp_path, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    pid_files = [tmp_path / "pid.1", tmp_path / "pid.2"]
    deadline = time.monotonic() + 20
    while not all(p.exists() and p.read_text().strip() for p in pid_files):
        assert time.monotonic() < deadline and proc.poll() is None, "jobs did not start"
        time.sleep(0.05)
    sleepers = [int(p.read_text()) for p in pid_files]
    proc.send_signal(sig)
    assert proc.wait(timeout=15) == 130
    assert "interrupted" in proc.stderr.read()
    assert all(process_gone(pid, 5) for pid in sleepers), "a job's child survived the interrupt"


def _start_sleeper_jobs(tmp_path, argv_prefix):
    """Start a runner whose 2 jobs each background a `sleep 60` and wait; return (runner, sleeper pids)."""
    cmd = [*argv_prefix, "JOB=1:2", "log/s.JOB.log", "sleep", "60", "&", "echo", "$!", ">", "pid.JOB", ";", "wait"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHON": sys.executable})
    pid_files = [tmp_path / "pid.1", tmp_path / "pid.2"]
    deadline = time.monotonic() + 20
    while not all(p.exists() and p.read_text().strip() for p in pid_files):
        assert time.monotonic() < deadline and proc.poll() is None, "jobs did not start"
        time.sleep(0.05)
    return proc, [int(p.read_text()) for p in pid_files]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux /proc")
def test_sigkill_of_the_runner_kills_its_jobs(tmp_path, process_gone):
    runner, sleepers = _start_sleeper_jobs(tmp_path, [str(REPO / "utils" / "run.sh")])
    runner.kill()
    runner.wait(timeout=10)
    assert all(process_gone(pid, 10) for pid in sleepers), "a job outlived its SIGKILLed runner"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux /proc and prctl")
def test_sigkill_of_the_recipe_kills_runner_and_jobs(tmp_path, process_gone):
    # The recipe is a bash that runs utils/run.sh and then would go on: SIGKILL it, not the runner.
    recipe = tmp_path / "recipe.sh"
    recipe.write_text(f'"{REPO}/utils/run.sh" "$@"\necho after > after.txt\n')
    shell, sleepers = _start_sleeper_jobs(tmp_path, ["bash", str(recipe)])
    shell.kill()
    shell.wait(timeout=10)
    assert all(process_gone(pid, 10) for pid in sleepers), "a job outlived its SIGKILLed recipe"
    assert not (tmp_path / "after.txt").exists()
