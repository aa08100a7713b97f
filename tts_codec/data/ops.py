"""Operations on whole data dirs, the Python side of Kaldi's utils/*.sh: fix, subset, split, combine, copy, filter.

Every operation writes through `DataDir.save`, so outputs are C-sorted. A new data dir (subset, copy, combine,
split) is built aside and validated, then swapped in whole (`atomic.replace_dir`): it never clobbers a non-empty
directory unless asked, never overwrites one of its sources, and never leaves files of an older version behind.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Iterable, Iterator, Mapping, NamedTuple, Sequence

from tts_codec.atomic import replace_dir
from tts_codec.data.datadir import CORE_FILES, DataDir, Segment, key_kind, parse_segment, read_meta
from tts_codec.data.table import read_entries, read_key_list, write_lines
from tts_codec.data.validate import speaker_prefixed, validate_written
from tts_codec.errors import UserError

log = logging.getLogger(__name__)


def utt2spk_to_spk2utt(utt2spk: Mapping[str, str]) -> dict[str, list[str]]:
    """Invert utt2spk; speakers and their utterances keep the order of first appearance (Kaldi's perl script)."""
    spk2utt: dict[str, list[str]] = {}
    for utt, spk in utt2spk.items():
        spk2utt.setdefault(spk, []).append(utt)
    return spk2utt


def spk2utt_to_utt2spk(spk2utt: Mapping[str, str | Sequence[str]]) -> dict[str, str]:
    """Expand spk2utt (values: a list or a space-separated string of utterance ids) into utt2spk."""
    utt2spk: dict[str, str] = {}
    for spk, utts in spk2utt.items():
        for utt in utts.split() if isinstance(utts, str) else utts:
            if utt in utt2spk:
                raise UserError(f"utterance {utt!r} is listed under both {utt2spk[utt]!r} and {spk!r}")
            utt2spk[utt] = spk
    return utt2spk


def save_new_data_dir(dd: DataDir, dest: str | os.PathLike, sources: Sequence[DataDir], overwrite: bool) -> None:
    """Write `dd` as the data dir `dest` (built aside, validated, swapped in); see the module docstring.

    The result must pass the checks its sources pass: `text` if it has one, speaker-prefixed ids if every source
    has them. `dest` must not be, contain or lie inside a source.
    """
    spk_sort = all(speaker_prefixed(src.utt2spk) for src in sources)
    with replace_dir(dest, [src.path for src in sources if src.path], overwrite, "data dir") as built:
        dd.save(built, overwrite=True)
        validate_written(built, dest, check_text=bool(dd.text), check_spk_sort=spk_sort)


def filter_lines(lines: Iterable[str], keys: Iterable[str], exclude: bool = False, field: int = 1) -> Iterator[str]:
    """Keep (or with exclude, drop) lines whose `field`-th whitespace field (1-based) is in `keys`; order is kept."""
    keys = set(keys)
    for line in lines:
        fields = line.split()
        if len(fields) < field:
            continue
        if (fields[field - 1] in keys) != exclude:
            yield line


class FixReport(NamedTuple):
    """Result of `fix_data_dir`: how many utterances stayed, and why each other one was removed."""

    num_kept: int
    removed: dict[str, str]
    backup: Path | None = None


def _tolerant_table(path: Path, removed_lines: list[str]) -> dict[str, str]:
    """Read a table keeping the first of duplicate keys; blank, duplicate and value-less lines are logged as removed."""
    table: dict[str, str] = {}
    for key, value, lineno in read_entries(path):
        if key and key not in table and (value or path.name == "text"):
            table[key] = value
        else:
            removed_lines.append(f"{path.name}:{lineno}: {key} {value}".rstrip())
    return table


def fix_data_dir(path: str | os.PathLike, utt_extra_files: Sequence[str] = ()) -> FixReport:
    """Keep the utterances present (and usable) in every table, re-derive spk2utt, rewrite sorted (Kaldi's fix).

    Originals go to a new numbered backup, `<dir>/.backup/<N>/` (earlier runs' backups are kept), with
    `removed_utts` (utt and reason) and `removed_lines` (dropped raw lines). The result is validated before the
    dir is touched; split dirs of the old contents are removed.
    Utterances are dropped when a table lacks them, their text is empty, their segment is malformed or names an
    absent recording, or their speaker is missing from a speaker-keyed file.

    Args:
        utt_extra_files: more utterance-keyed files to filter whose names are not `utt2*`/`*.scp`.
    """
    path = Path(path)
    if not (path / "utt2spk").is_file():
        raise UserError(f"data dir {path} has no utt2spk")
    removed_lines: list[str] = []
    names = [p.name for p in sorted(path.iterdir()) if p.is_file()]
    names = [n for n in names if n in CORE_FILES or key_kind(n) or n in utt_extra_files]
    raw = {n: _tolerant_table(path / n, removed_lines) for n in names if n != "spk2utt"}

    utt2spk = {u: s for u, s in raw.pop("utt2spk").items() if len(s.split()) == 1}
    reasons: dict[str, str] = {}
    candidates = set(utt2spk)
    for name, table in raw.items():
        candidates |= set(table) if (key_kind(name) or "utt") == "utt" and name != "wav.scp" else set()

    def drop(utts: Iterable[str], why: str) -> None:
        for utt in utts:
            reasons.setdefault(utt, why)

    drop(candidates - set(utt2spk), "not in utt2spk (or a malformed utt2spk line)")
    segments = _fix_segments(raw.pop("segments", None), raw.get("wav.scp", {}), drop)
    utt_tables = {n: t for n, t in raw.items() if (key_kind(n) or "utt") == "utt" and n != "wav.scp"}
    if segments is not None:
        utt_tables["segments"] = segments
    else:
        utt_tables["wav.scp"] = raw.get("wav.scp", {})
    for name, table in utt_tables.items():
        drop(candidates - set(table), f"not in {name}")
    drop([u for u, t in raw.get("text", {}).items() if not t], "empty text")
    for name, table in raw.items():
        if key_kind(name) == "spk":
            drop([u for u, s in utt2spk.items() if s not in table], f"its speaker is not in {name}")
    keep = candidates - set(reasons)
    if not keep:
        raise UserError(f"fix_data_dir {path}: no utterance is in every table; nothing written (first problem: "
                        f"{min(reasons)} {reasons[min(reasons)]})")

    wav_scp = raw.pop("wav.scp", {})
    text = raw.pop("text", {})
    full = DataDir(wav_scp, utt2spk, text, segments, extra=raw, meta=read_meta(path))
    fixed = full.subset(keep)
    with tempfile.TemporaryDirectory() as built:  # validate the result before touching the dir
        fixed.save(built, overwrite=True)
        validate_written(built, path, check_text=bool(fixed.text), check_spk_sort=speaker_prefixed(fixed.utt2spk))
    backup = _backup(path, names, reasons, removed_lines)
    fixed.save(path, overwrite=True)
    log.info("fix_data_dir %s: kept %d utterances, removed %d; originals and the removed list are in %s", path,
             len(keep), len(reasons), backup)
    return FixReport(len(keep), reasons, backup)


def _fix_segments(table: dict[str, str] | None, wav_scp: Mapping[str, str], drop) -> dict[str, Segment] | None:
    """Parse segments leniently: malformed lines or absent recordings drop their utterance."""
    if table is None:
        return None
    segments = {}
    for utt, value in table.items():
        try:
            seg = parse_segment(value, "segments")
        except UserError as err:
            drop([utt], str(err))
            continue
        if seg.rec not in wav_scp:
            drop([utt], f"recording {seg.rec} not in wav.scp")
        elif seg.start < 0 or (0 <= seg.end <= seg.start):
            drop([utt], f"bad segment times {seg.start} {seg.end}")
        else:
            segments[utt] = seg
    return segments


def _backup(path: Path, names: Sequence[str], reasons: Mapping[str, str], removed_lines: Sequence[str]) -> Path:
    """Copy the originals into the next free `.backup/<N>/` (1, 2, ...: a rerun never overwrites a backup)."""
    root = path / ".backup"
    root.mkdir(exist_ok=True)
    taken = [int(p.name) for p in root.iterdir() if p.is_dir() and p.name.isdigit()]
    number = max(taken, default=0) + 1
    while True:
        backup = root / str(number)
        try:
            backup.mkdir()
            break
        except FileExistsError:  # a concurrent fix took it
            number += 1
    for name in names:
        shutil.copy2(path / name, backup / name)
    write_lines(backup / "removed_utts", [f"{u} {reasons[u]}" for u in sorted(reasons)])
    write_lines(backup / "removed_lines", removed_lines)
    return backup


def select_utts(
    dd: DataDir,
    utt_list: str | os.PathLike | None = None,
    spk_list: str | os.PathLike | None = None,
    first: int | None = None,
    last: int | None = None,
) -> list[str]:
    """The utterances chosen by exactly one of: an utterance-list file, a speaker-list file, the first/last N."""
    chosen = [x for x in (utt_list, spk_list, first, last) if x is not None]
    if len(chosen) != 1:
        raise UserError("give exactly one of --utt_list, --spk_list, --first, --last")
    utts = dd.utt_ids
    if first is not None or last is not None:
        n, flag = (first, "--first") if first is not None else (last, "--last")
        if not 0 < n <= len(utts):
            raise UserError(f"{flag} {n}: data dir {dd.path} has {len(utts)} utterances")
        return utts[:n] if first is not None else utts[-n:]
    list_path = utt_list if utt_list is not None else spk_list
    wanted = set(read_key_list(list_path))
    known = set(utts) if utt_list is not None else set(dd.speakers)
    if wanted - known:
        log.warning("%s: %d of %d ids are not in %s, ignored", list_path, len(wanted - known), len(wanted), dd.path)
    selected = [u for u in utts if (u if utt_list is not None else dd.utt2spk[u]) in wanted]
    if not selected:
        raise UserError(f"{list_path}: none of its ids is in data dir {dd.path}")
    return selected


def subset_data_dir(src: str | os.PathLike, dest: str | os.PathLike, overwrite: bool = False, **select) -> DataDir:
    """Copy the utterances chosen by `select_utts(**select)` from src into a new data dir dest."""
    dd = DataDir.load(src)
    sub = dd.subset(select_utts(dd, **select))
    save_new_data_dir(sub, dest, [dd], overwrite)
    return sub


def partition(units: Sequence[str], sizes: Sequence[int], n: int) -> list[list[str]]:
    """Cut `units` (with utterance counts `sizes`) into n contiguous non-empty groups of balanced total size."""
    if len(units) < n:
        raise ValueError(f"cannot cut {len(units)} units into {n} parts")
    parts: list[list[str]] = [[]]
    remaining, size = sum(sizes), 0
    for idx, (unit, count) in enumerate(zip(units, sizes)):
        parts[-1].append(unit)
        size += count
        parts_left, units_left = n - len(parts) + 1, len(units) - idx - 1
        if parts_left > 1 and (size >= remaining / parts_left or units_left == parts_left - 1):
            remaining -= size
            parts.append([])
            size = 0
    return parts


def split_data(path: str | os.PathLike, n: int, per_spk: bool = False) -> list[Path]:
    """Split a data dir into `<dir>/split<n>/<k>`, k = 1..n, each a valid data dir (Kaldi's split_data.sh).

    Utterances (or with per_spk, whole speakers) are cut into contiguous, balanced groups. A split made the same way
    from the same contents (a checksum of the data files, not their times) is reused; otherwise the split dir is
    built aside, each part validated, and swapped in whole.
    """
    path = Path(path)
    dd = DataDir.load(path)
    mode = "per_spk" if per_spk else "per_utt"
    units = dd.speakers if per_spk else dd.utt_ids
    if n < 1 or len(units) < n:
        what = "speakers" if per_spk else "utterances"
        raise UserError(f"cannot split {path} into {n} parts: it has {len(units)} {what}")
    out = path / f"split{n}"
    stamp = f"{mode} {len(dd)} {data_checksum(path)}\n"
    parts_dirs = [out / str(k) for k in range(1, n + 1)]
    if _split_is_current(out / SPLIT_INFO, stamp):
        log.info("%s is up to date", out)
        return parts_dirs
    spk2utt = dd.spk2utt
    sizes = [len(spk2utt[s]) for s in units] if per_spk else [1] * len(units)
    spk_sort = speaker_prefixed(dd.utt2spk)
    try:
        with replace_dir(out, overwrite=True, what="split dir") as built:
            for k, group in enumerate(partition(units, sizes, n), start=1):
                part = dd.subset([u for s in group for u in spk2utt[s]] if per_spk else group)
                part.save(built / str(k))
                validate_written(built / str(k), out / str(k), check_text=bool(dd.text), check_spk_sort=spk_sort)
            (built / SPLIT_INFO).write_text(stamp, encoding="utf-8")
    except OSError:  # another job made the same split at the same moment
        if not _split_is_current(out / SPLIT_INFO, stamp):
            raise
    return parts_dirs


SPLIT_INFO = ".split_info"


def data_checksum(path: Path) -> str:
    """SHA-256 over the names and bytes of a data dir's table and meta files (what a split is made from)."""
    digest = hashlib.sha256()
    names = sorted(p.name for p in path.iterdir() if p.is_file() and (p.name in CORE_FILES or key_kind(p.name)))
    for name in names:
        digest.update(f"{name}\0".encode())
        digest.update(hashlib.sha256((path / name).read_bytes()).digest())
    return digest.hexdigest()


def _split_is_current(info: Path, stamp: str) -> bool:
    return info.is_file() and info.read_text(encoding="utf-8") == stamp


def combine_data(dest: str | os.PathLike, srcs: Sequence[str | os.PathLike], overwrite: bool = False) -> DataDir:
    """Merge several data dirs into dest (Kaldi's combine_data.sh).

    A duplicate utterance id, or a recording/speaker id with conflicting values, is an error naming both dirs.
    Dirs without segments get whole-file segments (`utt utt 0 -1`) when others have them. Extra files missing
    from some dirs are dropped with a warning.
    """
    if not srcs:
        raise UserError("combine_data needs at least one source data dir")
    dirs = [DataDir.load(s) for s in srcs]
    use_segments = any(d.segments is not None for d in dirs)
    out = DataDir({}, {}, segments={} if use_segments else None)
    owner: dict[tuple[str, str], tuple[str, Path]] = {}  # (table, key) -> (value, dir)

    def merge(table: dict, name: str, items: Mapping, src: Path, unique: bool) -> None:
        for key, value in items.items():
            prev = owner.get((name, key))
            if prev and (unique or prev[0] != value):
                what = "is in both" if unique else "has different values in"
                raise UserError(f"{name}: {key!r} {what} {prev[1]} and {src}")
            owner[(name, key)] = (value, src)
            table[key] = value

    for d in dirs:
        merge(out.utt2spk, "utt2spk", d.utt2spk, d.path, unique=True)
        merge(out.wav_scp, "wav.scp", d.wav_scp, d.path, unique=not use_segments)
        if use_segments:
            segs = d.segments if d.segments is not None else {u: Segment(u, 0.0, -1.0) for u in d.utt2spk}
            out.segments.update(segs)
    if any(d.text for d in dirs):
        lacking = next((d.path for d in dirs if not d.text), None)
        if lacking is not None:
            raise UserError(f"data dir {lacking} has no text but other sources do; the combined dir would lack "
                            "text for some utterances (add it, or combine only dirs without text)")
        for d in dirs:
            merge(out.text, "text", d.text, d.path, unique=True)
    for name in sorted({n for d in dirs for n in d.extra}):
        if all(name in d.extra for d in dirs):
            out.extra[name] = {}
            for d in dirs:
                merge(out.extra[name], name, d.extra[name], d.path, unique=key_kind(name) == "utt")
        else:
            log.warning("%s is missing from some source dirs; not combined", name)
    for name in sorted({n for d in dirs for n in d.meta}):
        values = {d.meta.get(name) for d in dirs}
        if len(values) == 1:
            out.meta[name] = values.pop()
        else:
            log.warning("%s differs between source dirs; not combined", name)
    save_new_data_dir(out, dest, dirs, overwrite)
    return out


def copy_data_dir(
    src: str | os.PathLike,
    dest: str | os.PathLike,
    utt_prefix: str = "",
    utt_suffix: str = "",
    spk_prefix: str = "",
    spk_suffix: str = "",
    overwrite: bool = False,
) -> DataDir:
    """Copy a data dir, optionally renaming utterance and speaker ids (Kaldi's copy_data_dir.sh).

    A speaker prefix (suffix) that would leave utterance ids not starting with their speaker id needs the same
    utterance prefix (suffix); ids with whitespace are refused.
    """
    affixes = {"--utt_prefix": utt_prefix, "--utt_suffix": utt_suffix, "--spk_prefix": spk_prefix,
               "--spk_suffix": spk_suffix}
    for flag, value in affixes.items():
        if re.search(r"\s", value):
            raise UserError(f"{flag} {value!r} contains whitespace; ids cannot")
    dd = DataDir.load(src)
    u = lambda utt: f"{utt_prefix}{utt}{utt_suffix}"  # noqa: E731
    s = lambda spk: f"{spk_prefix}{spk}{spk_suffix}"  # noqa: E731
    rename = {"utt": u, "spk": s, "rec": (u if dd.segments is None else str)}
    out = DataDir(
        wav_scp={rename["rec"](r): v for r, v in dd.wav_scp.items()},
        utt2spk={u(k): s(v) for k, v in dd.utt2spk.items()},
        text={u(k): v for k, v in dd.text.items()},
        segments=None if dd.segments is None else {u(k): v for k, v in dd.segments.items()},
        extra={n: {rename[key_kind(n)](k): v for k, v in t.items()} for n, t in dd.extra.items()},
        meta=dict(dd.meta),
    )
    if speaker_prefixed(dd.utt2spk) and not speaker_prefixed(out.utt2spk):
        raise UserError(f"--spk_prefix {spk_prefix!r} / --spk_suffix {spk_suffix!r} would make utterance ids that do "
                        f"not start with their speaker id; also pass --utt_prefix {spk_prefix!r} (or --utt_suffix)")
    save_new_data_dir(out, dest, [dd], overwrite)
    return out
