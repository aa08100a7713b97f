"""Data-dir validation: Kaldi's utils/validate_data_dir.sh checks, plus the project's stricter ones when asked.

Kaldi's checks (`tts_codec.data.kaldi_validate`) always run: a dir Kaldi accepts passes them, a dir Kaldi rejects
fails them. `strict` adds the project's checks: no blank lines or empty text, the same key set in every utt2*/spk2*/
reco2* file, positive numbers in utt2num_samples and friends, sane segment times and, optionally, every audio spec
readable with segments inside their recording. Every error names a file and a line.
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
from tts_codec.data.kaldi_validate import kaldi_check
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
    strict: bool = True,
) -> ValidationReport:
    """Validate a data dir; raise one UserError (the first problem, plus how many more) if anything is wrong.

    Args:
        check_audio: with strict, open every wav.scp entry (pipes are run) and check segment ends against the audio.
        check_text / check_wav: require `text` / `wav.scp` (Kaldi's --no-text / --no-wav turn these off; without
            check_text a present text is not checked, as in Kaldi).
        check_spk_sort: require utt2spk sorted by speaker too (Kaldi's --no-spk-sort turns it off).
        non_print: allow control characters in text (Kaldi's --non-print).
        pipe_timeout: seconds one `cmd |` entry of wav.scp may run (an endless pipe is an error naming it).
        strict: also make the project's checks (module docstring); False checks exactly what Kaldi checks.
    Returns:
        A ValidationReport; warnings (e.g. a single speaker) are also logged.
    """
    path = Path(path)
    if not path.is_dir():
        raise UserError(f"data dir {path}: no such directory")
    kaldi = kaldi_check(path, no_text=not check_text, no_wav=not check_wav, no_spk_sort=not check_spk_sort,
                        non_print=non_print)
    _raise_first(kaldi.errors)
    warnings = list(kaldi.warnings)
    if strict:
        warnings += _project_checks(path, check_audio, check_text, pipe_timeout)
    for msg in warnings:
        log.warning("%s", msg)
    return ValidationReport(path, *kaldi.counts, warnings)


def _raise_first(errors: list[str]) -> None:
    if errors:
        for msg in errors[1:]:
            log.error("%s", msg)
        more = f" (and {len(errors) - 1} more problems, logged above)" if len(errors) > 1 else ""
        raise UserError(errors[0] + more)


def _project_checks(path: Path, check_audio: bool, check_text: bool, pipe_timeout: float) -> list[str]:
    """The checks the project makes beyond Kaldi's; returns the warnings, raises on the first error."""
    chk = _Checker(path)
    chk.load("utt2spk")
    chk.load("spk2utt")
    text = chk.load("text") if check_text else None
    wav_scp = chk.load("wav.scp")
    segments = chk.load("segments")
    extras = sorted(p.name for p in path.iterdir() if p.is_file() and key_kind(p.name))
    for name in extras:
        chk.load(name)
    if text is not None:
        _check_text(chk, text)
    parsed = _check_segments(chk, segments, wav_scp) if segments is not None else None
    if wav_scp is not None:
        _check_values(chk, "wav.scp", wav_scp)
    for name in extras:
        ref, what = EXTRA_REFERENCE[key_kind(name)]
        chk.same_keys(ref, name, what)
        if name in NUMERIC_FILES:
            _check_numbers(chk, name, NUMERIC_FILES[name])
    if check_audio and wav_scp and not chk.errors:
        _check_audio(chk, wav_scp, parsed, pipe_timeout)
    _raise_first(chk.errors)
    return chk.warnings


def speaker_prefixed(utt2spk: dict[str, str]) -> bool:
    """True when every utterance id starts with its speaker id (enough, not needed, for Kaldi's speaker-sort rule)."""
    return all(utt.startswith(spk) for utt, spk in utt2spk.items())


def validate_written(built: str | os.PathLike, final: str | os.PathLike, check_text: bool,
                     check_spk_sort: bool = True) -> None:
    """Validate a data dir a verb has just built in `built` (a temp dir) before it becomes `final`.

    Kaldi's checks only (as Kaldi's own tools validate what they write); control characters in text are allowed
    (verbs copy text, they do not make it). A problem is a UserError naming `final`'s files, saying that nothing
    was written.
    """
    try:
        validate_data_dir(built, check_audio=False, check_text=check_text, check_spk_sort=check_spk_sort,
                          non_print=True, strict=False)
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


def _check_text(chk: _Checker, text: dict[str, Entry]) -> None:
    for utt, entry in text.items():
        if not entry.value:
            chk.error("text", entry.line, f"utterance {utt!r} has empty text (Kaldi allows it; --strict does not)")


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
