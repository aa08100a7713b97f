"""Run `JOB=1:N log.JOB.log command` jobs locally or on SLURM (what utils/run.sh and utils/slurm.sh call).

    python -m tts_codec.bin.run_jobs --backend local|slurm [runner options] [JOB=1:N] log command...

Everything after `--backend X` is the Kaldi run.pl/slurm.pl command line (see tts_codec.jobs.spec), so it
is parsed by hand rather than by argparse: the command's own `--flags` must pass through untouched.
"""
from __future__ import annotations

import sys
from typing import Sequence

from tts_codec.cli import run_main
from tts_codec.errors import UserError
from tts_codec.jobs.local import LOCAL_OPTIONS, die_with_parent, run_local
from tts_codec.jobs.slurm import run_sbatch, run_srun
from tts_codec.jobs.slurm_conf import load_slurm_conf
from tts_codec.jobs.spec import RUNNER_OPTIONS, USAGE, parse_job_args, peek_option

PROGS = {"local": "run.sh", "slurm": "slurm.sh"}
EXIT_USER_ERROR = 2
HELP = """\
The literal JOB (or the NAME of NAME=1:N) in the log path and the command becomes the job index 1..N.
The command words are joined and run by bash, so quote pipes and redirections: \\| \\> '&&'.
Local: --max-jobs-run bounds parallel jobs (default: CPUs); --mem/--gpu/--time are accepted and ignored.
SLURM: one sbatch job array; --config (default conf/slurm.conf) maps --mem/--gpu/--num-threads/--time and any
other option it names to sbatch options; --srun true runs a single job in the foreground through srun.
On failure: exit 1 and one summary naming the first failed job, its log and the log's last lines."""


def _split_backend(argv: list[str]) -> tuple[str, list[str]]:
    if len(argv) >= 2 and argv[0] == "--backend":
        backend, rest = argv[1], argv[2:]
    elif argv and argv[0].startswith("--backend="):
        backend, rest = argv[0].split("=", 1)[1], argv[1:]
    else:
        raise UserError(f"usage: run_jobs --backend local|slurm {USAGE}")
    if backend not in PROGS:
        raise UserError(f"--backend must be local or slurm, not {backend!r}")
    return backend, rest


def run(backend: str, argv: list[str]) -> int:
    """Parse the run.pl-style arguments and run them on `backend`; returns the exit status."""
    prog = PROGS[backend]
    if backend == "local":
        return run_local(parse_job_args(argv, LOCAL_OPTIONS), prog)
    # The config decides which resource options exist, so peek at --config before the full parse.
    conf = load_slurm_conf(peek_option(argv, "config"))
    hint = f"; resource options are the `option` lines of {conf.source}"
    request = parse_job_args(argv, RUNNER_OPTIONS + tuple(conf.option_names), hint)
    return (run_srun if request.flag("srun") else run_sbatch)(request, conf, prog)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    backend, rest = _split_backend(argv)
    if not rest or rest[0] in ("-h", "--help"):
        print(f"usage: {PROGS[backend]} {USAGE}\n{HELP}", file=sys.stdout if rest else sys.stderr)
        return 0 if rest else EXIT_USER_ERROR
    try:
        return run(backend, rest)
    except UserError as err:  # named after the wrapper the user typed, not this module
        print(f"{PROGS[backend]}: error: {err}", file=sys.stderr)
        return EXIT_USER_ERROR


def cli() -> None:
    die_with_parent()  # a recipe killed by SIGKILL takes its jobs with it (SIGTERM -> the runner kills them)
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
