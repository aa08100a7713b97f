"""The checks of Kaldi's utils/validate_data_dir.sh (and validate_text.pl), made on the bytes of each file.

Kaldi is the reference: a data dir passes these checks exactly when Kaldi's script accepts it (feats.scp is never
required here, and with --no-spk-sort spk2utt only has to agree with utt2spk speaker by speaker; see
utils/README.md). Every problem names the file and, where there is one, the line.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

#: the tables Kaldi's script reads, each checked for a final newline, C-sorted unique keys and no CR
KALDI_TABLES = ("utt2spk", "spk2utt", "text", "wav.scp", "segments", "reco2file_and_channel", "feats.scp",
                "cmvn.scp", "spk2gender", "spk2warp", "utt2warp", "vad.scp", "utt2lang", "utt2uniq", "utt2dur",
                "utt2num_frames", "reco2dur")
ILLEGAL_TEXT_SYMBOLS = ("<s>", "</s>", "#0")
#: Perl's \s on Unicode strings, minus TAB, LF and SPACE (validate_text.pl rejects the rest; CR has its own message)
DISALLOWED_SPACES = set("\x0b\x0c\x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | {chr(c) for c in
                                                                                    range(0x2000, 0x200B)}
_BLANKS = re.compile(rb"[ \t]+")


@dataclass
class Table:
    """One file as Kaldi's awk sees it: its raw lines (without "\\n") and each line's blank-separated fields."""

    name: str
    lines: list[bytes]
    fields: list[list[bytes]] = field(default_factory=list)

    def keys(self) -> list[bytes]:
        return [f[0] if f else b"" for f in self.fields]


class KaldiChecker:
    """Collects the problems Kaldi's validate_data_dir.sh would report for one data dir."""

    def __init__(self, path: Path):
        self.path = path
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self.counts = (0, 0, 0)  # utterances, speakers, recordings

    def error(self, name: str, line: int | None, msg: str) -> None:
        self.errors.append(f"{self.path / name}:{line}: {msg}" if line else f"{self.path / name}: {msg}")

    def read(self, name: str) -> Table | None:
        """Read a table if present; report a missing final newline, CR line ends and unsorted or repeated keys."""
        file = self.path / name
        if not file.is_file():
            return None
        raw = file.read_bytes()
        lines = raw.split(b"\n")
        if lines[-1] == b"":
            lines.pop()
        elif raw:
            self.error(name, len(lines), "the last line has no newline (Kaldi requires every line to end with one)")
        table = Table(name, lines, [[f for f in _BLANKS.split(line.strip(b" \t")) if f] for line in lines])
        cr = next((i for i, line in enumerate(lines, 1) if b"\r" in line), None)
        if cr is not None:
            self.error(name, cr, "carriage return (CRLF line ending?); Kaldi files end lines with LF only "
                       "(convert with dos2unix)")
        keys = table.keys()
        for i in range(1, len(keys)):
            if keys[i] == keys[i - 1]:
                self.error(name, i + 1, f"duplicate key {_show(keys[i])} (also on line {i}); keys must be unique "
                           "(utils/fix_data_dir.sh)")
                break
            if keys[i] < keys[i - 1]:
                self.error(name, i + 1, f"key {_show(keys[i])} is not C-sorted: it comes after {_show(keys[i - 1])} "
                           f"(line {i}); sort with LC_ALL=C (utils/fix_data_dir.sh)")
                break
        return table

    def same_keys(self, table: Table, ref: list[bytes], ref_name: str, what: str) -> None:
        """Report the first key where `table`'s key list differs from `ref` (Kaldi compares them with cmp)."""
        keys, known, present = table.keys(), set(ref), set(table.keys())
        extra = next((i for i, k in enumerate(keys, 1) if k not in known), None)
        if extra is not None:
            self.error(table.name, extra, f"{what} {_show(keys[extra - 1])} is not in {ref_name}")
            return
        missing = next((i for i, k in enumerate(ref, 1) if k not in present), None)
        if missing is not None:
            self.error(table.name, None, f"{what} {_show(ref[missing - 1])} ({ref_name} line {missing}) is missing")


def kaldi_check(path: Path, no_text: bool = False, no_wav: bool = False, no_spk_sort: bool = False,
                non_print: bool = False) -> KaldiChecker:
    """Run Kaldi's validate_data_dir.sh checks on `path`; the returned checker holds the errors and warnings."""
    chk = KaldiChecker(path)
    tables = {name: None if name == "text" and no_text else chk.read(name) for name in KALDI_TABLES}
    utt2spk, spk2utt = tables["utt2spk"], tables["spk2utt"]
    for name, table in (("utt2spk", utt2spk), ("spk2utt", spk2utt)):
        if table is None or not table.lines:
            hint = "; create it with utils/utt2spk_to_spk2utt.sh or utils/fix_data_dir.sh" if name == "spk2utt" else ""
            chk.error(name, None, "missing" + hint if table is None else
                      "empty: the data dir has no utterances" if name == "utt2spk" else "empty")
    if utt2spk is None or spk2utt is None or chk.errors:
        return chk
    bad = next((i for i, f in enumerate(utt2spk.fields, 1) if len(f) != 2), None)
    if bad is not None:
        chk.error("utt2spk", bad, f"expected `utterance speaker`, got {len(utt2spk.fields[bad - 1])} fields")
        return chk
    if len(spk2utt.lines) == 1:
        chk.warnings.append(f"{path}: only one speaker (Kaldi warns: probably a bad idea)")
    if not no_spk_sort:
        _check_spk_sort(chk, utt2spk)
    _check_spk2utt(chk, utt2spk, spk2utt, exact=not no_spk_sort)
    utts = utt2spk.keys()
    speakers = spk2utt.keys()
    text = tables["text"]
    if text is None and not no_text:
        chk.error("text", None, "missing (pass --no-text if this is by design)")
    elif text is not None and not no_text:
        _check_text(chk, text, non_print)
        chk.same_keys(text, utts, "utt2spk", "utterance")
    recordings = _check_audio_tables(chk, tables, utts, no_wav)
    for name in ("feats.scp", "vad.scp", "utt2lang", "utt2uniq"):
        if tables[name] is not None:
            chk.same_keys(tables[name], utts, "utt2spk", "utterance")
    if tables["cmvn.scp"] is not None:
        chk.same_keys(tables["cmvn.scp"], speakers, "spk2utt", "speaker")
    _check_values(chk, tables["spk2gender"], speakers, "spk2utt", "speaker", lambda v: v in (b"m", b"f"),
                  "`speaker m|f`")
    in_range = lambda v: 0.5 < _number(v) < 1.5  # noqa: E731
    _check_values(chk, tables["spk2warp"], speakers, "spk2utt", "speaker", in_range, "a warp factor in (0.5, 1.5)")
    _check_values(chk, tables["utt2warp"], utts, "utt2spk", "utterance", in_range, "a warp factor in (0.5, 1.5)")
    _check_values(chk, tables["utt2dur"], utts, "utt2spk", "utterance", lambda v: _number(v) > 0,
                  "a positive duration")
    _check_values(chk, tables["utt2num_frames"], utts, "utt2spk", "utterance",
                  lambda v: _number(v) > 0 and _number(v) == int(_number(v)), "a positive whole number of frames")
    ref, ref_name = (recordings, "segments") if recordings is not None else (utts, "wav.scp")
    _check_values(chk, tables["reco2dur"], ref, ref_name, "recording", lambda v: _number(v) > 0,
                  "a positive duration")
    num_recordings = len(tables["wav.scp"].lines) if tables["wav.scp"] is not None else 0
    chk.counts = (len(utts), len(speakers), num_recordings)
    return chk


def _check_spk_sort(chk: KaldiChecker, utt2spk: Table) -> None:
    """`sort -k2 -C utt2spk`: the lines must also be in order of the text after the utterance id."""
    def sort_key(line: bytes) -> tuple[bytes, bytes]:
        rest = line.lstrip(b" \t")
        start = len(line) - len(rest) + len(_BLANKS.split(rest, 1)[0])
        return line[start:], line

    keys = [sort_key(line) for line in utt2spk.lines]
    bad = next((i for i in range(1, len(keys)) if keys[i] < keys[i - 1]), None)
    if bad is not None:
        chk.error("utt2spk", bad + 1, f"utterance {_show(utt2spk.keys()[bad])} of speaker "
                  f"{_show(utt2spk.fields[bad][1])} comes after speaker {_show(utt2spk.fields[bad - 1][1])} "
                  f"(line {bad}): utt2spk must also be sorted by speaker (make speaker ids prefixes of utterance "
                  "ids, or pass --no-spk-sort)")


def _check_spk2utt(chk: KaldiChecker, utt2spk: Table, spk2utt: Table, exact: bool) -> None:
    """spk2utt expanded line by line must give utt2spk (Kaldi: cmp with spk2utt_to_utt2spk.pl's output).

    With exact=False (--no-spk-sort) only each speaker's utterances must match utt2spk's, in utt2spk's order.
    """
    expanded: list[tuple[bytes, bytes, int]] = []
    for lineno, fields in enumerate(spk2utt.fields, 1):
        if len(fields) < 2:
            chk.error("spk2utt", lineno, f"speaker {_show(fields[0] if fields else b'')} has no utterances")
            return
        expanded += [(utt, fields[0], lineno) for utt in fields[1:]]
    wanted = [(f[0], f[1]) for f in utt2spk.fields]
    if not exact:
        by_spk: dict[bytes, list[bytes]] = {}
        for utt, spk in wanted:
            by_spk.setdefault(spk, []).append(utt)
        for lineno, fields in enumerate(spk2utt.fields, 1):
            if fields[1:] != by_spk.pop(fields[0], []):
                chk.error("spk2utt", lineno, f"the utterances of speaker {_show(fields[0])} differ from utt2spk's "
                          "(or are not in its order); regenerate with utils/utt2spk_to_spk2utt.sh")
                return
        if by_spk:
            chk.error("spk2utt", None, f"speaker {_show(next(iter(by_spk)))} of utt2spk is missing")
        return
    for i, (utt, spk, lineno) in enumerate(expanded):
        if i >= len(wanted) or (utt, spk) != wanted[i]:
            where = f"utt2spk line {i + 1} is {_show(b' '.join(wanted[i]))}" if i < len(wanted) else \
                "utt2spk has no more lines"
            chk.error("spk2utt", lineno, f"utterance {_show(utt)} of speaker {_show(spk)} is out of place "
                      f"({where}); spk2utt must list utt2spk's utterances in order, once each "
                      "(regenerate with utils/utt2spk_to_spk2utt.sh)")
            return
    if len(expanded) < len(wanted):
        chk.error("spk2utt", None, f"utterance {_show(wanted[len(expanded)][0])} (utt2spk line "
                  f"{len(expanded) + 1}) is missing")


def _check_text(chk: KaldiChecker, text: Table, non_print: bool) -> None:
    """Kaldi's text checks: printable characters, validate_text.pl's whitespace rules, no <s> </s> #0."""
    if not text.lines:
        chk.error("text", None, "empty")
        return
    decoded = [line.decode("utf-8", "surrogateescape") for line in text.lines]
    if not non_print:
        for lineno, line in enumerate(decoded, 1):
            bad = next((c for c in line if c not in "\t\v\f\r" and unicodedata.category(c) == "Cc"), None)
            if bad is not None:
                chk.error("text", lineno, f"utterance {_show(text.keys()[lineno - 1])} has non-printable character "
                          f"{bad!r} (pass --non-print to allow it)")
                return
    try:
        lines = [line.decode("utf-8") for line in text.lines]
    except UnicodeDecodeError:
        lines = []  # not UTF-8: Kaldi takes it for a one-byte encoding and skips the whitespace checks
    for lineno, line in enumerate(lines, 1):
        space = next((c for c in line if c in DISALLOWED_SPACES), None)
        if space is not None:
            chk.error("text", lineno, f"Unicode whitespace U+{ord(space):04X} ({unicodedata.name(space, '?')}); "
                      "Kaldi allows only space and tab between words")
            return
    for lineno, line in enumerate(decoded, 1):
        for symbol in ILLEGAL_TEXT_SYMBOLS:
            if re.search(rf"(?<![A-Za-z0-9_]){re.escape(symbol)}(?![A-Za-z0-9_])", line):
                chk.error("text", lineno, f"illegal symbol {symbol} (Kaldi reserves <s>, </s> and #0)")
                return


def _check_audio_tables(chk: KaldiChecker, tables: dict[str, Table | None], utts: list[bytes], no_wav: bool
                        ) -> list[bytes] | None:
    """wav.scp, segments and reco2file_and_channel; returns the recording ids named by segments (None without)."""
    wav, segments, r2fc = tables["wav.scp"], tables["segments"], tables["reco2file_and_channel"]
    if segments is not None and wav is None:
        chk.error("segments", None, "exists but wav.scp does not")
        return None
    if wav is None:
        if not no_wav:
            chk.error("wav.scp", None, "missing (pass --no-wav if this is by design)")
        return None
    tilde = next((i for i, line in enumerate(wav.lines, 1) if re.match(rb"\S+\s+~", line)), None)
    if tilde is not None:
        chk.error("wav.scp", tilde, "a path starting with ~ (the tilde is not expanded when the file is opened)")
    if segments is None:
        chk.same_keys(wav, utts, "utt2spk", "utterance")
        if r2fc is not None:
            _check_r2fc(chk, r2fc, utts)
        return None
    recs = set(wav.keys())
    for lineno, fields in enumerate(segments.fields, 1):
        if len(fields) != 4 or not _awk_less(fields[2], fields[3]):
            chk.error("segments", lineno, "bad line: expected `utt rec start end` with end > start "
                      "(an end of -1 is not allowed)")
            break
        if fields[1] not in recs:
            chk.error("segments", lineno, f"recording {_show(fields[1])} of {_show(fields[0])} is not in wav.scp")
            break
    if (chk.path / "text").is_file():  # Kaldi compares segments with utt2spk only when text exists
        chk.same_keys(segments, utts, "utt2spk", "utterance")
    recordings = sorted({f[1] for f in segments.fields if len(f) > 1})
    used = set(recordings)
    unused = next((i for i, k in enumerate(wav.keys(), 1) if k not in used), None)
    if unused is not None:
        chk.error("wav.scp", unused, f"recording {_show(wav.keys()[unused - 1])} is used by no segment "
                  "(Kaldi requires the same recordings in segments and wav.scp)")
    else:
        chk.same_keys(wav, recordings, "segments", "recording")
    if r2fc is not None:
        _check_r2fc(chk, r2fc, recordings)
    return recordings


def _check_r2fc(chk: KaldiChecker, table: Table, recordings: list[bytes]) -> None:
    for lineno, fields in enumerate(table.fields, 1):
        if len(fields) == 3 and fields[2] == b"1":
            chk.warnings.append(f"{chk.path / table.name}:{lineno}: the channel should be A or B, not 1")
        elif len(fields) != 3 or fields[2] not in (b"A", b"B"):
            chk.error(table.name, lineno, "bad line: expected `recording file channel` with channel A or B")
            return
    chk.same_keys(table, recordings, "the recordings", "recording")


def _check_values(chk: KaldiChecker, table: Table | None, ref: list[bytes], ref_name: str, what: str, ok,
                  expected: str) -> None:
    if table is None:
        return
    chk.same_keys(table, ref, ref_name, what)
    bad = next((i for i, f in enumerate(table.fields, 1) if len(f) != 2 or not ok(f[1])), None)
    if bad is not None:
        chk.error(table.name, bad, f"bad line {_show(table.lines[bad - 1])}: expected `{what} value` with {expected}")


def _number(value: bytes) -> float:
    """awk's numeric value of a field: its longest numeric prefix, 0 if none."""
    match = re.match(rb"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", value)
    return float(match.group(0)) if match else 0.0


def _awk_less(a: bytes, b: bytes) -> bool:
    """awk's `a < b` for two input fields: numeric when both look like numbers, else a byte comparison."""
    numeric = re.compile(rb"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
    if numeric.fullmatch(a) and numeric.fullmatch(b):
        return float(a) < float(b)
    return a < b


def _show(value: bytes) -> str:
    """A key for a message: quoted, bytes that are not UTF-8 shown as \\xNN."""
    return "'" + value.decode("utf-8", "backslashreplace") + "'"


def spk_sorted(utt2spk: dict[str, str]) -> bool:
    """True when utt2spk sorted by utterance is also sorted by speaker (Kaldi's rule; speaker-prefixed ids pass)."""
    speakers = [utt2spk[u] for u in sorted(utt2spk)]
    return all(a <= b for a, b in zip(speakers, speakers[1:]))
