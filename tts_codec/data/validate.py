"""Data-dir validation in the spirit of Kaldi's utils/validate_data_dir.sh; every error names a file and a line.

Checks: C-sorted unique keys in every table; the same utterance set in utt2spk, text, wav.scp (or segments) and every
utt2* file; utt2spk and spk2utt agree; utterance ids start with their speaker id; text is non-empty printable UTF-8;
segments are sane and their recordings exist; optionally, every audio spec is readable audio.
"""
from __future__ import annotations

import logging
import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from tts_codec.data.audio import MAX_SEGMENT_OVERSHOOT_S, PIPE_TIMEOUT_S, audio_info
from tts_codec.data.datadir import Segment, key_kind, parse_segment
from tts_codec.data.table import Entry, read_entries
from tts_codec.errors import UserError

log = logging.getLogger(__name__)
FIX_HINT = "; utils/fix_data_dir.sh can repair this"
#: files whose values must be positive numbers of this type
NUMERIC_FILES = {"utt2num_samples": int, "utt2num_frames": int, "utt2dur": float, "reco2dur": float}
#: key kind of an extra file -> (the table holding the full key set, what a key is called)
EXTRA_REFERENCE = {"utt": ("utt2spk", "utterance"), "spk": ("spk2utt", "speaker"), "rec": ("wav.scp", "recording")}


@dataclass
class ValidationReport:
    """What a successful validation found."""

    path: Path
    num_utts: int
    num_speakers: int
    num_recordings: int
    warnings: list[str] = field(default_factory=list)


class _Checker:
    """Collects problems of one data dir; `tables[name]` maps key -> first Entry of each present table."""

    def __init__(self, path: Path):
        self.path = path
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self.tables: dict[str, dict[str, Entry]] = {}

    def error(self, name: str, line: int | None, msg: str) -> None:
        self.errors.append(f"{self.path / name}:{line}: {msg}" if line else f"{self.path / name}: {msg}")

    def load(self, name: str) -> dict[str, Entry] | None:
        """Read a table, reporting blank lines, duplicate keys and C-sort violations by line."""
        if not (self.path / name).is_file():
            return None
        table: dict[str, Entry] = {}
        previous: Entry | None = None
        for entry in read_entries(self.path / name):
            if not entry.key:
                self.error(name, entry.line, "empty line")
                continue
            if entry.key in table:
                first = table[entry.key].line
                self.error(name, entry.line, f"duplicate key {entry.key!r} (first on line {first}){FIX_HINT}")
                continue
            if previous is not None and entry.key < previous.key:
                self.error(name, entry.line, f"key {entry.key!r} is not C-sorted: it comes after {previous.key!r} "
                           f"(line {previous.line}); sort with LC_ALL=C{FIX_HINT}")
            table[entry.key] = previous = entry
        self.tables[name] = table
        return table

    def require(self, name: str, hint: str = "") -> dict[str, Entry] | None:
        table = self.load(name)
        if table is None:
            self.error(name, None, "missing" + hint)
        return table

    def same_keys(self, ref_name: str, name: str, what: str) -> None:
        """Report keys of table `name` absent from table `ref_name` and the reverse, each by its line."""
        if ref_name not in self.tables or name not in self.tables:
            return
        ref, table = self.tables[ref_name], self.tables[name]
        for key, entry in table.items():
            if key not in ref:
                self.error(name, entry.line, f"{what} {key!r} is not in {ref_name}{FIX_HINT}")
        for key, entry in ref.items():
            if key not in table:
                self.error(name, None, f"{what} {key!r} ({ref_name} line {entry.line}) is missing{FIX_HINT}")


def validate_data_dir(
    path: str | os.PathLike,
    check_audio: bool = True,
    check_text: bool = True,
    check_wav: bool = True,
    check_spk_sort: bool = True,
    non_print: bool = False,
    pipe_timeout: float = PIPE_TIMEOUT_S,
) -> ValidationReport:
    """Validate a data dir; raise one UserError (the first problem, plus how many more) if anything is wrong.

    Args:
        check_audio: open every wav.scp entry (pipes are run) and check segment ends against the audio length.
        check_text / check_wav: require `text` / `wav.scp` (Kaldi's --no-text / --no-wav turn these off).
        check_spk_sort: require utterance ids to start with their speaker id (Kaldi's --no-spk-sort).
        non_print: allow control characters in text.
        pipe_timeout: seconds one `cmd |` entry of wav.scp may run (an endless pipe is an error naming it).
    Returns:
        A ValidationReport; warnings (e.g. a single speaker) are also logged.
    """
    path = Path(path)
    if not path.is_dir():
        raise UserError(f"data dir {path}: no such directory")
    chk = _Checker(path)
    utt2spk = chk.require("utt2spk") or {}
    spk2utt = chk.require("spk2utt", "; create it with utils/utt2spk_to_spk2utt.sh or utils/fix_data_dir.sh")
    text = chk.require("text") if check_text else chk.load("text")
    wav_scp = chk.require("wav.scp") if check_wav else chk.load("wav.scp")
    segments = chk.load("segments")
    extras = sorted(p.name for p in path.iterdir() if p.is_file() and key_kind(p.name))
    for name in extras:
        chk.load(name)

    if "utt2spk" in chk.tables and not utt2spk:
        chk.error("utt2spk", None, "empty: the data dir has no utterances")
    speakers = _check_speakers(chk, utt2spk, spk2utt, check_spk_sort)
    if text is not None:
        _check_text(chk, text, non_print)
        chk.same_keys("utt2spk", "text", "utterance")
    parsed = _check_segments(chk, segments, wav_scp) if segments is not None else None
    if wav_scp is not None:
        _check_values(chk, "wav.scp", wav_scp)
    chk.same_keys("utt2spk", "segments" if segments is not None else "wav.scp", "utterance")
    recs = set(wav_scp or {})
    for name in extras:
        ref, what = EXTRA_REFERENCE[key_kind(name)]
        chk.same_keys(ref, name, what)
        if name in NUMERIC_FILES:
            _check_numbers(chk, name, NUMERIC_FILES[name])
    if check_audio and wav_scp and not chk.errors:
        _check_audio(chk, wav_scp, parsed, pipe_timeout)

    num_spk = len(set(speakers.values()))
    if num_spk == 1:
        chk.warnings.append(f"{path}: only one speaker; fine for a single-speaker corpus, but check utt2spk")
    if chk.errors:
        for msg in chk.errors[1:]:
            log.error("%s", msg)
        more = f" (and {len(chk.errors) - 1} more problems, logged above)" if len(chk.errors) > 1 else ""
        raise UserError(chk.errors[0] + more)
    for msg in chk.warnings:
        log.warning("%s", msg)
    return ValidationReport(path, len(utt2spk), num_spk, len(recs), chk.warnings)


def speaker_prefixed(utt2spk: dict[str, str]) -> bool:
    """True when every utterance id starts with its speaker id (the check that `check_spk_sort` makes)."""
    return all(utt.startswith(spk) for utt, spk in utt2spk.items())


def validate_written(built: str | os.PathLike, final: str | os.PathLike, check_text: bool, check_spk_sort: bool
                     ) -> None:
    """Validate a data dir a verb has just built in `built` (a temp dir) before it becomes `final`.

    Audio is not opened and text characters are not judged (verbs copy text, they do not make it). A problem is a
    UserError naming `final`'s files, saying that nothing was written.
    """
    try:
        validate_data_dir(built, check_audio=False, check_text=check_text, check_spk_sort=check_spk_sort,
                          non_print=True)
    except UserError as err:
        msg = str(err).replace(str(Path(built)), str(final))
        raise UserError(f"refusing to write {final}, it would not validate: {msg}") from None


def _check_values(chk: _Checker, name: str, table: dict[str, Entry]) -> None:
    for key, entry in table.items():
        if not entry.value:
            chk.error(name, entry.line, f"key {key!r} has no value")


def _check_numbers(chk: _Checker, name: str, kind: type) -> None:
    for key, entry in chk.tables[name].items():
        try:
            ok = kind(entry.value) > 0
        except ValueError:
            ok = False
        if not ok:
            chk.error(name, entry.line, f"{key!r} has {entry.value!r}, not a positive {kind.__name__}")


def _check_speakers(chk: _Checker, utt2spk: dict, spk2utt: dict | None, check_spk_sort: bool) -> dict[str, str]:
    """Check utt2spk values and its agreement with spk2utt; return utt -> speaker."""
    speakers: dict[str, str] = {}
    for utt, entry in utt2spk.items():
        fields = entry.value.split()
        if len(fields) != 1:
            chk.error("utt2spk", entry.line, f"expected `utt speaker`, got {len(fields) + 1} fields")
            continue
        speakers[utt] = spk = fields[0]
        if check_spk_sort and not utt.startswith(spk):
            chk.error("utt2spk", entry.line, f"utterance id {utt!r} does not start with its speaker id {spk!r} "
                      "(Kaldi needs speaker-prefixed ids so both sort orders agree)")
    if spk2utt is None:
        return speakers
    seen: set[str] = set()
    for spk, entry in spk2utt.items():
        for utt in entry.value.split():
            if speakers.get(utt) != spk:
                chk.error("spk2utt", entry.line, f"utterance {utt!r} of speaker {spk!r} disagrees with utt2spk "
                          f"({speakers.get(utt, 'absent')}); regenerate with utils/utt2spk_to_spk2utt.sh")
            seen.add(utt)
        if not entry.value:
            chk.error("spk2utt", entry.line, f"speaker {spk!r} has no utterances")
    for utt in (u for u in speakers if u not in seen):
        chk.error("spk2utt", None, f"utterance {utt!r} (utt2spk line {utt2spk[utt].line}) is missing; "
                  "regenerate with utils/utt2spk_to_spk2utt.sh")
    return speakers


def _check_text(chk: _Checker, text: dict[str, Entry], non_print: bool) -> None:
    for utt, entry in text.items():
        if not entry.value:
            chk.error("text", entry.line, f"utterance {utt!r} has empty text")
        elif not non_print:
            bad = [ch for ch in entry.value if ch != "\t" and unicodedata.category(ch) == "Cc"]
            if bad:
                chk.error("text", entry.line, f"utterance {utt!r} has non-printable character {bad[0]!r}")


def _check_segments(chk: _Checker, segments: dict[str, Entry], wav_scp: dict | None) -> dict[str, Segment]:
    parsed: dict[str, Segment] = {}
    for utt, entry in segments.items():
        try:
            seg = parse_segment(entry.value, f"{chk.path / 'segments'}:{entry.line}")
        except UserError as err:
            chk.errors.append(str(err))
            continue
        if seg.start < 0 or (seg.end >= 0 and seg.end <= seg.start):
            chk.error("segments", entry.line, f"bad times start={seg.start} end={seg.end} for {utt!r}")
        elif wav_scp is not None and seg.rec not in wav_scp:
            chk.error("segments", entry.line, f"recording {seg.rec!r} of {utt!r} is not in wav.scp")
        parsed[utt] = seg
    used = {s.rec for s in parsed.values()}
    unused = [r for r in (wav_scp or {}) if r not in used]
    if unused:
        chk.warnings.append(f"{chk.path / 'wav.scp'}: {len(unused)} recordings have no segments, e.g. {unused[0]!r}")
    return parsed


def _check_audio(chk: _Checker, wav_scp: dict[str, Entry], segments: dict[str, Segment] | None,
                 pipe_timeout: float) -> None:
    """Open every audio spec; compare segment ends and utt2num_samples with the real lengths."""
    infos = {}
    for rec, entry in tqdm(wav_scp.items(), desc="checking audio", unit="file", disable=None):
        try:
            infos[rec] = audio_info(entry.value, pipe_timeout)
        except UserError as err:
            chk.error("wav.scp", entry.line, f"{rec!r}: {err}")
    for utt, seg in (segments or {}).items():
        info = infos.get(seg.rec)
        if info and (seg.start >= info.duration or seg.end > info.duration + MAX_SEGMENT_OVERSHOOT_S):
            line = chk.tables["segments"][utt].line
            chk.error("segments", line, f"{utt!r} [{seg.start}, {seg.end}] s lies outside recording "
                      f"{seg.rec!r} ({info.duration:.3f} s)")
    lengths = chk.tables.get("utt2num_samples", {}) if segments is None else {}
    for utt, entry in lengths.items():
        if utt in infos and entry.value != str(infos[utt].num_samples):
            chk.error("utt2num_samples", entry.line, f"{utt!r} says {entry.value!r} samples, "
                      f"the audio has {infos[utt].num_samples}")
