"""Kaldi text tables (`key rest-of-line`): the format of wav.scp, text, utt2spk, segments and every utt2* file.

Keys are compared in C (byte) order: for UTF-8 text, Python's code-point order is the same as `LC_ALL=C sort`.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Iterable, Mapping, NamedTuple

from tts_codec.atomic import atomic_write
from tts_codec.errors import UserError


class Entry(NamedTuple):
    """One line of a table: `key`, `value` (the rest of the line, may be "") and its 1-based line number.

    A blank line gives `key == ""`, so that callers can report it by line.
    """

    key: str
    value: str
    line: int


def read_lines(path: str | os.PathLike) -> list[str]:
    """Read a UTF-8 text file as lines without their line ends; "-" reads stdin.

    Raises:
        UserError: `path: no such file`, or `path:line: invalid UTF-8 ...`.
    """
    try:
        raw = sys.stdin.buffer.read() if os.fspath(path) == "-" else Path(path).read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except OSError as err:
        raise UserError(f"{path}: cannot read: {err.strerror}") from None
    lines = []
    for lineno, bline in enumerate(raw.splitlines(), start=1):
        try:
            lines.append(bline.decode("utf-8"))
        except UnicodeDecodeError as err:
            raise UserError(f"{path}:{lineno}: invalid UTF-8 at byte {err.start} of the line") from None
    return lines


def read_entries(path: str | os.PathLike) -> list[Entry]:
    """Read every line of a table, duplicates and empty values included (for validation and fixing)."""
    entries = []
    for lineno, line in enumerate(read_lines(path), start=1):
        fields = line.strip().split(maxsplit=1)
        key = fields[0] if fields else ""
        value = fields[1].rstrip() if len(fields) > 1 else ""
        entries.append(Entry(key, value, lineno))
    return entries


def read_table(path: str | os.PathLike, allow_empty_value: bool = False) -> dict[str, str]:
    """Read a table into `{key: rest of the line}` (insertion order = file order).

    Args:
        path: the table file.
        allow_empty_value: accept lines holding only a key (e.g. id lists), with value "".
    Raises:
        UserError: `path:line: ...` for a blank line, a duplicate key, a missing value or invalid UTF-8.
    """
    return table_from_entries(path, read_entries(path), allow_empty_value)


def table_from_entries(path: str | os.PathLike, entries: Iterable[Entry], allow_empty_value: bool = False
                       ) -> dict[str, str]:
    """`read_table` on already read entries (errors name `path`)."""
    table: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for key, value, lineno in entries:
        if not key:
            raise UserError(f"{path}:{lineno}: empty line")
        if key in table:
            raise UserError(f"{path}:{lineno}: duplicate key {key!r} (first on line {first_line[key]})")
        if not value and not allow_empty_value:
            raise UserError(f"{path}:{lineno}: key {key!r} has no value")
        table[key] = value
        first_line[key] = lineno
    return table


def read_key_list(path: str | os.PathLike) -> list[str]:
    """Read the first field of every line (an utterance or speaker list; extra fields are ignored)."""
    return list(read_table(path, allow_empty_value=True))


def format_lines(mapping: Mapping[str, object]) -> list[str]:
    """Render `{key: value}` as C-sorted `key value` lines; list/tuple values are joined with spaces.

    Raises:
        ValueError: for an empty key or one with whitespace (it would not read back as one key).
    """
    lines = []
    for key in sorted(mapping):
        value = mapping[key]
        if isinstance(value, (list, tuple)):
            value = " ".join(str(v) for v in value)
        _check_key(key)
        lines.append(f"{key} {value}".rstrip() + "\n")
    return lines


def write_table(path: str | os.PathLike, mapping: Mapping[str, object]) -> None:
    """Write `{key: value}` atomically as a C-sorted table (list values joined by spaces).

    Raises:
        UserError: naming the file, for an empty key or a key with whitespace (ids often come from user input).
    """
    try:
        lines = format_lines(mapping)
    except ValueError as err:
        raise UserError(f"{path}: {err}") from None
    with atomic_write(path, "w") as handle:
        handle.writelines(lines)


def write_lines(path: str | os.PathLike, lines: Iterable[str]) -> None:
    """Write already formatted lines atomically (each gets a trailing newline if missing)."""
    with atomic_write(path, "w") as handle:
        for line in lines:
            handle.write(line if line.endswith("\n") else line + "\n")


def _check_key(key: str) -> None:
    if not key or any(ch.isspace() for ch in key):
        raise ValueError(f"table key {key!r} is empty or contains whitespace")
