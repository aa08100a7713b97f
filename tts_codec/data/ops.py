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
from tts_codec.data import kaldi_subset
from tts_codec.data.audio import audio_info
from tts_codec.data.datadir import CORE_FILES, DataDir, Segment, key_kind, parse_segment, read_meta
from tts_codec.data.kaldi_split import split_per_spk, split_per_utt
from tts_codec.data.kaldi_validate import spk_sorted
from tts_codec.data.table import read_entries, read_key_list, read_table, write_lines
from tts_codec.data.validate import validate_written
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

    The result must pass Kaldi's checks (`text` if it has one; utt2spk sorted by speaker too if every source is). `dest` must not be, contain or lie inside a source.
    """
    spk_sort = all(spk_sorted(src.utt2spk) for src in sources)
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


def fix_data_dir(path: str | os.PathLike, utt_extra_files: Sequence[str] = (), spk_extra_files: Sequence[str] = ()
                 ) -> FixReport:
    """Keep the utterances present (and usable) in every table, re-derive spk2utt, rewrite sorted (Kaldi's fix).

    Originals go to a new numbered backup, `<dir>/.backup/<N>/` (earlier runs' backups are kept), with
    `removed_utts` (utt and reason) and `removed_lines` (dropped raw lines). The result is validated before the
    dir is touched; split dirs of the old contents are removed.
    Utterances are dropped when a table lacks them, their segment is malformed or names an absent recording, or
    their speaker is missing from a speaker-keyed file. An empty text line is kept (as in Kaldi), and segment
    times are kept as written.

    Args:
        utt_extra_files: more utterance-keyed files to filter whose names are not `utt2*`/`*.scp`.
        spk_extra_files: more speaker-keyed files to filter to the remaining speakers (Kaldi's --spk-extra-files).
    """
    path = Path(path)
    if not (path / "utt2spk").is_file():
        raise UserError(f"data dir {path} has no utt2spk")
    removed_lines: list[str] = []
    names = [p.name for p in sorted(path.iterdir()) if p.is_file()]
    names = [n for n in names if n in CORE_FILES or key_kind(n) or n in utt_extra_files or n in spk_extra_files]
    raw = {n: _tolerant_table(path / n, removed_lines) for n in names if n != "spk2utt"}
    kind = {n: key_kind(n) or ("spk" if n in spk_extra_files else "utt") for n in raw}

    utt2spk = {u: s for u, s in raw.pop("utt2spk").items() if len(s.split()) == 1}
    reasons: dict[str, str] = {}
    candidates = set(utt2spk)
    for name, table in raw.items():
        candidates |= set(table) if kind[name] == "utt" and name != "wav.scp" else set()

    def drop(utts: Iterable[str], why: str) -> None:
        for utt in utts:
            reasons.setdefault(utt, why)

    drop(candidates - set(utt2spk), "not in utt2spk (or a malformed utt2spk line)")
    raw_segments = raw.pop("segments", None)
    segments = _fix_segments(raw_segments, raw.get("wav.scp", {}), drop)
    utt_tables = {n: t for n, t in raw.items() if kind[n] == "utt" and n != "wav.scp"}
    if segments is not None:
        utt_tables["segments"] = segments
    else:
        utt_tables["wav.scp"] = raw.get("wav.scp", {})
    for name, table in utt_tables.items():
        drop(candidates - set(table), f"not in {name}")
    for name, table in raw.items():
        if key_kind(name) == "spk":
            drop([u for u, s in utt2spk.items() if s not in table], f"its speaker is not in {name}")
    keep = candidates - set(reasons)
    if not keep:
        raise UserError(f"fix_data_dir {path}: no utterance is in every table; nothing written (first problem: "
                        f"{min(reasons)} {reasons[min(reasons)]})")

    wav_scp = raw.pop("wav.scp", {})
    text = raw.pop("text", {})
    seg_values = {u: " ".join(raw_segments[u].split()) for u in segments} if segments is not None else {}
    full = DataDir(wav_scp, utt2spk, text, segments, extra=raw, meta=read_meta(path), segment_values=seg_values)
    fixed = full.subset(keep)
    for name in spk_extra_files:
        if name in raw:  # subset filters unknown names by utterance; these are keyed by speaker
            fixed.extra[name] = {k: v for k, v in raw[name].items() if k in set(fixed.utt2spk.values())}
    with tempfile.TemporaryDirectory() as built:  # validate the result before touching the dir
        fixed.save(built, overwrite=True)
        validate_written(built, path, check_text=bool(fixed.text), check_spk_sort=spk_sorted(fixed.utt2spk))
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


#: subset_data_dir.sh's `<src> <N> <dest>` selections (tts_codec.data.kaldi_subset), by option name
COUNT_MODES = ("first", "last", "random", "per_spk", "speakers", "shortest")
#: the files --shortest takes utterance lengths from, in order of preference (Kaldi reads utt2num_frames)
LENGTH_FILES = ("utt2num_frames", "utt2dur", "utt2num_samples")


def select_utts(
    dd: DataDir,
    utt_list: str | os.PathLike | None = None,
    spk_list: str | os.PathLike | None = None,
    first: int | None = None,
    last: int | None = None,
    **count_modes: int | None,
) -> list[str]:
    """The utterances chosen by exactly one of: an utterance-list file, a speaker-list file, or a count mode.

    Count modes (Kaldi's subset_data_dir.sh): first/last N utterances, random (an even spread of N), per_spk (N
    per speaker), speakers (whole speakers until N utterances), shortest (N shortest, from utt2num_frames, utt2dur
    or utt2num_samples).
    """
    unknown = set(count_modes) - set(COUNT_MODES)
    if unknown:
        raise TypeError(f"unknown selection {sorted(unknown)}")
    modes = {"first": first, "last": last, **count_modes}
    chosen = [x for x in (utt_list, spk_list, *modes.values()) if x is not None]
    if len(chosen) != 1:
        raise UserError("give exactly one of --utt_list, --spk_list, or a number of utterances (--first, --last, "
                        "--per-spk, --speakers, --shortest, or none for an even spread)")
    utts = dd.utt_ids
    if utt_list is None and spk_list is None:
        mode, n = next((m, v) for m, v in modes.items() if v is not None)
        flag = "N =" if mode == "random" else f"--{mode.replace('_', '-')}"
        if not 0 < n <= len(utts):
            raise UserError(f"{flag} {n}: cannot subset data dir {dd.path} ({len(utts)} utterances) to more "
                            "utterances than it has, or to none")
        return _count_selection(dd, mode, n)
    list_path = utt_list if utt_list is not None else spk_list
    wanted = set(read_key_list(list_path))
    known = set(utts) if utt_list is not None else set(dd.speakers)
    if wanted - known:
        log.warning("%s: %d of %d ids are not in %s, ignored", list_path, len(wanted - known), len(wanted), dd.path)
    selected = [u for u in utts if (u if utt_list is not None else dd.utt2spk[u]) in wanted]
    if not selected:
        raise UserError(f"{list_path}: none of its ids is in data dir {dd.path}")
    return selected


def _count_selection(dd: DataDir, mode: str, n: int) -> list[str]:
    utts = dd.utt_ids
    if mode == "first":
        return utts[:n]
    if mode == "last":
        return utts[-n:]
    if mode == "random":
        return kaldi_subset.spread(utts, n)
    if mode == "per_spk":
        return kaldi_subset.per_speaker(dd.spk2utt, n)
    if mode == "speakers":
        return kaldi_subset.whole_speakers(dd.spk2utt, n)
    name = next((f for f in LENGTH_FILES if f in dd.extra), None)
    if name is None:
        raise UserError(f"--shortest needs utterance lengths: data dir {dd.path} has none of {', '.join(LENGTH_FILES)}")
    return kaldi_subset.shortest(dd.extra[name], n)


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


def split_data(path: str | os.PathLike, n: int, per_spk: bool = True) -> list[Path]:
    """Split a data dir like Kaldi's split_data.sh: `<dir>/split<n>/<k>` per speaker, `split<n>utt/<k>` per utterance.

    Per speaker (the default, as in Kaldi) no speaker straddles two parts and the balancing is split_scp.pl's
    (`tts_codec.data.kaldi_split`); it fails when there are fewer speakers than parts. Per utterance, parts are
    contiguous chunks. A split made the same way from the same contents (a checksum of the data files, not their
    times) is reused; otherwise the split dir is built aside, each part validated, and swapped in whole.
    """
    path = Path(path)
    dd = DataDir.load(path)
    utts = dd.utt_ids
    spk2utt: dict[str, list[str]] = {}
    for utt in utts:  # speakers in order of first appearance in utt2spk, as split_scp.pl reads them
        spk2utt.setdefault(dd.utt2spk[utt], []).append(utt)
    try:
        if per_spk:
            groups = [[u for s in part for u in spk2utt[s]]
                      for part in split_per_spk(list(spk2utt), [len(v) for v in spk2utt.values()], n)]
        else:
            groups = split_per_utt(utts, n)
    except UserError as err:
        raise UserError(f"cannot split {path} into {n} parts: {err}") from None
    out = path / (f"split{n}" if per_spk else f"split{n}utt")
    stamp = f"{'per_spk' if per_spk else 'per_utt'} {len(dd)} {data_checksum(path)}\n"
    parts_dirs = [out / str(k) for k in range(1, n + 1)]
    if _split_is_current(out / SPLIT_INFO, stamp):
        log.info("%s is up to date", out)
        return parts_dirs
    try:
        with replace_dir(out, overwrite=True, what="split dir") as built:
            for k, group in enumerate(groups, start=1):
                dd.subset(group).save(built / str(k))
                validate_written(built / str(k), out / str(k), check_text=bool(dd.text))
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


def combine_data(dest: str | os.PathLike, srcs: Sequence[str | os.PathLike], overwrite: bool = False,
                 extra_files: Sequence[str] = (), skip_fix: bool = False) -> DataDir:
    """Merge several data dirs into dest (Kaldi's combine_data.sh).

    Dirs without segments get whole-file segments `utt utt 0 <duration>` when others have them (the duration
    from utt2dur, else from the audio header), as Kaldi's get_segments_for_data.sh writes. Files missing from some
    dirs are not combined (a warning); `extra_files` names more files to combine. An utterance in several dirs
    keeps, in each file, the line that sorts first (what Kaldi's fix_data_dir.sh keeps), with a warning; a
    recording or speaker id with conflicting values is an error naming both dirs. Unless skip_fix, utterances
    missing from a combined utterance table are then dropped (Kaldi runs fix_data_dir.sh); with skip_fix,
    duplicate utterances and such gaps are errors instead.
    """
    if not srcs:
        raise UserError("combine_data needs at least one source data dir")
    dirs = [DataDir.load(s) for s in srcs]
    for name in extra_files:
        for d in (d for d in dirs if (d.path / name).is_file() and name not in d.extra):
            d.extra[name] = read_table(d.path / name, allow_empty_value=True)
    use_segments = any(d.segments is not None for d in dirs)
    out = DataDir({}, {}, segments={} if use_segments else None)
    merger = _Merger(skip_fix)
    for d in dirs:
        merger.merge(out.utt2spk, "utt2spk", d.utt2spk, d.path, utt_keyed=True)
        merger.merge(out.wav_scp, "wav.scp", d.wav_scp, d.path, utt_keyed=not use_segments)
        if use_segments:
            values = d.segment_values if d.segments is not None else _whole_file_segments(d)
            merger.merge(out.segment_values, "segments", values, d.path, utt_keyed=True)
    if use_segments:
        out.segments = {u: parse_segment(v, "segments") for u, v in out.segment_values.items()}
    if any(d.text for d in dirs):
        lacking = next((d.path for d in dirs if not d.text), None)
        if lacking is not None:
            raise UserError(f"data dir {lacking} has no text but other sources do; the combined dir would lack "
                            "text for some utterances (add it, or combine only dirs without text)")
        for d in dirs:
            merger.merge(out.text, "text", d.text, d.path, utt_keyed=True)
    for name in sorted({n for d in dirs for n in d.extra}):
        if all(name in d.extra for d in dirs):
            out.extra[name] = {}
            for d in dirs:
                merger.merge(out.extra[name], name, d.extra[name], d.path, utt_keyed=key_kind(name) in ("utt", None))
        else:
            log.warning("%s is missing from some source dirs; not combined", name)
    for name in sorted({n for d in dirs for n in d.meta}):
        values = {d.meta.get(name) for d in dirs}
        if len(values) == 1:
            out.meta[name] = values.pop()
        else:
            log.warning("%s differs between source dirs; not combined", name)
    if not skip_fix:
        out = _keep_complete_utts(out)
    save_new_data_dir(out, dest, dirs, overwrite)
    return out


class _Merger:
    """Merges tables of several dirs, remembering which dir gave each key (for messages)."""

    def __init__(self, strict_duplicates: bool):
        self.strict_duplicates = strict_duplicates
        self.owner: dict[tuple[str, str], Path] = {}

    def merge(self, table: dict, name: str, items: Mapping[str, str], src: Path, utt_keyed: bool) -> None:
        for key, value in items.items():
            prev = self.owner.get((name, key))
            if prev is not None and not utt_keyed:
                if table[key] != value:
                    raise UserError(f"{name}: {key!r} has different values in {prev} and {src}")
                continue
            if prev is not None:
                if self.strict_duplicates:
                    raise UserError(f"{name}: {key!r} is in both {prev} and {src} (with --skip-fix true, "
                                    "duplicates are not resolved)")
                log.warning("%s: %r is in both %s and %s; keeping the line that sorts first, as Kaldi's "
                            "fix_data_dir.sh does", name, key, prev, src)
                if f"{key} {value}".encode() >= f"{key} {table[key]}".encode():
                    continue
            self.owner[(name, key)] = src
            table[key] = value


def _whole_file_segments(dd: DataDir) -> dict[str, str]:
    """`rec start end` values covering each whole file of a dir without segments (utt2dur, else the audio)."""
    durations = dd.extra.get("utt2dur", {})
    values = {}
    for utt in dd.utt_ids:
        if utt in durations:
            duration = durations[utt]
        elif utt in dd.wav_scp:
            duration = f"{audio_info(dd.wav_scp[utt]).duration:.6g}"
        else:
            raise UserError(f"data dir {dd.path}: utterance {utt!r} is in neither wav.scp nor utt2dur; its whole-file "
                            "segment needs a duration")
        values[utt] = f"{utt} 0 {duration}"
    return values


def _keep_complete_utts(dd: DataDir) -> DataDir:
    """Drop utterances missing from a combined utterance table (the part of fix_data_dir.sh combine needs)."""
    tables = [dd.text, dd.segments if dd.segments is not None else dd.wav_scp]
    tables += [t for n, t in dd.extra.items() if key_kind(n) == "utt"]
    keep = set(dd.utt2spk).intersection(*[set(t) for t in tables if t])
    if len(keep) < len(dd.utt2spk):
        log.warning("combine_data: %d utterances are missing from some combined table; dropped (as Kaldi's "
                    "fix_data_dir.sh does)", len(dd.utt2spk) - len(keep))
    return dd.subset(keep)  # also drops recordings no segment uses


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

    Renamed ids must keep utt2spk sorted by speaker as well (Kaldi's rule) when the source was; ids with whitespace
    are refused.
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
        segment_values={u(k): v for k, v in dd.segment_values.items()},
    )
    if spk_sorted(dd.utt2spk) and not spk_sorted(out.utt2spk):
        raise UserError(f"--spk_prefix {spk_prefix!r} / --spk_suffix {spk_suffix!r} would leave utt2spk not sorted by "
                        f"speaker (Kaldi's rule); also pass --utt_prefix {spk_prefix!r} (or a matching --utt_suffix)")
    save_new_data_dir(out, dest, [dd], overwrite)
    return out
