"""Local job backend (Kaldi run.pl): run the jobs of a range in parallel on this machine.

At most `--max-jobs-run` jobs (default: the number of usable CPUs) run at once. Each job is `bash -c <command>` in
its own process group with stdout+stderr appended to its log, so Ctrl-C (or SIGTERM) can kill whole
pipelines; after all jobs end, failures are reported once with the tail of the first failed log.

Nothing outlives the runner: a watchdog process (`tts_codec/jobs/watchdog.py`) holds the runner's job groups and
kills them when the runner dies, even by SIGKILL; `die_with_parent` makes the runner itself stop (SIGTERM, so it
kills its jobs) when the recipe that started it is killed.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path
from typing import IO, Iterator

from tts_codec.errors import UserError
from tts_codec.jobs.spec import RESOURCE_OPTIONS, JobRequest, failure_summary, log_header, log_trailer
from tts_codec.jobs.watchdog import group_alive, kill_groups

LOCAL_OPTIONS = ("max_jobs_run",) + RESOURCE_OPTIONS  # --mem/--gpu/--time are accepted and ignored, as in run.pl
KILL_GRACE_S = 2.0
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# A job waits for one line on stdin before it runs its command, so the runner registers its process group with the
# watchdog before the command can start anything; no line (the runner died first) means the job never runs.
REGISTRATION_GATE = 'IFS= read -r _ || exit 130; exec bash -c "$1" </dev/null'


def die_with_parent(sig: int = signal.SIGTERM) -> bool:
    """Linux: have the kernel send `sig` to this process when its parent dies (even by SIGKILL).

    Returns False where unsupported. If the parent is already gone, `sig` is sent at once.
    """
    if not sys.platform.startswith("linux"):
        return False
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        return False
    if os.getppid() != parent:  # the parent died before prctl took effect
        os.kill(os.getpid(), sig)
    return True


class Watchdog:
    """A separate process that kills the registered job process groups once the runner's pipe to it closes."""

    def __init__(self) -> None:
        script = Path(__file__).with_name("watchdog.py")
        self._proc = subprocess.Popen([sys.executable, "-I", "-S", str(script)], stdin=subprocess.PIPE,
                                      stdout=subprocess.DEVNULL, start_new_session=True, text=True)
        self._pipe: IO[str] = self._proc.stdin  # type: ignore[assignment]
        self._lock = threading.Lock()

    def _send(self, line: str) -> None:
        with self._lock, contextlib.suppress(BrokenPipeError, ValueError):
            self._pipe.write(line + "\n")
            self._pipe.flush()

    def watch(self, pgid: int) -> None:
        self._send(f"+{pgid}")

    def forget(self, pgid: int) -> None:
        self._send(f"-{pgid}")

    def close(self) -> None:
        """Close the pipe (the watchdog kills what is still registered, i.e. nothing after a normal run)."""
        with self._lock, contextlib.suppress(BrokenPipeError):
            self._pipe.close()
        self._proc.wait()


def available_cpus() -> int:
    """CPUs this process may use (respects taskset/cgroup affinity, unlike os.cpu_count())."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def prepare_logs(request: JobRequest) -> None:
    """Create every log directory up front, so a bad path is one clear error before any job starts."""
    for job_id in request.ids:
        path = request.log_path(job_id)
        if path.is_dir():
            raise UserError(f"log file {path} is a directory")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise UserError(f"cannot create the log directory {path.parent}: {err.strerror}") from err


class LocalRunner:
    """Runs a `JobRequest` with bounded parallelism; `run()` returns job id -> exit code."""

    def __init__(self, request: JobRequest):
        self.request = request
        self.max_jobs = request.max_jobs_run or available_cpus()
        self._procs: dict[int, subprocess.Popen] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def run(self) -> dict[int, int]:
        prepare_logs(self.request)
        self._watchdog = Watchdog()
        try:
            return self._run_all()
        finally:
            self._watchdog.close()

    def _run_all(self) -> dict[int, int]:
        codes: dict[int, int] = {}
        with ThreadPoolExecutor(max_workers=self.max_jobs, thread_name_prefix="job") as pool:
            futures = {pool.submit(self._run_one, job_id): job_id for job_id in self.request.ids}
            try:
                pending = set(futures)
                while pending:  # a timeout keeps the main thread responsive to Ctrl-C
                    done, pending = wait(pending, timeout=0.5, return_when=FIRST_EXCEPTION)
                    for future in done:
                        codes[futures[future]] = future.result()
            except BaseException:
                self._stopping.set()
                pool.shutdown(wait=False, cancel_futures=True)
                self.kill_all()
                raise
        return codes

    def _run_one(self, job_id: int) -> int:
        if self._stopping.is_set():
            return 130
        command = self.request.command_for(job_id)
        path = self.request.log_path(job_id)
        try:
            path.write_text(log_header(command), encoding="utf-8")
        except OSError as err:
            raise UserError(f"cannot write the log file {path}: {err.strerror}") from err
        start = time.monotonic()
        with open(path, "a", encoding="utf-8") as out:
            proc = subprocess.Popen(["bash", "-c", REGISTRATION_GATE, "bash", command], stdin=subprocess.PIPE,
                                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            self._watchdog.watch(proc.pid)
            with self._lock:
                self._procs[job_id] = proc
            with contextlib.suppress(BrokenPipeError), proc.stdin:  # type: ignore[union-attr]
                if not self._stopping.is_set():  # interrupted while this job was starting: it exits at the closed gate
                    proc.stdin.write(b"\n")  # type: ignore[union-attr]
            returncode = proc.wait()
            with self._lock:
                self._procs.pop(job_id, None)
            if not group_alive(proc.pid):  # a leftover background child keeps the group registered
                self._watchdog.forget(proc.pid)
        sig = -returncode if returncode < 0 else 0
        code = 128 + sig if sig else returncode
        with open(path, "a", encoding="utf-8") as out:
            out.write(log_trailer(code, time.monotonic() - start, self.request.num_threads, sig))
        return code

    def kill_all(self) -> None:
        """SIGTERM every running job's process group, then SIGKILL what is left after a grace period."""
        with self._lock:
            groups = {proc.pid for proc in self._procs.values()}
        kill_groups(groups, KILL_GRACE_S)  # whole groups: one outlives its leader if a grandchild ignored SIGTERM


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C while jobs run, so a killed runner kills its jobs too."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_local(request: JobRequest, prog: str = "run.sh") -> int:
    """Run all jobs; print the failure summary on stderr. Returns 0, or 1 if any job failed."""
    with sigterm_as_interrupt():
        codes = LocalRunner(request).run()
    summary = failure_summary(prog, request, codes)
    if summary:
        print(summary, file=sys.stderr)
        return 1
    return 0

