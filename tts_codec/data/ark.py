"""Kaldi ark/scp matrices and token sequences; the only module that imports kaldiio (one file to swap, see README).

Storage per array: float32/float64 vectors and matrices use Kaldi's native binary format (readable by Kaldi's
copy-feats), 1-D int32 uses Kaldi's int32-vector format (copy-int-vector), anything else (int64, int16, 3-D, ...)
is stored as kaldiio's `NPY` record, which keeps dtype and shape exactly.
"""
from __future__ import annotations

import contextlib
import os
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Iterator

import kaldiio
import numpy as np

from tts_codec.atomic import atomic_write, refuse_to_clobber
from tts_codec.data.table import Entry, read_entries
from tts_codec.errors import UserError


def _is_native(array: np.ndarray) -> bool:
    """Arrays Kaldi's own binary format holds exactly."""
    if array.dtype in (np.float32, np.float64):
        return array.ndim in (1, 2)
    return array.dtype == np.int32 and array.ndim == 1


class ArkWriter:
    """Write `utt -> np.ndarray` into an ark and its scp; both appear only when the `with` block succeeds.

    The ark is written under a temp name and renamed; the scp (C-sorted, written last, atomically) points at the
    final ark path exactly as given, so relative paths stay relative to the working directory, as in Kaldi.

    Example:
        with ArkWriter("dump/feats/train/feats.1.ark", "dump/feats/train/feats.1.scp") as writer:
            writer["spk1-utt1"] = np.zeros((100, 80), dtype=np.float32)
    """

    def __init__(self, ark_path: str | os.PathLike, scp_path: str | os.PathLike, overwrite: bool = False):
        self.ark_path, self.scp_path = Path(ark_path), Path(scp_path)
        self.overwrite = overwrite
        self._fd = None
        self._stack = contextlib.ExitStack()
        self._offsets: dict[str, int] = {}

    def __enter__(self) -> "ArkWriter":
        refuse_to_clobber(self.ark_path, self.overwrite, "ark")
        refuse_to_clobber(self.scp_path, self.overwrite, "scp")
        self._fd = self._stack.enter_context(atomic_write(self.ark_path, "wb"))
        return self

    def __setitem__(self, key: str, array: np.ndarray) -> None:
        if self._fd is None:
            raise RuntimeError("ArkWriter must be used inside a `with` block")
        if not key or any(ch.isspace() for ch in key):
            raise ValueError(f"ark key {key!r} is empty or contains whitespace")
        if key in self._offsets:
            raise ValueError(f"ark key {key!r} written twice to {self.ark_path}")
        array = np.asarray(array)
        start = self._fd.tell()
        kaldiio.save_ark(self._fd, {key: array}, write_function=None if _is_native(array) else "numpy")
        self._offsets[key] = start + len(key.encode("utf-8")) + 1  # the data starts after "key "

    def __len__(self) -> int:
        return len(self._offsets)

    def __exit__(self, exc_type, exc, tb) -> None:
        self._fd = None
        self._stack.__exit__(exc_type, exc, tb)  # publishes the ark, or removes it on an exception
        if exc_type is not None:
            return
        name = os.fspath(self.ark_path)
        with atomic_write(self.scp_path, "w") as handle:
            for key in sorted(self._offsets):
                handle.write(f"{key} {name}:{self._offsets[key]}\n")


def write_ark(ark_path: str | os.PathLike, scp_path: str | os.PathLike, arrays: Mapping[str, np.ndarray],
              overwrite: bool = False) -> None:
    """Write a whole mapping with one ArkWriter."""
    with ArkWriter(ark_path, scp_path, overwrite=overwrite) as writer:
        for key, array in arrays.items():
            writer[key] = array


def _load(scp: Path, entry: Entry, fd_cache: dict | None) -> np.ndarray:
    """Load one scp entry; failures become a UserError naming the scp line."""
    where = f"{scp}:{entry.line}"
    if not entry.value:
        raise UserError(f"{where}: key {entry.key!r} has no ark location")
    try:
        array = kaldiio.load_mat(entry.value, fd_dict=fd_cache)
    except FileNotFoundError as err:
        raise UserError(f"{where}: {entry.key!r}: ark file {err.filename or entry.value} not found") from None
    except (OSError, ValueError, AssertionError, struct.error, EOFError, KeyError, RuntimeError) as err:
        raise UserError(f"{where}: {entry.key!r}: cannot read {entry.value}: {type(err).__name__} {err}") from None
    if isinstance(array, tuple):  # kaldiio returns (rate, samples) for audio records
        array = array[1]
    return array


def _entries(scp_path: str | os.PathLike) -> list[Entry]:
    entries = read_entries(scp_path)
    seen: dict[str, int] = {}
    for entry in entries:
        if not entry.key:
            raise UserError(f"{scp_path}:{entry.line}: empty line")
        if entry.key in seen:
            raise UserError(f"{scp_path}:{entry.line}: duplicate key {entry.key!r} (first on line {seen[entry.key]})")
        seen[entry.key] = entry.line
    return entries


def read_scp(scp_path: str | os.PathLike) -> Iterator[tuple[str, np.ndarray]]:
    """Yield `(key, array)` in scp order, keeping ark files open between entries."""
    scp = Path(scp_path)
    fd_cache: dict = {}
    try:
        for entry in _entries(scp):
            yield entry.key, _load(scp, entry, fd_cache)
    finally:
        for fd in fd_cache.values():
            fd.close()


class ScpDict(Mapping):
    """A lazy read-only mapping key -> array over an scp file; each access reads one record."""

    def __init__(self, scp_path: str | os.PathLike):
        self.scp_path = Path(scp_path)
        self._entries = {e.key: e for e in _entries(self.scp_path)}

    def __getitem__(self, key: str) -> np.ndarray:
        return _load(self.scp_path, self._entries[key], None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


def load_scp_dict(scp_path: str | os.PathLike) -> ScpDict:
    """A lazy mapping utt -> array for an scp (records are read on access)."""
    return ScpDict(scp_path)
