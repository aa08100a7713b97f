"""Fixtures for the job runners: calling utils/run.sh and utils/slurm.sh, and a real one-node SLURM cluster."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO = Path(__file__).resolve().parents[2]
SLURM_PROGRAMS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "srun", "sinfo")


def run_wrapper(script: str, *args: str, cwd: Path, env: dict | None = None,
                timeout: float = 60) -> subprocess.CompletedProcess:
    """Run `utils/<script> args...` from `cwd` with this interpreter as $PYTHON."""
    full_env = {**os.environ, "PYTHON": sys.executable, **(env or {})}
    return subprocess.run([str(REPO / "utils" / script), *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout)


def overlap(intervals: list[tuple[float, float]]) -> int:
    """The largest number of (start, end) intervals open at one instant."""
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    best = now = 0
    for _, delta in events:
        now += delta
        best = max(best, now)
    return best


def read_intervals(directory: Path, n: int) -> list[tuple[float, float]]:
    """Read `t.<j>` files holding `start end` epoch seconds written by timing jobs."""
    spans = []
    for j in range(1, n + 1):
        start, end = (directory / f"t.{j}").read_text().split()
        spans.append((float(start), float(end)))
    return spans


def timing_job(directory: Path, seconds: float) -> list[str]:
    """A command (run.pl word list) that records its start/end time in `directory/t.JOB`."""
    return ["s=$(date", "+%s.%N)", ";", "sleep", str(seconds), ";",
            "echo", "$s", "$(date", "+%s.%N)", ">", f"{directory}/t.JOB"]


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    """A one-node SLURM cluster (tools/slurm_test_cluster.sh) for the session; sets SLURM_CONF."""
    if os.geteuid() != 0:
        pytest.skip("not root: the one-node SLURM test cluster runs munged/slurmd as root")
    missing = [p for p in SLURM_PROGRAMS if shutil.which(p) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed: run tools/install_system.sh")
    cluster_dir = tmp_path_factory.mktemp("slurm_cluster")
    tool = REPO / "tools" / "slurm_test_cluster.sh"
    result = subprocess.run([str(tool), "start", str(cluster_dir)], capture_output=True, text=True, timeout=90)
    if result.returncode != 0:
        subprocess.run([str(tool), "stop", str(cluster_dir)], capture_output=True, timeout=60)
        pytest.fail(f"could not start the SLURM test cluster:\n{result.stdout}{result.stderr}")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SLURM_CONF", str(cluster_dir / "slurm.conf"))
        yield cluster_dir
    subprocess.run([str(tool), "stop", str(cluster_dir)], capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def job_tools() -> SimpleNamespace:
    """The helpers above for test modules (importlib mode cannot import conftest directly)."""
    return SimpleNamespace(run=run_wrapper, overlap=overlap, intervals=read_intervals, timing_job=timing_job)
