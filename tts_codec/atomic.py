"""Atomic writes: a file or a whole output directory is built beside its target, then renamed into place, so
readers never see half an output and a failed run never destroys the previous one.

Temporary names carry the host and process id (`.<name>.<host>.<pid>.<random>.tmp`), so that the next successful
write of the same target removes what killed runs on this host left behind.
"""
from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import tempfile
from pathlib import Path
from typing import IO, Iterable, Iterator

from tts_codec.errors import UserError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _temp_affixes(path: Path, keep_suffix: bool) -> tuple[str, str]:
    """(prefix, suffix) of this process's temp files for `path`; see the module docstring."""
    stem, suffix = (path.stem, path.suffix) if keep_suffix else (path.name, ".tmp")
    return f".{stem}.{socket.gethostname()}.{os.getpid()}.", suffix


def _remove_dead_temps(path: Path, keep_suffix: bool) -> None:
    """Delete temp files of `path` whose writer (a process of this host) is dead: leftovers of killed runs."""
    prefix, suffix = _temp_affixes(path, keep_suffix)
    host_prefix = prefix[: prefix.rindex(".", 0, -1) + 1]  # `.<name>.<host>.`
    for item in path.parent.glob(glob.escape(host_prefix) + "*" + glob.escape(suffix)):
        pid = item.name[len(host_prefix):].split(".", 1)[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            with contextlib.suppress(FileNotFoundError):
                item.unlink()


def _publish(tmp: str, path: Path, keep_suffix: bool) -> None:
    """Give the temp file the mode a normal open() would (mkstemp makes it 0600), rename it onto `path`, and
    remove leftovers of killed writers of `path`."""
    os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, path)
    _remove_dead_temps(path, keep_suffix)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Open a temp file for writing; on success rename it onto `path`, on error remove it.

    Args:
        path: the final file; its parent directory is created if needed.
        mode: "w" (text, UTF-8) or "wb" (binary).
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write mode must be 'w' or 'wb', not {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix, suffix = _temp_affixes(path, keep_suffix=False)
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=path.parent)
    try:
        with os.fdopen(fd, mode, encoding=encoding if mode == "w" else None) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        _publish(tmp, path, keep_suffix=False)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path (same directory and suffix) for libraries that write by file name; rename on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix, suffix = _temp_affixes(path, keep_suffix=True)
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        _publish(tmp, path, keep_suffix=True)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def refuse_to_clobber(path: str | os.PathLike, overwrite: bool, what: str = "output") -> None:
    """Raise a UserError if `path` exists (non-empty for directories) and `overwrite` is False."""
    path = Path(path)
    exists = path.is_file() or (path.is_dir() and any(path.iterdir()))
    if exists and not overwrite:
        raise UserError(f"{what} {path} already exists; pass --overwrite true to replace it")


def refuse_input_as_output(output: str | os.PathLike, inputs: Iterable[str | os.PathLike], what: str = "output"
                           ) -> None:
    """Raise a UserError if `output` is one of `inputs`, lies inside one, or contains one (paths resolved first).

    Replacing such an output would destroy an input before (or while) it is read.
    """
    out = Path(output).resolve()
    for item in inputs:
        inp = Path(item).resolve()
        if out == inp:
            raise UserError(f"{what} {output} is also an input; write to another directory")
        if inp in out.parents:
            raise UserError(f"{what} {output} lies inside input {item}; write to a directory outside it")
        if out in inp.parents:
            raise UserError(f"{what} {output} contains input {item}; write to a directory outside it")


def _aside_name(target: Path, kind: str) -> Path:
    """A new unique sibling dir `.<name>.<kind>.<host>.<pid>.<random>` of `target` (same filesystem: atomic renames)."""
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.{kind}.{socket.gethostname()}.{os.getpid()}.",
                                 dir=target.parent))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _recover_interrupted(target: Path) -> None:
    """Undo what a killed `replace_dir` on this host left beside `target`.

    A dead run's `.new.` dir is a half-built output: removed. Its `.old.` dir is the previous output: renamed back
    if the run died between its two renames (the target is missing), else removed.
    """
    host = socket.gethostname()
    for kind in ("old", "new"):
        for item in sorted(target.parent.glob(f".{glob.escape(target.name)}.{kind}.{glob.escape(host)}.*")):
            pid_field = item.name[len(f".{target.name}.{kind}.{host}."):].split(".", 1)[0]
            if not pid_field.isdigit() or _pid_alive(int(pid_field)):
                continue
            if kind == "old" and not target.exists():
                os.replace(item, target)
            else:
                shutil.rmtree(item, ignore_errors=True)


@contextlib.contextmanager
def replace_dir(
    output: str | os.PathLike,
    inputs: Iterable[str | os.PathLike] = (),
    overwrite: bool = False,
    what: str = "output",
) -> Iterator[Path]:
    """Build a new version of the directory `output` aside, then swap it in; the one way to replace an output dir.

    Contract:
      1. Before anything is touched: `output` must not be, contain, or lie inside any of `inputs` (resolved
         paths), and an existing non-empty `output` needs `overwrite` (both are UserErrors).
      2. The caller gets a new empty directory beside `output` (same filesystem) and writes the complete result
         into it, then validates it inside the `with` block; raising there aborts.
      3. On any exception the new directory is deleted and the existing output is left exactly as it was.
      4. On success the old output is renamed aside, the new one renamed to `output`, then the old one deleted.
         The existing output is never deleted before the new one is complete; if the second rename fails, the
         old one is put back. A run killed between the two renames is repaired by the next `replace_dir` on the
         same output (leftovers of dead runs on this host are cleaned up too).
      Files are not copied from the old output: whatever the new one should keep, the caller writes.

    Args:
        output: the directory to create or replace; its parent is created if needed.
        inputs: files or directories the caller reads while building the output.
        overwrite: allow replacing an existing non-empty output.
        what: how error messages call the output ("merged score dir", "data dir", ...).
    Yields:
        the temporary directory to build the new output in.
    """
    target = Path(output)
    refuse_input_as_output(target, inputs, what)
    if target.exists() and not target.is_dir():
        raise UserError(f"{what} {target} exists and is not a directory")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _recover_interrupted(target)
        refuse_to_clobber(target, overwrite, what)
        new = _aside_name(target, "new")
    except PermissionError as err:
        raise UserError(f"{what} {target}: cannot write in {target.parent}: {err.strerror}") from None
    try:
        os.chmod(new, 0o777 & ~_umask())
        yield new
        _swap_in(new, target)
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        raise


def _swap_in(new: Path, target: Path) -> None:
    """Rename `new` onto `target`, moving an existing target aside first and deleting it last."""
    old = None
    if target.exists():
        old = _aside_name(target, "old")
        os.replace(target, old)  # replaces the empty placeholder dir made by mkdtemp
    try:
        os.replace(new, target)
    except BaseException:
        if old is not None:
            os.replace(old, target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
