"""Codec token files: one kaldiio ark/scp per token stream plus a versioned `codes_info.json`, checked on load.

Layout of a codes dir (recipe stage 6, `dump/codes/<tag>/<set>/`):
    codes_info.json       format version, codec, config hash, weights hash, model dir, frame rate, per-stream
                          dtype/shape/vocab
    <stream>.ark/.scp     e.g. semantic (T,) and global (1, 32) per utterance, stored as Kaldi int32 vectors
    failed                optional `utt reason` lines for utterances that could not be tokenized

`codes_info.json` is written last, so its presence marks a complete directory (the DAC `DACFile` idea: tokens never
travel without the facts needed to decode them).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from tts_codec.atomic import atomic_write
from tts_codec.data.ark import ArkWriter, load_scp_dict
from tts_codec.data.table import format_lines, read_table
from tts_codec.errors import UserError

FORMAT_VERSION = 1
#: the CodesInfo fields that say which model made the tokens (`CodesInfo.same_codes`)
SAME_CODES_FIELDS = ("codec", "sample_rate", "hop_length", "streams", "config_hash", "weights_hash", "version")
INFO_FILE = "codes_info.json"
FAILED_FILE = "failed"
STORAGE_DTYPE = np.int32  # Kaldi's native int-vector type: readable by copy-int-vector, ample for 8192/4096 vocabs


def config_hash(cfg: Mapping[str, Any]) -> str:
    """Short sha256 of a config's canonical JSON (sorted keys): equal hashes mean the same model definition."""
    text = json.dumps(cfg, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class StreamInfo:
    """One token stream: per-utterance shape (-1 = frames), vocabulary size, numpy dtype name, and `stride`: frames
    of the codec's finest stream per frame of this one (1 except in multi-rate codecs; recorded only when > 1)."""

    shape: tuple[int, ...]
    codebook_size: int
    dtype: str = np.dtype(STORAGE_DTYPE).name
    stride: int = 1

    @property
    def time_axis(self) -> int | None:
        """The frame axis (-1 in `shape`), or None for a fixed-size stream."""
        return self.shape.index(-1) if -1 in self.shape else None

    def to_dict(self) -> dict[str, Any]:
        data = {"shape": list(self.shape), "codebook_size": self.codebook_size, "dtype": self.dtype}
        return data if self.stride == 1 else {**data, "stride": self.stride}


@dataclass(frozen=True)
class CodesInfo:
    """What a codes dir holds; `frame_rate` = sample_rate / hop_length (50 Hz for BiCodec). `weights_hash` is the
    fingerprint of the weights that made the tokens (`Codec.weights_hash`; None in files written before it existed)."""

    codec: str
    sample_rate: int
    hop_length: int
    streams: dict[str, StreamInfo]
    config_hash: str
    model_dir: str | None = None
    weights_hash: str | None = None
    version: int = FORMAT_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def frame_rate(self) -> float:
        return self.sample_rate / self.hop_length

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["frame_rate"] = self.frame_rate
        data["streams"] = {name: s.to_dict() for name, s in self.streams.items()}
        return {"version": data.pop("version"), **data}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str) -> "CodesInfo":
        """Parse a codes_info.json dict; wrong versions and missing keys are UserErrors naming `where`."""
        version = data.get("version")
        if version != FORMAT_VERSION:
            raise UserError(f"{where}: token file format version {version!r}; this tts_codec reads version "
                            f"{FORMAT_VERSION} (re-run codec tokenization)")
        try:
            streams = {name: StreamInfo(tuple(int(d) for d in s["shape"]), int(s["codebook_size"]), str(s["dtype"]),
                                        int(s.get("stride", 1))) for name, s in data["streams"].items()}
            return cls(codec=str(data["codec"]), sample_rate=int(data["sample_rate"]),
                       hop_length=int(data["hop_length"]), streams=streams, config_hash=str(data["config_hash"]),
                       model_dir=data.get("model_dir"), weights_hash=data.get("weights_hash"),
                       extra=dict(data.get("extra") or {}))
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise UserError(f"{where}: malformed codes info ({type(err).__name__}: {err})") from None

    def num_frames(self, codes: Mapping[str, np.ndarray]) -> int:
        """Frames of the finest stream in one utterance's `codes` (see `num_frames`)."""
        return num_frames(self.streams, codes)

    def differences(self, other: "CodesInfo") -> list[str]:
        """The fields that make `other` tokens of another model (model_dir and extra may differ)."""
        return [key for key in SAME_CODES_FIELDS if getattr(self, key) != getattr(other, key)]

    def same_codes(self, other: "CodesInfo") -> bool:
        """True when both describe tokens of the same model: same config and weights (model_dir and extra may
        differ)."""
        return not self.differences(other)


def num_frames(streams: Mapping[str, StreamInfo], codes: Mapping[str, Any]) -> int:
    """Frames of the finest stream in one utterance's `codes` (arrays or tensors in their recorded shapes);
    0 when every stream has a fixed size."""
    for name, spec in streams.items():
        if spec.time_axis is not None:
            return int(codes[name].shape[spec.time_axis]) * spec.stride
    return 0


def write_info(codes_dir: str | os.PathLike, info: CodesInfo) -> None:
    """Write `codes_dir/codes_info.json` atomically."""
    with atomic_write(Path(codes_dir) / INFO_FILE) as handle:
        json.dump(info.to_dict(), handle, indent=2, sort_keys=False)
        handle.write("\n")


def read_info(codes_dir: str | os.PathLike, codec: str | None = None) -> CodesInfo:
    """Read and check `codes_dir/codes_info.json` (version, and `codec` when given)."""
    path = Path(codes_dir) / INFO_FILE
    if not path.is_file():
        raise UserError(f"{path}: not found; {codes_dir} is not a complete codes directory (run codec tokenization)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a JSON object")
    info = CodesInfo.from_dict(data, str(path))
    if codec is not None and info.codec != codec:
        raise UserError(f"{path}: tokens of codec {info.codec!r}, but codec {codec!r} was asked for")
    return info


def check_tokens(name: str, array: np.ndarray, spec: StreamInfo, utt: str) -> np.ndarray:
    """Validate one utterance's tokens against its stream spec; return them as the storage dtype (flattened)."""
    array = np.asarray(array)
    ok_shape = array.ndim == len(spec.shape) and all(a == d for a, d in zip(array.shape, spec.shape) if d != -1)
    if not ok_shape or array.size == 0:
        raise ValueError(f"{utt}: {name} tokens have shape {array.shape}, expected {spec.shape} (-1 = any >= 1)")
    if not np.issubdtype(array.dtype, np.integer) or array.min() < 0 or array.max() >= spec.codebook_size:
        raise ValueError(f"{utt}: {name} tokens must be integers in [0, {spec.codebook_size})")
    return array.astype(spec.dtype).reshape(-1)


class TokenWriter:
    """Write token streams of many utterances into a codes dir; `codes_info.json` appears only on success.

    Example:
        with TokenWriter("dump/codes/x/test", info) as writer:
            writer.add("utt1", {"semantic": sem, "global": glob})
            writer.fail("utt2", "too short: 120 samples")
    """

    def __init__(self, codes_dir: str | os.PathLike, info: CodesInfo, overwrite: bool = False):
        self.codes_dir, self.info, self.overwrite = Path(codes_dir), info, overwrite
        self._writers: dict[str, ArkWriter] = {}
        self.failed: dict[str, str] = {}

    def __enter__(self) -> "TokenWriter":
        for name in self.info.streams:
            writer = ArkWriter(self.codes_dir / f"{name}.ark", self.codes_dir / f"{name}.scp", self.overwrite)
            self._writers[name] = writer.__enter__()
        return self

    def add(self, utt: str, tokens: Mapping[str, np.ndarray]) -> None:
        """Store every stream of one utterance (checked against the info's shapes and vocabularies)."""
        if set(tokens) != set(self.info.streams):
            raise ValueError(f"{utt}: streams {sorted(tokens)} do not match {sorted(self.info.streams)}")
        arrays = {n: check_tokens(n, tokens[n], self.info.streams[n], utt) for n in self.info.streams}
        for name, array in arrays.items():
            self._writers[name][utt] = array

    def fail(self, utt: str, reason: str) -> None:
        """Record an utterance that could not be tokenized (written to `failed`)."""
        self.failed[utt] = " ".join(reason.split())

    def __len__(self) -> int:
        return len(next(iter(self._writers.values()))) if self._writers else 0

    def __exit__(self, exc_type, exc, tb) -> None:
        for writer in self._writers.values():
            writer.__exit__(exc_type, exc, tb)
        if exc_type is not None:
            return
        write_failed(self.codes_dir, self.failed)
        if len(self):
            write_info(self.codes_dir, self.info)


def write_failed(codes_dir: str | os.PathLike, failed: Mapping[str, str]) -> None:
    """Write `failed` (`utt reason`, sorted), or remove a stale one when nothing failed."""
    path = Path(codes_dir) / FAILED_FILE
    if not failed:
        path.unlink(missing_ok=True)
        return
    with atomic_write(path) as handle:
        handle.writelines(f"{utt} {failed[utt]}\n" for utt in sorted(failed))


def read_failed(codes_dir: str | os.PathLike) -> dict[str, str]:
    """The `failed` table of a codes dir (empty when absent)."""
    path = Path(codes_dir) / FAILED_FILE
    if not path.is_file():
        return {}
    rows = (line.rstrip("\n").partition(" ") for line in path.read_text(encoding="utf-8").splitlines())
    return {utt: reason for utt, _, reason in rows if utt}


class TokenSet(Mapping):
    """A loaded codes dir: a lazy mapping utt -> {stream: array in its recorded shape}, plus `.info`."""

    def __init__(self, codes_dir: str | os.PathLike, codec: str | None = None):
        self.codes_dir = Path(codes_dir)
        self.info = read_info(self.codes_dir, codec)
        self.streams = {}
        for name in self.info.streams:
            scp = self.codes_dir / f"{name}.scp"
            if not scp.is_file():
                raise UserError(f"{scp}: missing, but {self.codes_dir / INFO_FILE} lists stream {name!r}")
            self.streams[name] = load_scp_dict(scp)
        keys = [set(s) for s in self.streams.values()]
        if any(k != keys[0] for k in keys):
            names = list(self.streams)
            raise UserError(f"{self.codes_dir}: {names[0]}.scp and the other stream scps hold different utterances")
        self.utt_ids = sorted(keys[0]) if keys else []

    def __getitem__(self, utt: str) -> dict[str, np.ndarray]:
        out = {}
        for name, spec in self.info.streams.items():
            array = np.asarray(self.streams[name][utt])
            where = f"{self.codes_dir / (name + '.scp')}: {utt}"
            if array.dtype != np.dtype(spec.dtype):
                raise UserError(f"{where}: dtype {array.dtype}, codes_info says {spec.dtype}")
            try:
                out[name] = array.reshape(spec.shape)
            except ValueError:
                raise UserError(f"{where}: {array.size} tokens do not fit the shape {spec.shape}") from None
        return out

    def __iter__(self) -> Iterator[str]:
        return iter(self.utt_ids)

    def __len__(self) -> int:
        return len(self.utt_ids)


def load_tokens(codes_dir: str | os.PathLike, codec: str | None = None) -> TokenSet:
    """Open a codes dir (checks codes_info.json: version, codec, stream scps)."""
    return TokenSet(codes_dir, codec)


def merge_codes_dirs(parts: list[str | os.PathLike], out_dir: str | os.PathLike, overwrite: bool = False) -> CodesInfo:
    """Merge the codes dirs of parallel jobs into `out_dir`: one sorted scp per stream (pointing at the parts' arks),
    the union of their `failed` files, and their common codes_info.json (parts must agree on it).

    Re-merging parts of the same model is idempotent; replacing a merged dir of another model needs `overwrite`.
    A part whose every utterance failed has only `failed`; a part with neither file is incomplete (UserError).
    """
    infos: list[tuple[Path, CodesInfo]] = []
    failed: dict[str, str] = {}
    for part in map(Path, parts):
        if (part / INFO_FILE).is_file():
            infos.append((part, read_info(part)))
        elif not (part / FAILED_FILE).is_file():
            raise UserError(f"{part}: neither {INFO_FILE} nor {FAILED_FILE}; that job has not finished")
        failed.update(read_failed(part))
    if not infos:
        raise UserError(f"every utterance of {len(parts)} parts failed; see their {FAILED_FILE} files")
    first_dir, info = infos[0]
    for part, other in infos[1:]:
        if not other.same_codes(info):
            raise UserError(f"{part / INFO_FILE} differs from {first_dir / INFO_FILE}: parts of different models")
    out = Path(out_dir)
    same_model = (out / INFO_FILE).is_file() and read_info(out).same_codes(info)
    if (out / INFO_FILE).is_file() and not overwrite and not same_model:
        raise UserError(f"{out / INFO_FILE}: holds tokens of another model; pass --overwrite true to replace them")
    tables = {name: _merged_scp(name, [part for part, _ in infos]) for name in info.streams}  # all checks first
    with contextlib.ExitStack() as stack:  # every file is complete (as a temp file) before anything is replaced
        for name, table in tables.items():
            handle = stack.enter_context(atomic_write(out / f"{name}.scp"))
            handle.writelines(format_lines(table))
        if not same_model:  # the old info must not describe the new scps, even for the instant of the renames
            (out / INFO_FILE).unlink(missing_ok=True)
    write_failed(out, failed)
    write_info(out, info)
    return info


def _merged_scp(stream: str, parts: list[Path]) -> dict[str, str]:
    """utt -> ark location over the `<stream>.scp` of every part; an utterance in two parts is a UserError."""
    merged: dict[str, str] = {}
    for part in parts:
        for utt, location in read_table(part / f"{stream}.scp").items():
            if utt in merged:
                raise UserError(f"{part / (stream + '.scp')}: utterance {utt!r} also appears in another part")
            merged[utt] = location
    return merged
