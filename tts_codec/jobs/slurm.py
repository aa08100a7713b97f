"""SLURM job backend (Kaldi slurm.pl): one sbatch job array per invocation, waited for by polling squeue.

A generated bash script (`<logdir>/q/<name>.sh`) runs task `$SLURM_ARRAY_TASK_ID`: it substitutes the job
index into the command and log path, writes the same log header/trailer as the local backend and leaves an
exit-status file `<logdir>/q/<name>.<slurm job id>.<task>.status`. Accounting (sacct) may be disabled, so a
task without a status file is looked up with `scontrol show job` to say why it died (TIMEOUT, OOM, ...).
"""
from __future__ import annotations

import logging
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

from tts_codec.errors import UserError
from tts_codec.jobs.local import prepare_logs, sigterm_as_interrupt
from tts_codec.jobs.slurm_conf import SlurmConf
from tts_codec.jobs.spec import RUNNER_OPTIONS, JobRequest, failure_summary, log_header, log_trailer

log = logging.getLogger(__name__)
MAX_POLL_S = 10.0
STATUS_GRACE_S = 30.0  # a shared filesystem may show a status file a little after squeue forgets the task

_SCRIPT = """\
#!/bin/bash
# Written by utils/slurm.sh for {range}; runs one task of the job array.
cd {cwd} || exit 1
task=${{SLURM_ARRAY_TASK_ID:-{first}}}
jobid=${{SLURM_ARRAY_JOB_ID:-$SLURM_JOB_ID}}
cmd={command}
log={log}
{substitute}mkdir -p "$(dirname "$log")"
{{ printf '# %s\\n' "$cmd"; echo "# Started at $(date)"; echo "# Running on $(hostname) as SLURM job ${{jobid}}_$task"
  echo '#'; }} > "$log"
t0=$(date +%s)
bash -c "$cmd" >> "$log" 2>&1 < /dev/null
ret=$?
t1=$(date +%s)
echo "# Accounting: time=$((t1 - t0)) threads={threads}" >> "$log"
echo "# Ended (code $ret) at $(date), elapsed time $((t1 - t0)) seconds" >> "$log"
status={qdir}/{name}.$jobid.$task.status
echo $ret > "$status.tmp" && mv "$status.tmp" "$status"
exit $ret
"""


def job_name(request: JobRequest) -> str:
    """`exp/log/decode.JOB.log` -> `decode` (the SLURM job name and the stem of the q/ files)."""
    base = Path(request.log_template).name
    if request.job_range:
        base = re.sub(rf"[._-]?{re.escape(request.job_range.name)}", "", base)
    base = re.sub(r"\.[A-Za-z]+$", "", base)
    return re.sub(r"[^\w.-]", "_", base) or "job"


def queue_dir(request: JobRequest) -> Path:
    return request.log_path(request.ids[0]).parent / "q"


def write_job_script(request: JobRequest, qdir: Path, name: str) -> Path:
    """Write the per-task bash script for an sbatch array; returns its path."""
    rng = request.job_range
    substitute = ""
    if rng:
        substitute = f'cmd=${{cmd//{rng.name}/$task}}\nlog=${{log//{rng.name}/$task}}\n'
    text = _SCRIPT.format(range=rng or "a single job", cwd=shlex.quote(os.getcwd()), first=request.ids[0],
                          command=shlex.quote(request.command), log=shlex.quote(request.log_template),
                          substitute=substitute, threads=request.num_threads, qdir=shlex.quote(str(qdir.resolve())),
                          name=name)
    script = qdir / f"{name}.sh"
    qdir.mkdir(parents=True, exist_ok=True)
    script.write_text(text, encoding="utf-8")
    script.chmod(0o755)
    return script


def _call(args: list[str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(args, capture_output=True, text=True)
    except FileNotFoundError as err:
        raise UserError(f"{args[0]} not found: is the SLURM client installed and on PATH?") from err


def resource_args(conf: SlurmConf, request: JobRequest) -> list[str]:
    return conf.submit_args({k: v for k, v in request.options.items() if k not in RUNNER_OPTIONS})


def submit(conf: SlurmConf, request: JobRequest, script: Path, name: str) -> str:
    """sbatch the script (as an array if there is a job range); returns the SLURM job id."""
    qdir = script.parent
    args = [*conf.command, *resource_args(conf, request), "--parsable", f"--job-name={name}"]
    if request.job_range:
        rng = request.job_range
        throttle = f"%{request.max_jobs_run}" if request.max_jobs_run else ""
        args += [f"--array={rng.start}-{rng.end}{throttle}", f"--output={qdir}/{name}.%a.out"]
    else:
        args.append(f"--output={qdir}/{name}.out")
    args.append(str(script))
    result = _call(args)
    if result.returncode != 0:
        raise UserError(f"sbatch failed (exit {result.returncode}): {shlex.join(args)}\n{result.stderr.strip()}")
    job_id = result.stdout.strip().split(";")[0]
    if not job_id.isdigit():
        raise UserError(f"unexpected sbatch output {result.stdout.strip()!r} from: {shlex.join(args)}")
    return job_id


def in_queue(job_id: str) -> bool:
    """True while any task of the job is pending, running or completing."""
    for attempt in range(30):
        result = _call(["squeue", "-h", "-j", job_id, "-o", "%i"])
        if result.returncode == 0:
            return bool(result.stdout.strip())
        if "Invalid job id" in result.stderr:  # already purged from the controller
            return False
        log.warning("squeue failed (%s), retrying", result.stderr.strip())
        time.sleep(min(2.0 * (attempt + 1), 20.0))
    raise UserError(f"squeue keeps failing for job {job_id}: {result.stderr.strip()}")


def task_fields(job_id: str, task: int | None) -> dict[str, str]:
    """`scontrol show job` fields (JobState, Reason, ExitCode, ...) of one task; empty once SLURM forgot it."""
    ref = f"{job_id}_{task}" if task is not None else job_id
    result = _call(["scontrol", "show", "job", "-o", ref])
    return dict(re.findall(r"(\w+)=(\S*)", result.stdout)) if result.returncode == 0 else {}


def describe(job_id: str, task: int | None, fields: dict[str, str]) -> str:
    ref = f"{job_id}_{task}" if task is not None else job_id
    if "JobState" not in fields:
        return f"SLURM job {ref} left no exit status and is no longer known to scontrol"
    return (f"SLURM job {ref} left no exit status: JobState={fields['JobState']} "
            f"Reason={fields.get('Reason', '?')} ExitCode={fields.get('ExitCode', '?')}")


def wait_for(job_id: str, status: dict[int, Path], array: bool) -> dict[int, dict[str, str]]:
    """Poll until every status file exists or the job has left the queue.

    Returns the scontrol fields of tasks that ended without a status file.
    """
    delay = 0.2
    while not all(p.exists() for p in status.values()) and in_queue(job_id):
        time.sleep(delay)
        delay = min(delay * 1.25, MAX_POLL_S)
    missing = {j: task_fields(job_id, j if array else None) for j, p in status.items() if not p.exists()}
    # A task that SLURM says COMPLETED (or forgot) wrote its status file: wait for the filesystem to show it.
    waiting = [j for j, f in missing.items() if f.get("JobState", "COMPLETED") == "COMPLETED"]
    deadline = time.monotonic() + STATUS_GRACE_S
    while waiting and time.monotonic() < deadline:
        os.listdir(status[waiting[0]].parent)  # refreshes NFS directory caches
        time.sleep(0.5)
        waiting = [j for j in waiting if not status[j].exists()]
    return {j: f for j, f in missing.items() if not status[j].exists()}


def collect(job_id: str, request: JobRequest, status: dict[int, Path], lost: dict[int, dict[str, str]],
            qdir: Path, name: str) -> tuple[dict[int, int], dict[int, str], dict[int, Path]]:
    """Exit codes per job, with explanations and fallback files for tasks that left no status."""
    codes, notes, tails = {}, {}, {}
    for j, path in status.items():
        if j not in lost:
            try:
                codes[j] = int(path.read_text().strip())
                path.unlink()
                continue
            except (OSError, ValueError):
                lost[j] = {}
        codes[j] = 1
        notes[j] = describe(job_id, j if request.job_range else None, lost[j])
        if not request.log_path(j).exists():
            tails[j] = qdir / (f"{name}.{j}.out" if request.job_range else f"{name}.out")
    return codes, notes, tails


def run_sbatch(request: JobRequest, conf: SlurmConf, prog: str = "slurm.sh") -> int:
    """Submit, wait, report failures like the local backend. Returns 0 or 1."""
    prepare_logs(request)
    for j in request.ids:  # a stale log from an earlier run must not be mistaken for this one
        request.log_path(j).unlink(missing_ok=True)
    name = job_name(request)
    qdir = queue_dir(request)
    script = write_job_script(request, qdir, name)
    job_id = submit(conf, request, script, name)
    log.info("%s: submitted SLURM job %s (%d task(s)); logs: %s", prog, job_id, len(request.ids),
             request.log_template)
    status = {j: qdir / f"{name}.{job_id}.{j}.status" for j in request.ids}
    try:
        with sigterm_as_interrupt():
            lost = wait_for(job_id, status, array=request.job_range is not None)
    except KeyboardInterrupt:
        _call(["scancel", job_id])
        print(f"{prog}: interrupted: cancelled SLURM job {job_id}", file=sys.stderr)
        raise
    codes, notes, tails = collect(job_id, request, status, lost, qdir, name)
    summary = failure_summary(prog, request, codes, notes, tails)
    if summary:
        print(summary, file=sys.stderr)
        return 1
    return 0


def run_srun(request: JobRequest, conf: SlurmConf, prog: str = "slurm.sh") -> int:
    """Run one job in the foreground through `srun` (its output streams into the log). Returns 0 or 1."""
    if len(request.ids) != 1:
        raise UserError(f"--srun true runs a single job, but {request.job_range} asks for {len(request.ids)}")
    prepare_logs(request)
    job = request.ids[0]
    path, command = request.log_path(job), request.command_for(job)
    launcher = ["srun" if Path(conf.command[0]).name == "sbatch" else conf.command[0], *conf.command[1:]]
    args = [*launcher, *resource_args(conf, request), "--ntasks=1", f"--job-name={job_name(request)}",
            "bash", "-c", command]
    path.write_text(log_header(command), encoding="utf-8")
    start = time.monotonic()
    with open(path, "a", encoding="utf-8") as out, sigterm_as_interrupt():
        try:
            proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        except FileNotFoundError as err:
            raise UserError(f"{args[0]} not found: is the SLURM client installed and on PATH?") from err
        try:
            code = proc.wait()
        except KeyboardInterrupt:  # srun forwards SIGTERM to the task and then ends the step
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
            raise
    sig = -code if code < 0 else 0
    code = 128 + sig if sig else code
    with open(path, "a", encoding="utf-8") as out:
        out.write(log_trailer(code, time.monotonic() - start, request.num_threads, sig))
    summary = failure_summary(prog, request, {job: code})
    if summary:
        print(summary, file=sys.stderr)
        return 1
    return 0
