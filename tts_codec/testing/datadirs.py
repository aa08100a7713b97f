"""Test factories: a small valid Kaldi data dir with synthetic audio, and ways to break it one problem at a time.

Every `break_*` function damages a valid dir made by `make_data_dir` and returns the `Breakage` a validator must
report: the file, the line (None when the file as a whole is at fault) and a phrase of the expected message.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

from tts_codec.data.audio import write_wav
from tts_codec.data.datadir import DataDir, Segment

WORDS = ("hello", "world", "codec", "speech", "token", "model", "voice", "sound")


def tone(duration: float, sample_rate: int, freq: float, seed: int = 0, noise: float = 0.05) -> np.ndarray:
    """A sine at `freq` Hz plus white noise, shape (N,), float32 peak below 0.6."""
    t = np.arange(int(duration * sample_rate)) / sample_rate
    rng = np.random.default_rng(seed)
    return (0.5 * np.sin(2 * np.pi * freq * t) + noise * rng.standard_normal(t.size)).astype(np.float32)


def make_data_dir(
    root: str | os.PathLike,
    name: str = "data",
    num_speakers: int = 2,
    utts_per_speaker: int = 3,
    sample_rate: int = 16000,
    duration: float = 0.25,
    segments: bool = False,
    pipe: bool = False,
    extra: bool = True,
) -> Path:
    """Write a valid data dir `root/name` with audio under `root/name_wav/`.

    Speakers are `spk1..spkN`, utterances `spkK-uttJ` (speaker-prefixed). With `segments`, each speaker has one
    recording `spkK-rec` holding its utterances back to back; with `pipe`, wav.scp entries are `cat file |` pipes.
    With `extra`, utt2gender, spk2gender and (without segments) utt2num_samples are written too.
    """
    root = Path(root)
    wav_dir = root / f"{name}_wav"
    dd = DataDir({}, {}, segments={} if segments else None)
    genders = {}
    for k in range(1, num_speakers + 1):
        spk = f"spk{k}"
        genders[spk] = "m" if k % 2 else "f"
        waves = []
        for j in range(1, utts_per_speaker + 1):
            utt = f"{spk}-utt{j}"
            waves.append(tone(duration, sample_rate, 110.0 * (k + j), seed=k * 100 + j))
            dd.utt2spk[utt] = spk
            dd.text[utt] = " ".join(WORDS[(k + j + i) % len(WORDS)] for i in range(3))
            if segments:
                dd.segments[utt] = Segment(f"{spk}-rec", (j - 1) * duration, j * duration)
            else:
                _add_wav(dd, utt, wav_dir / f"{utt}.wav", waves[-1], sample_rate, pipe)
        if segments:
            _add_wav(dd, f"{spk}-rec", wav_dir / f"{spk}-rec.wav", np.concatenate(waves), sample_rate, pipe)
    if extra:
        dd.extra["utt2gender"] = {u: genders[s] for u, s in dd.utt2spk.items()}
        dd.extra["spk2gender"] = genders
        if not segments:
            dd.extra["utt2num_samples"] = {u: str(int(duration * sample_rate)) for u in dd.utt2spk}
    return dd.save(root / name)


def _add_wav(dd: DataDir, key: str, path: Path, wav: np.ndarray, sample_rate: int, pipe: bool) -> None:
    write_wav(path, wav, sample_rate)
    dd.wav_scp[key] = f"cat {path} |" if pipe else str(path)


class Breakage(NamedTuple):
    """What a validator must say about a broken dir: the file name, the line (or None), a phrase of the message."""

    file: str
    line: int | None
    phrase: str


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def break_unsorted(data: Path, name: str = "utt2spk") -> Breakage:
    """Swap lines 1 and 2."""
    lines = _lines(data / name)
    lines[0], lines[1] = lines[1], lines[0]
    (data / name).write_bytes(b"".join(lines))
    return Breakage(name, 2, "not C-sorted")


def break_duplicate(data: Path, name: str = "text") -> Breakage:
    """Repeat line 1 as line 2 (same key, another value)."""
    lines = _lines(data / name)
    key = lines[0].split()[0]
    lines.insert(1, key + b" duplicated value\n")
    (data / name).write_bytes(b"".join(lines))
    return Breakage(name, 2, "duplicate key")


def break_missing_file(data: Path, name: str = "spk2utt") -> Breakage:
    (data / name).unlink()
    return Breakage(name, None, "missing")


def break_utf8(data: Path, name: str = "text", line: int = 2) -> Breakage:
    """Put a byte that is not UTF-8 into `line` of `name`."""
    lines = _lines(data / name)
    lines[line - 1] = lines[line - 1].rstrip(b"\n") + b" caf\xe9\n"
    (data / name).write_bytes(b"".join(lines))
    return Breakage(name, line, "invalid UTF-8")


def break_not_audio(data: Path, line: int = 2) -> Breakage:
    """Overwrite the file of wav.scp `line` with text, keeping its .wav name."""
    spec = _lines(data / "wav.scp")[line - 1].decode().split(maxsplit=1)[1].strip()
    path = spec[4:-1].strip() if spec.endswith("|") else spec  # "cat <path> |"
    Path(path).write_text("this is not audio\n")
    return Breakage("wav.scp", line, "not readable audio")


def break_empty_text(data: Path, line: int = 2) -> Breakage:
    """Keep only the key of text `line`."""
    lines = _lines(data / "text")
    lines[line - 1] = lines[line - 1].split()[0] + b"\n"
    (data / "text").write_bytes(b"".join(lines))
    return Breakage("text", line, "empty text")


def break_speaker_prefix(data: Path) -> Breakage:
    """Rename the speaker of utt2spk line 1 to one that sorts after every other (spk2* rewritten), so utt2spk is no
    longer sorted by speaker (Kaldi's rule); the first line of the next speaker is at fault."""
    dd = DataDir.load(data)
    old = dd.utt2spk[dd.utt_ids[0]]
    dd.utt2spk = {u: ("zzz" if s == old else s) for u, s in dd.utt2spk.items()}
    for table in dd.extra.values():
        if old in table:
            table["zzz"] = table.pop(old)
    dd.save(data, overwrite=True)
    line = next(i for i, u in enumerate(dd.utt_ids, start=1) if dd.utt2spk[u] != "zzz")
    return Breakage("utt2spk", line, "sorted by speaker")


def break_extra_utterance(data: Path, name: str = "text") -> Breakage:
    """Append a line for an utterance no other file has (it sorts last)."""
    with open(data / name, "a", encoding="utf-8") as handle:
        handle.write("zzz-unknown some words\n")
    return Breakage(name, len(_lines(data / name)), "is not in utt2spk")


def break_missing_utterance(data: Path, name: str = "text", line: int = 2) -> Breakage:
    """Delete `line` of `name`; the validator names the utt2spk line of that utterance."""
    lines = _lines(data / name)
    del lines[line - 1]
    (data / name).write_bytes(b"".join(lines))
    return Breakage(name, None, f"(utt2spk line {line}) is missing")


BREAKAGES: dict[str, Callable[[Path], Breakage]] = {
    "unsorted": break_unsorted,
    "duplicate": break_duplicate,
    "missing_file": break_missing_file,
    "bad_utf8": break_utf8,
    "not_audio": break_not_audio,
    "empty_text": break_empty_text,
    "speaker_prefix": break_speaker_prefix,
    "extra_utterance": break_extra_utterance,
    "missing_utterance": break_missing_utterance,
}
