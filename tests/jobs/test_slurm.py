"""utils/slurm.sh against a real one-node SLURM cluster (started by the session fixture; skipped if not root)."""
from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.slurm


def test_array_throttle_resources_and_environment(tmp_path, slurm_cluster, job_tools):
    res = job_tools.run("slurm.sh", "--max-jobs-run", "2", "--mem", "50M", "JOB=1:4", "log/t.JOB.log",
                        *job_tools.timing_job(tmp_path, 1.0), ";",
                        "echo", "cpus=$SLURM_CPUS_PER_TASK", "mem=$SLURM_MEM_PER_NODE", "env=$TTS_CODEC_PROBE",
                        "task=$SLURM_ARRAY_TASK_ID",
                        cwd=tmp_path, env={"TTS_CODEC_PROBE": "from-caller"})
    assert res.returncode == 0, res.stderr
    assert "submitted SLURM job" in res.stderr
    assert job_tools.overlap(job_tools.intervals(tmp_path, 4)) == 2  # %2 throttle, while 2 CPUs fit 2 tasks
    for j in range(1, 5):
        lines = (tmp_path / f"log/t.{j}.log").read_text().splitlines()
        assert lines[0].startswith("# s=$(date +%s.%N) ;") and f"/t.{j} ; echo cpus=" in lines[0]
        assert lines[1].startswith("# Started at ")
        assert f"cpus=1 mem=50 env=from-caller task={j}" in lines
        assert lines[-2].startswith("# Accounting: time=") and lines[-2].endswith("threads=1")
        assert lines[-1].startswith("# Ended (code 0) at ")
    assert not list((tmp_path / "log/q").glob("*.status"))  # consumed after reading


def test_failures_reported_like_local(tmp_path, slurm_cluster, job_tools):
    # Job 2 exits 3; job 3 kills its own batch script, so it leaves no exit status and scontrol explains.
    res = job_tools.run("slurm.sh", "JOB=1:3", "log/f.JOB.log", "echo", "job", "JOB", ";",
                        "[", "JOB", "!=", "2", "]", "||", "{", "echo", "boom;", "exit", "3;", "}", ";",
                        "[", "JOB", "!=", "3", "]", "||", "kill", "-9", "$PPID", cwd=tmp_path)
    assert res.returncode == 1
    lines = res.stderr.splitlines()
    start = next(i for i, line in enumerate(lines) if "failed" in line)
    assert lines[start] == "slurm.sh: 2 / 3 failed, e.g. job 2: log log/f.2.log"
    assert lines[start + 1] == "slurm.sh: failed jobs: 2 3"
    assert lines[start + 2] == "slurm.sh: last lines of log/f.2.log (exit code 3):"
    assert lines[-1] == "  | boom"
    assert "# Ended (code 0)" in (tmp_path / "log/f.1.log").read_text()

    res = job_tools.run("slurm.sh", "JOB=3", "log/f.JOB.log", "kill", "-9", "$PPID", cwd=tmp_path)
    assert res.returncode == 1
    assert "slurm.sh: 1 / 1 failed, e.g. job 3: log log/f.3.log" in res.stderr
    assert "left no exit status: JobState=FAILED" in res.stderr


def test_srun_single_job_and_config_options(tmp_path, slurm_cluster, job_tools):
    conf = tmp_path / "my_slurm.conf"
    conf.write_text("command sbatch --export=ALL\noption num_threads=* --cpus-per-task=$0\n"
                    "option partition=* --partition=$0\n")
    res = job_tools.run("slurm.sh", "--config", str(conf), "--srun", "true", "--num-threads", "2",
                        "--partition", "debug", "log/s.log", "echo", "cpus=$SLURM_CPUS_PER_TASK",
                        "part=$SLURM_JOB_PARTITION", ";", "exit", "4", cwd=tmp_path)
    assert res.returncode == 1
    assert res.stderr.splitlines()[0] == "slurm.sh: job failed (exit code 4): log log/s.log"
    log = (tmp_path / "log/s.log").read_text()
    assert "cpus=2 part=debug" in log and "# Ended (code 4)" in log and "threads=2" in log

    res = job_tools.run("slurm.sh", "--partition", "debug", "log/p.log", "true", cwd=tmp_path)
    assert res.returncode == 2
    assert ("slurm.sh: error: unknown option --partition" in res.stderr
            and "the `option` lines of the built-in default slurm config" in res.stderr)


def test_single_sbatch_job_uses_recipe_conf(tmp_path, slurm_cluster, job_tools):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf/slurm.conf").write_text("command sbatch --export=ALL\noption time=* --time=$0\n"
                                              "default time=5\n")
    res = job_tools.run("slurm.sh", "exp/train.log", "echo", "limit", "$(squeue", "-h", "-j", "$SLURM_JOB_ID",
                        "-o", "%l)", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "limit 5:00" in (tmp_path / "exp/train.log").read_text()  # the conf's default time=5 minutes


def test_interrupt_cancels_the_slurm_job(tmp_path, slurm_cluster):
    cmd = [sys.executable, "-m", "tts_codec.bin.run_jobs", "--backend", "slurm", "JOB=1:2", "log/i.JOB.log",
           "echo", "started", ">", "started.JOB", ";", "sleep", "60"]
    # A shell without job control starts background commands with SIGINT ignored (e.g. `nohup make test &`), and
    # Python keeps an inherited SIG_IGN: give the runner the default SIGINT an interactive Ctrl-C would reach.
    proc = subprocess.Popen(cmd, cwd=tmp_path, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 30
    while not ((tmp_path / "started.1").exists() and (tmp_path / "started.2").exists()):
        assert time.monotonic() < deadline and proc.poll() is None, "the SLURM tasks did not start"
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=20) == 130
    err = proc.stderr.read()
    job_id = re.search(r"cancelled SLURM job (\d+)", err).group(1)
    deadline = time.monotonic() + 20
    while subprocess.run(["squeue", "-h", "-j", job_id], capture_output=True, text=True).stdout.strip():
        assert time.monotonic() < deadline, f"SLURM job {job_id} still queued after the interrupt"
        time.sleep(0.2)
    state = subprocess.run(["scontrol", "show", "job", "-o", f"{job_id}_1"], capture_output=True, text=True).stdout
    assert "JobState=CANCELLED" in state
