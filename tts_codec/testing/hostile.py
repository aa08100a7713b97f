"""Hostile-input testing: broken inputs, and a runner that checks an entry point refuses them properly.

A `Case` names an entry point (`split_data` for `python -m tts_codec.bin.split_data`, `utils/split_data.sh`, or a
script the case writes into its workspace, `./prog.sh`),
builds its inputs in an empty workspace and returns the arguments. `check_case` runs it and asserts the project's
rules for user mistakes: a non-zero exit, no Python traceback, a message naming the culprit (file, line or
option), and a workspace left byte-for-byte as it was (nothing lost, nothing half-written).

Verbs with `main(argv)` run in-process (fast); shell wrappers, and cases with read-only paths, run as
subprocesses. Read-only paths get mode a-w; as root, the subprocess runs without CAP_DAC_OVERRIDE (setpriv), so
the mode binds. To cover a new verb, write a list of `Case`s and parametrize a test over it with `check_case`
(see tests/hostile/).
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib
import io
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import soundfile

from tts_codec.testing.datadirs import make_data_dir

REPO = Path(__file__).resolve().parents[2]
#: Capabilities that let root ignore file modes; dropped for read-only cases run as root.
DAC_CAPS = "-dac_override,-dac_read_search"


@dataclasses.dataclass(frozen=True)
class Case:
    """One hostile input for one entry point.

    Attributes:
        entry: a `tts_codec.bin` module name, a path under the repo such as `utils/run.sh`, or `./x.sh` in the
            workspace (both run by bash).
        name: a short id for the test report.
        setup: builds the inputs in the (empty) workspace and returns the argument list.
        culprit: a phrase the error output must contain; `{ws}` stands for the workspace path.
        read_only: workspace paths to make read-only before the run (forces a subprocess).
        subprocess: run `python -m tts_codec.bin.<entry>` in a subprocess even if it has `main(argv)`.
        timeout: seconds the run may take.
    """

    entry: str
    name: str
    setup: Callable[[Path], Sequence[str]]
    culprit: str
    read_only: tuple[str, ...] = ()
    subprocess: bool = False
    timeout: float = 120.0

    @property
    def id(self) -> str:
        return f"{Path(self.entry).name}-{self.name}"


@dataclasses.dataclass(frozen=True)
class Outcome:
    code: int
    output: str  # stdout + stderr


# ---- broken inputs -------------------------------------------------------------------------------------------

def write_broken_audio(path: str | os.PathLike, kind: str, sample_rate: int = 16000) -> Path:
    """Write an audio file broken in one way (see AUDIO_KINDS); returns its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tone = (0.3 * np.sin(2 * np.pi * 220 * np.arange(sample_rate // 4) / sample_rate)).astype(np.float32)
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("not audio at all\n")
    elif kind == "truncated_header":
        soundfile.write(path, tone, sample_rate, subtype="PCM_16", format="WAV")
        path.write_bytes(path.read_bytes()[:20])
    elif kind in ("nan", "inf"):
        tone[100:110] = np.nan if kind == "nan" else np.inf
        soundfile.write(path, tone, sample_rate, subtype="FLOAT", format="WAV")
    elif kind == "one_sample":
        soundfile.write(path, tone[:1], sample_rate, subtype="PCM_16", format="WAV")
    elif kind == "zero_samples":
        soundfile.write(path, tone[:0], sample_rate, subtype="PCM_16", format="WAV")
    elif kind == "wrong_rate":
        soundfile.write(path, tone, 8000, subtype="PCM_16", format="WAV")
    elif kind == "stereo":
        soundfile.write(path, np.stack([tone, tone], axis=1), sample_rate, subtype="PCM_16", format="WAV")
    else:
        raise ValueError(f"unknown broken-audio kind {kind!r}; known: {', '.join(AUDIO_KINDS)}")
    return path


AUDIO_KINDS = ("empty", "text", "truncated_header", "nan", "inf", "one_sample", "zero_samples", "wrong_rate",
               "stereo")


def data_dir(ws: Path, name: str = "data", **kwargs) -> Path:
    """A valid data dir `ws/name` (speakers spk1, spk2; utterances spkK-uttJ) from `make_data_dir`."""
    return make_data_dir(ws, name=name, **kwargs)


def replace_audio(data: Path, kind: str, line: int = 1) -> Path:
    """Overwrite the audio file of wav.scp `line` with broken audio of `kind`; returns that file."""
    spec = (data / "wav.scp").read_text(encoding="utf-8").splitlines()[line - 1].split(maxsplit=1)[1]
    return write_broken_audio(spec.strip(), kind)


def set_line(path: Path, line: int, content: bytes | str) -> Path:
    """Replace one line of a text file (bytes allowed, e.g. invalid UTF-8)."""
    lines = path.read_bytes().splitlines()
    lines[line - 1] = content if isinstance(content, bytes) else content.encode("utf-8")
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def bad_numbers(option: str) -> list[tuple[str, str]]:
    """(name, value) pairs no numeric option should accept."""
    del option  # the same values serve every option; the parameter documents the call site
    return [("zero", "0"), ("negative", "-1"), ("text", "abc"), ("nan", "nan")]


# ---- running and checking --------------------------------------------------------------------------------------

def tree_digest(root: Path) -> dict[str, str]:
    """Relative path -> content hash (or `dir` / `link -> target`) of everything under root."""
    digest = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            digest[rel] = f"link -> {os.readlink(path)}"
        elif path.is_dir():
            digest[rel] = "dir"
        else:
            digest[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest


def _in_process(module, argv: list[str]) -> Outcome:
    from tts_codec.cli import run_main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = run_main(module.main, argv)
        except SystemExit as exc:  # argparse errors
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException as exc:  # noqa: BLE001 - an escaped exception is exactly what the check reports
            import traceback

            err.write("Traceback (most recent call last):\n" + "".join(traceback.format_exception(exc)))
            code = 1
    return Outcome(code, out.getvalue() + err.getvalue())


def _command(case: Case, argv: list[str], ws: Path) -> list[str]:
    if case.entry.startswith("./"):
        return ["bash", str(ws / case.entry), *argv]
    if "/" in case.entry:
        return ["bash", str(REPO / case.entry), *argv]
    return [sys.executable, "-m", f"tts_codec.bin.{case.entry}", *argv]


def _subprocess(case: Case, argv: list[str], ws: Path) -> Outcome:
    command = _command(case, argv, ws)
    if case.read_only and os.geteuid() == 0:
        command = ["setpriv", f"--bounding-set={DAC_CAPS}", f"--inh-caps={DAC_CAPS}", "--", *command]
    env = {**os.environ, "PYTHON": sys.executable, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    env.pop("TTS_CODEC_DEBUG", None)
    proc = subprocess.run(command, cwd=ws, env=env, capture_output=True, text=True, timeout=case.timeout,
                          stdin=subprocess.DEVNULL)
    return Outcome(proc.returncode, proc.stdout + proc.stderr)


def run_case(case: Case, ws: Path) -> Outcome:
    """Build the case's inputs in `ws` and run its entry point (no checks)."""
    argv = [str(a) for a in case.setup(ws)]
    for rel in case.read_only:
        _make_read_only(ws / rel)
    try:
        if case.subprocess or case.read_only or "/" in case.entry:
            return _subprocess(case, argv, ws)
        cwd = os.getcwd()
        os.chdir(ws)
        try:
            return _in_process(importlib.import_module(f"tts_codec.bin.{case.entry}"), argv)
        finally:
            os.chdir(cwd)
    finally:
        for rel in case.read_only:
            _make_writable(ws / rel)


def check_case(case: Case, ws: Path) -> Outcome:
    """Run `case` in the empty dir `ws` and assert: non-zero exit, no traceback, culprit named, `ws` unchanged."""
    if case.read_only and os.geteuid() == 0 and shutil.which("setpriv") is None:
        import pytest

        pytest.skip("running as root and setpriv (util-linux) is not installed: read-only modes would not bind")
    ws.mkdir(parents=True, exist_ok=True)
    before: dict[str, str] = {}
    original_setup = case.setup

    def setup_and_snapshot(path: Path) -> Sequence[str]:
        argv = original_setup(path)
        before.update(tree_digest(path))
        return argv

    outcome = run_case(dataclasses.replace(case, setup=setup_and_snapshot), ws)
    culprit = case.culprit.format(ws=ws)
    shown = outcome.output[-3000:]
    assert outcome.code != 0, f"{case.id}: exit 0 on a hostile input\n{shown}"
    assert "Traceback" not in outcome.output, f"{case.id}: printed a traceback\n{shown}"
    assert culprit in outcome.output, f"{case.id}: the message does not name {culprit!r}\n{shown}"
    after = tree_digest(ws)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"{case.id}: the workspace changed: {changed[:10]}\n{shown}"
    return outcome


def _make_read_only(path: Path) -> None:
    mode = path.stat().st_mode
    path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _make_writable(path: Path) -> None:
    path.chmod(path.stat().st_mode | stat.S_IWUSR)
