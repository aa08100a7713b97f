"""The Kaldi run.pl/slurm.pl command line, shared by every job backend.

`[--opt value ...] [JOB=1:N] logdir/name.JOB.log command args...`: the literal job name (`JOB` or any
`NAME=` given in the range) is replaced by the 1-based job index in the log path and in the command,
as plain substring replacement exactly like Kaldi (so `data/split4/JOB` becomes `data/split4/3`).
"""
from __future__ import annotations

import argparse
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from tts_codec.cli import positive_int
from tts_codec.errors import UserError

USAGE = "[--max-jobs-run N] [--mem 4G] [--gpu 1] [--num-threads 2] [--time 1:00:00] [JOB=1:N] log command..."
# Options every backend understands; the SLURM backend also accepts any option named in its config.
RUNNER_OPTIONS = ("max_jobs_run", "config", "srun")
RESOURCE_OPTIONS = ("mem", "gpu", "num_threads", "time")

_RANGE = re.compile(r"^(?P<name>[A-Za-z_]\w*)=(?P<start>\d+)(?::(?P<end>\d+))?$")
# Looks like an attempted range (`JOB=1:`, `JOB=a:4`) rather than a log path.
_RANGE_LIKE = re.compile(r"^[A-Za-z_]\w*=[^/]*$")


@dataclass(frozen=True)
class JobRange:
    """`NAME=START:END` (inclusive, START >= 1); a single `NAME=K` is START == END."""

    name: str
    start: int
    end: int

    @property
    def ids(self) -> list[int]:
        return list(range(self.start, self.end + 1))

    def __str__(self) -> str:
        return f"{self.name}={self.start}:{self.end}"


def parse_job_range(arg: str) -> JobRange | None:
    """Parse `JOB=1:N` / `JOB=K`; None if `arg` is not a range at all, UserError if it is a bad one."""
    match = _RANGE.match(arg)
    if match is None:
        if _RANGE_LIKE.match(arg):
            raise UserError(f"bad job range {arg!r}: expected NAME=START:END with integers, e.g. JOB=1:4")
        return None
    start = int(match["start"])
    end = int(match["end"]) if match["end"] is not None else start
    if start < 1:
        raise UserError(f"bad job range {arg!r}: job indices start at 1")
    if start > end:
        raise UserError(f"bad job range {arg!r}: start {start} is greater than end {end}")
    return JobRange(match["name"], start, end)


def join_command(args: Sequence[str]) -> str:
    """Join argv into one bash command the way run.pl does, so `|`, `>` and `$VAR` keep their shell meaning.

    A word without whitespace is kept as is; one with whitespace is double-quoted (so `$VAR` still expands),
    or single-quoted if it contains a double quote.
    """
    words = []
    for arg in args:
        if arg and not re.search(r"\s", arg):
            words.append(arg)
        elif '"' in arg:
            words.append("'" + arg.replace("'", "'\\''") + "'")
        else:
            words.append(f'"{arg}"')
    return " ".join(words)


@dataclass
class JobRequest:
    """One parsed invocation: options (underscore names), the job range, the log template and the command."""

    options: dict[str, str]
    job_range: JobRange | None
    log_template: str
    command: str

    @property
    def ids(self) -> list[int]:
        return self.job_range.ids if self.job_range else [1]

    def log_path(self, job_id: int) -> Path:
        return Path(self._substitute(self.log_template, job_id))

    def command_for(self, job_id: int) -> str:
        return self._substitute(self.command, job_id)

    def _substitute(self, text: str, job_id: int) -> str:
        return text.replace(self.job_range.name, str(job_id)) if self.job_range else text

    @property
    def max_jobs_run(self) -> int | None:
        return _positive_int(self.options, "max_jobs_run")

    @property
    def num_threads(self) -> int:
        return _positive_int(self.options, "num_threads") or 1

    def validate(self) -> None:
        """Check the numeric options now, so a typo fails before any job starts."""
        for name in ("max_jobs_run", "num_threads"):
            _positive_int(self.options, name)

    def flag(self, name: str) -> bool:
        value = self.options.get(name, "false").lower()
        if value not in ("true", "false"):
            raise UserError(f"--{name} takes true or false, not {value!r}")
        return value == "true"


def _positive_int(options: dict[str, str], name: str) -> int | None:
    if name not in options:
        return None
    try:
        return int(positive_int(options[name]))
    except argparse.ArgumentTypeError as err:  # the same message as every other numeric option
        raise UserError(f"argument --{name.replace('_', '-')}: {err}") from None


def parse_job_args(argv: Sequence[str], known_options: Sequence[str] | None = None, hint: str = "") -> JobRequest:
    """Parse a run.pl-style command line (options may come before or after `JOB=1:N`, as in Kaldi).

    Args:
        argv: the arguments after the program name.
        known_options: accepted option names (underscore form); default runner + resource options.
        hint: appended to the unknown-option error (e.g. where the allowed options come from).
    Returns:
        the request; UserError names the bad argument.
    """
    known = set(known_options if known_options is not None else RUNNER_OPTIONS + RESOURCE_OPTIONS)
    options: dict[str, str] = {}
    job_range: JobRange | None = None
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("-"):
            name, value, i = _take_option(argv, i, known, hint)
            options[name] = value
        elif job_range is None and (job_range := parse_job_range(arg)) is not None:
            i += 1
        else:
            break
    rest = list(argv[i:])
    if len(rest) < 2:
        raise UserError(f"expected a log file and a command; usage: {USAGE}")
    log_template, command = rest[0], join_command(rest[1:])
    if job_range and job_range.end > job_range.start and job_range.name not in log_template:
        raise UserError(f"{job_range} runs {len(job_range.ids)} jobs but the log file {log_template!r} does not "
                        f"contain {job_range.name}, so they would all write to one log")
    request = JobRequest(options, job_range, log_template, command)
    request.validate()
    return request


def _take_option(argv: Sequence[str], i: int, known: set[str], hint: str) -> tuple[str, str, int]:
    """Read `--name value` or `--name=value` at argv[i]; return (underscore name, value, next index)."""
    arg = argv[i]
    if not arg.startswith("--") or len(arg) == 2:
        raise UserError(f"unknown option {arg!r}; usage: {USAGE}")
    raw, eq, value = arg[2:].partition("=")
    name = raw.replace("-", "_")
    if name not in known:
        allowed = ", ".join("--" + k.replace("_", "-") for k in sorted(known))
        raise UserError(f"unknown option --{raw} (this backend takes {allowed}){hint}")
    if eq:
        return name, value, i + 1
    if i + 1 >= len(argv) or argv[i + 1].startswith("--"):
        raise UserError(f"option --{raw} needs a value")
    return name, argv[i + 1], i + 2


def peek_option(argv: Sequence[str], name: str) -> str | None:
    """The value of `--name` among the leading options, without validating the others.

    The SLURM backend needs `--config` first, because that file decides which other options exist.
    """
    i = 0
    while i < len(argv) and (argv[i].startswith("--") or _RANGE.match(argv[i])):
        raw, eq, value = argv[i][2:].partition("=")
        step = 1 if eq or not argv[i].startswith("--") else 2
        if argv[i].startswith("--") and raw.replace("-", "_") == name:
            return value if eq else (argv[i + 1] if i + 1 < len(argv) else None)
        i += step
    return None

# ---- log format and the failure summary, identical for every backend ----

def now() -> str:
    """The date as `date` prints it (Kaldi log headers)."""
    return time.strftime("%a %b %d %H:%M:%S %Z %Y")


def log_header(command: str) -> str:
    return f"# {command}\n# Started at {now()}\n#\n"


def log_trailer(code: int, seconds: float, threads: int, signal: int = 0) -> str:
    status = f"code {code}; signal {signal}" if signal else f"code {code}"
    secs = int(round(seconds))
    return f"# Accounting: time={secs} threads={threads}\n# Ended ({status}) at {now()}, elapsed time {secs} seconds\n"


def log_tail(path: Path, lines: int = 10) -> list[str]:
    """The last `lines` lines a job wrote, without the runner's own `# Accounting`/`# Ended` trailer."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as err:
        return [f"(cannot read {path}: {err.strerror})"]
    while text and (text[-1].startswith("# Accounting:") or text[-1].startswith("# Ended (") or not text[-1].strip()):
        text.pop()
    return text[-lines:]


def failure_summary(prog: str, request: JobRequest, codes: dict[int, int], notes: dict[int, str] | None = None,
                    tail_paths: dict[int, Path] | None = None, tail_lines: int = 10) -> str | None:
    """One report for all failed jobs (None if none failed): count, the first failure's log and its tail.

    Args:
        codes: job id -> exit code.
        notes: job id -> extra explanation (e.g. the SLURM job state), shown for the first failure.
        tail_paths: job id -> file to show instead of the log (e.g. when the log was never written).
    """
    failed = sorted(j for j, code in codes.items() if code != 0)
    if not failed:
        return None
    first = failed[0]
    log = request.log_path(first)
    if request.job_range is None:
        lines = [f"{prog}: job failed (exit code {codes[first]}): log {log}"]
    else:
        lines = [f"{prog}: {len(failed)} / {len(codes)} failed, e.g. job {first}: log {log}"]
        if len(failed) > 1:
            shown = " ".join(map(str, failed[:20])) + (" ..." if len(failed) > 20 else "")
            lines.append(f"{prog}: failed jobs: {shown}")
    if notes and first in notes:
        lines.append(f"{prog}: job {first}: {notes[first]}")
    tail_path = (tail_paths or {}).get(first, log)
    lines.append(f"{prog}: last lines of {tail_path} (exit code {codes[first]}):")
    lines.extend("  | " + line for line in log_tail(tail_path, tail_lines))
    return "\n".join(lines)

