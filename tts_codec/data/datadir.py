"""A Kaldi data directory in memory: wav.scp, text, utt2spk, spk2utt, optional segments and any utt2*/spk2* files.

Layout (Kaldi/ESPnet): `wav.scp` maps utterance -> audio spec (a path or `cmd |`), or recording -> spec when
`segments` (`utt rec start end`) exists; `spk2utt` is always derived from `utt2spk`. Every `utt2*` file and every
`*.scp` other than wav.scp is keyed by utterance, `spk2*` (and cmvn.scp, spk_xvector.scp) by speaker, `reco2*` by
recording; all of these land in `DataDir.extra[name]`.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, NamedTuple

import numpy as np

from tts_codec.atomic import atomic_write, refuse_to_clobber
from tts_codec.data.audio import PIPE_TIMEOUT_S, read_audio
from tts_codec.data.table import read_entries, read_table, table_from_entries, write_table
from tts_codec.errors import UserError

log = logging.getLogger(__name__)

CORE_FILES = ("wav.scp", "text", "utt2spk", "spk2utt", "segments")
#: Single-value files copied along with a data dir (ESPnet writes feats_type/audio_format in dump dirs).
META_FILES = ("feats_type", "audio_format", "frame_shift")
SPK_KEYED_SCPS = ("cmvn.scp", "spk_xvector.scp")
#: Subdirectories derived from a data dir's contents (split_data.sh output): stale once the dir is rewritten.
DERIVED_DIR = re.compile(r"split\d+(utt)?")


class Segment(NamedTuple):
    """One `segments` line: the recording id and the span in seconds (end < 0 means to the end of the recording)."""

    rec: str
    start: float
    end: float


def key_kind(name: str) -> str | None:
    """What the keys of an extra file are: "utt", "spk", "rec", or None for a file that is not an extra table."""
    if name in CORE_FILES or name.startswith("."):
        return None
    if name in SPK_KEYED_SCPS or name.startswith("spk2"):
        return "spk"
    if name.startswith("reco2"):
        return "rec"
    if name.startswith("utt2") or name.endswith(".scp"):
        return "utt"
    return None


def format_time(seconds: float) -> str:
    """Seconds as the shortest decimal with microsecond precision (`1.5`, `-1`), as segments files hold them."""
    return f"{seconds:.6f}".rstrip("0").rstrip(".")


def parse_segment(value: str, where: str) -> Segment:
    """Parse the `rec start end` value of a segments line; `where` (`file:line`) prefixes any error."""
    fields = value.split()
    if len(fields) != 3:
        raise UserError(f"{where}: expected `utt rec start end`, got {len(fields) + 1} fields")
    try:
        start, end = float(fields[1]), float(fields[2])
    except ValueError:
        raise UserError(f"{where}: start/end times {fields[1]!r} {fields[2]!r} are not numbers") from None
    return Segment(fields[0], start, end)


def read_segments(path: Path) -> dict[str, Segment]:
    """Read a segments file (duplicate ids and malformed lines are errors naming the line)."""
    return {utt: parse_segment(value, str(path)) for utt, value in read_segment_values(path).items()}


def read_segment_values(path: Path) -> dict[str, str]:
    """Read a segments file as `{utt: "rec start end"}` as written (each line parsed, so errors name it)."""
    values: dict[str, str] = {}
    for key, value, lineno in read_entries(path):
        if not key or key in values:
            raise UserError(f"{path}:{lineno}: " + ("empty line" if not key else f"duplicate utterance {key!r}"))
        parse_segment(value, f"{path}:{lineno}")
        values[key] = " ".join(value.split())
    return values


def read_utt2spk(path: str | os.PathLike) -> dict[str, str]:
    """Read a utt2spk file; a line without exactly two fields is an error naming it (not a speaker `b c`)."""
    entries = read_entries(path)
    bad = next((e for e in entries if e.key and len(e.value.split()) > 1), None)
    if bad is not None:
        raise UserError(f"{path}:{bad.line}: expected `utterance speaker`, got {len(bad.value.split()) + 1} fields")
    return table_from_entries(path, entries)


def read_meta(path: Path) -> dict[str, str]:
    """The single-value files (META_FILES) of a data dir, verbatim."""
    return {name: (path / name).read_text(encoding="utf-8") for name in META_FILES if (path / name).is_file()}


@dataclass
class DataDir:
    """The tables of one data dir; see the module docstring for the layout."""

    wav_scp: dict[str, str]
    utt2spk: dict[str, str]
    text: dict[str, str] = field(default_factory=dict)
    segments: dict[str, Segment] | None = None
    extra: dict[str, dict[str, str]] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)
    path: Path | None = None
    #: segments lines as read (`rec start end`), so that saving keeps the times as written (`0.50` stays `0.50`)
    segment_values: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "DataDir":
        """Load a data dir (utt2spk is required; text, wav.scp and the rest are read when present).

        Loading does not check consistency; call `validate_data_dir` for that.
        """
        path = Path(path)
        if not path.is_dir():
            raise UserError(f"data dir {path}: no such directory")
        if not (path / "utt2spk").is_file():
            raise UserError(f"data dir {path} has no utt2spk")
        opt = lambda name, **kw: read_table(path / name, **kw) if (path / name).is_file() else {}  # noqa: E731
        extra = {p.name: read_table(p) for p in sorted(path.iterdir()) if p.is_file() and key_kind(p.name)}
        seg_values = read_segment_values(path / "segments") if (path / "segments").is_file() else None
        return cls(
            wav_scp=opt("wav.scp"),
            utt2spk=read_utt2spk(path / "utt2spk"),
            text=opt("text", allow_empty_value=True),
            segments=None if seg_values is None else {u: parse_segment(v, "") for u, v in seg_values.items()},
            extra=extra,
            meta=read_meta(path),
            path=path,
            segment_values=seg_values or {},
        )

    @property
    def utt_ids(self) -> list[str]:
        """Utterance ids (the keys of utt2spk), C-sorted."""
        return sorted(self.utt2spk)

    @property
    def speakers(self) -> list[str]:
        """Speaker ids, C-sorted."""
        return sorted(set(self.utt2spk.values()))

    @property
    def spk2utt(self) -> dict[str, list[str]]:
        """Speaker -> its C-sorted utterance ids, derived from utt2spk."""
        spk2utt: dict[str, list[str]] = {}
        for utt in self.utt_ids:
            spk2utt.setdefault(self.utt2spk[utt], []).append(utt)
        return {spk: spk2utt[spk] for spk in sorted(spk2utt)}

    def __len__(self) -> int:
        return len(self.utt2spk)

    def audio_spec(self, utt: str) -> tuple[str, float, float | None]:
        """The wav.scp spec of an utterance and its span in seconds (0, None for a whole file)."""
        where = f"data dir {self.path}" if self.path else "data dir"
        if self.segments is not None:
            if utt not in self.segments:
                raise UserError(f"{where}: utterance {utt!r} is not in segments")
            rec, start, end = self.segments[utt]
            if rec not in self.wav_scp:
                raise UserError(f"{where}: recording {rec!r} of utterance {utt!r} is not in wav.scp")
            return self.wav_scp[rec], start, end
        if utt not in self.wav_scp:
            raise UserError(f"{where}: utterance {utt!r} is not in wav.scp")
        return self.wav_scp[utt], 0.0, None

    def load_audio(self, utt: str, target_sr: int | None = None, pipe_timeout: float = PIPE_TIMEOUT_S) -> np.ndarray:
        """Mono float32 audio of one utterance, shape (N,), resampled to target_sr if given."""
        spec, start, end = self.audio_spec(utt)
        wav, _ = read_audio(spec, target_sr=target_sr, mono=True, start=start, end=end, pipe_timeout=pipe_timeout)
        return wav

    def subset(self, utts: Iterable[str]) -> "DataDir":
        """A new DataDir holding only `utts` (unknown ids are ignored); every table is filtered to match."""
        keep = set(utts) & set(self.utt2spk)
        spks = {self.utt2spk[u] for u in keep}
        if self.segments is not None:
            segments = {u: s for u, s in self.segments.items() if u in keep}
            recs = {s.rec for s in segments.values()}
        else:
            segments, recs = None, keep
        keys = {"utt": keep, "spk": spks, "rec": recs}
        return DataDir(
            wav_scp={r: v for r, v in self.wav_scp.items() if r in recs},
            utt2spk={u: v for u, v in self.utt2spk.items() if u in keep},
            text={u: v for u, v in self.text.items() if u in keep},
            segments=segments,
            extra={n: {k: v for k, v in t.items() if k in keys[key_kind(n) or "utt"]} for n, t in self.extra.items()},
            meta=dict(self.meta),
            segment_values={u: v for u, v in self.segment_values.items() if u in keep},
        )

    def segment_value(self, utt: str) -> str:
        """The `rec start end` of an utterance's segment: as read if unchanged, else formatted from `segments`."""
        rec, t0, t1 = self.segments[utt]
        written = self.segment_values.get(utt)
        if written is not None and parse_segment(written, "") == (rec, t0, t1):
            return written
        return f"{rec} {format_time(t0)} {format_time(t1)}"

    def save(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write every table (C-sorted, each file atomically) and spk2utt; refuse a non-empty dir unless overwrite.

        With overwrite, data files of the old contents that this DataDir lacks (e.g. a stale segments) and split
        dirs made from the old contents (`split<N>/`) are removed; other files and subdirectories are left alone.
        """
        path = Path(path)
        refuse_to_clobber(path, overwrite, "data dir")
        path.mkdir(parents=True, exist_ok=True)
        tables: dict[str, dict] = {"wav.scp": self.wav_scp, "utt2spk": self.utt2spk, "spk2utt": self.spk2utt}
        if self.text:
            tables["text"] = self.text
        if self.segments is not None:
            tables["segments"] = {u: self.segment_value(u) for u in self.segments}
        tables.update(self.extra)
        for name, table in tables.items():
            write_table(path / name, table)
        for name, content in self.meta.items():
            with atomic_write(path / name, "w") as handle:
                handle.write(content)
        for item in path.iterdir():
            stale = item.name in CORE_FILES or key_kind(item.name) or item.name in META_FILES
            if item.is_file() and stale and item.name not in tables and item.name not in self.meta:
                log.info("removing stale %s", item)
                item.unlink()
            elif item.is_dir() and DERIVED_DIR.fullmatch(item.name):
                log.info("removing %s, split from the old contents", item)
                shutil.rmtree(item)
        return path
