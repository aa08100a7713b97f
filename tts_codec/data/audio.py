"""Reading and writing audio named by a wav.scp entry: a file path (wav/flac/... via soundfile) or a Kaldi `cmd |` pipe.

Audio comes back as float32 in [-1, 1]; multi-channel audio is downmixed by the channel mean; resampling uses soxr
("VHQ"), so no torchaudio is needed. Non-finite samples (NaN/inf, possible in float WAVs) are an error when read and
are never written: clipped to 16 bits they would become full-scale clicks. A pipe that runs longer than its timeout
is killed (with its whole process group) and named.
"""
from __future__ import annotations

import io
import os
import signal
import subprocess
from pathlib import Path
from typing import NamedTuple

import numpy as np
import soundfile
import soxr

from tts_codec.atomic import atomic_path
from tts_codec.errors import UserError

#: How far (seconds) a segment end may overshoot the recording before it is an error (Kaldi's extract-segments default).
MAX_SEGMENT_OVERSHOOT_S = 0.5
#: Default bound (seconds) on one wav.scp pipe command; a pipe that never ends must not hang a stage forever.
PIPE_TIMEOUT_S = 300.0


class AudioInfo(NamedTuple):
    """Header facts of an audio spec."""

    num_samples: int
    sample_rate: int
    channels: int

    @property
    def duration(self) -> float:
        return self.num_samples / self.sample_rate


def is_pipe(spec: str) -> bool:
    """True for a Kaldi pipe spec (`cmd ... |`)."""
    return spec.rstrip().endswith("|")


def _run_pipe(spec: str, timeout: float = PIPE_TIMEOUT_S) -> bytes:
    """Run the command of a `cmd |` spec and return its stdout; a failure or timeout names the command."""
    command = spec.rstrip()[:-1].strip()
    if not command:
        raise UserError(f"empty pipe command in audio spec {spec!r}")
    # Its own process group, so a timeout kills every command of the pipeline, not only the shell.
    with subprocess.Popen(command, shell=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          stdin=subprocess.DEVNULL, start_new_session=True) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise UserError(f"audio command {command!r} did not finish within {timeout:g} s "
                            "(raise the pipe timeout option if it is just slow)") from None
    proc = subprocess.CompletedProcess(command, proc.returncode, stdout, stderr)
    if proc.returncode != 0:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no stderr"]
        raise UserError(f"audio command {command!r} failed with exit code {proc.returncode}: {tail[0]}")
    if not proc.stdout:
        raise UserError(f"audio command {command!r} wrote nothing to stdout")
    return proc.stdout


def _open(spec: str, pipe_timeout: float = PIPE_TIMEOUT_S) -> soundfile.SoundFile:
    """Open a spec as a SoundFile (pipes are run to completion, bounded by pipe_timeout, and read from memory)."""
    try:
        if is_pipe(spec):
            return soundfile.SoundFile(io.BytesIO(_run_pipe(spec, pipe_timeout)))
        path = Path(spec)
        if not path.is_file():
            raise UserError(f"audio file {spec}: no such file")
        if path.stat().st_size == 0:
            raise UserError(f"audio file {spec}: empty file")
        return soundfile.SoundFile(path)
    except soundfile.SoundFileError as err:
        raise UserError(f"audio {spec!r} is not readable audio: {err}") from None


def audio_info(spec: str, pipe_timeout: float = PIPE_TIMEOUT_S) -> AudioInfo:
    """Read the header of `spec` (a pipe is run in full); raises UserError if it is not audio or has no samples."""
    with _open(spec, pipe_timeout) as snd:
        info = AudioInfo(snd.frames, snd.samplerate, snd.channels)
    if info.num_samples <= 0:
        raise UserError(f"audio {spec!r} has no samples")
    return info


def read_audio(
    spec: str,
    target_sr: int | None = None,
    mono: bool = True,
    start: float = 0.0,
    end: float | None = None,
    pipe_timeout: float = PIPE_TIMEOUT_S,
) -> tuple[np.ndarray, int]:
    """Read audio as float32 in [-1, 1].

    Args:
        spec: a file path or a Kaldi pipe `cmd |` whose stdout is a WAV/FLAC stream.
        target_sr: resample to this rate (soxr VHQ); None keeps the file's rate.
        mono: downmix channels by their mean.
        start, end: a segment in seconds (end None or < 0 means to the end of the audio).
        pipe_timeout: seconds a `cmd |` spec may run.
    Returns:
        (wav, sr): wav has shape (N,) when mono, else (C, N); sr is target_sr if given.
    Raises:
        UserError: naming the spec when it is missing, empty, not audio, holds NaN/inf samples, or the segment
            lies outside it.
    """
    with _open(spec, pipe_timeout) as snd:
        sr, total = snd.samplerate, snd.frames
        first, last = _segment_frames(spec, sr, total, start, end)
        try:
            snd.seek(first)
            wav = snd.read(last - first, dtype="float32", always_2d=True)  # (N, C)
        except soundfile.SoundFileError as err:
            raise UserError(f"audio {spec!r} is not readable audio: {err}") from None
    if wav.shape[0] == 0:
        raise UserError(f"audio {spec!r} has no samples" + (f" in [{start}, {end}] s" if start or end else ""))
    bad = int(np.size(wav) - np.count_nonzero(np.isfinite(wav)))
    if bad:
        raise UserError(f"audio {spec!r} has {bad} non-finite (NaN or inf) samples")
    wav = wav.mean(axis=1, keepdims=True) if mono else wav
    if target_sr is not None and target_sr != sr:
        wav = soxr.resample(wav, sr, target_sr, quality="VHQ")
        sr = target_sr
    wav = np.ascontiguousarray(wav.T, dtype=np.float32)  # (C, N)
    return (wav[0] if mono else wav), sr


def _segment_frames(spec: str, sr: int, total: int, start: float, end: float | None) -> tuple[int, int]:
    """Turn a [start, end] seconds segment into frame indices, allowing Kaldi's small end overshoot."""
    first = int(round(start * sr))
    last = total if end is None or end < 0 else int(round(end * sr))
    if first < 0 or first >= total or last <= first:
        raise UserError(f"segment [{start}, {end}] s lies outside audio {spec!r} ({total / sr:.3f} s)")
    if last > total:
        if last - total > MAX_SEGMENT_OVERSHOOT_S * sr:
            raise UserError(f"segment end {end} s is beyond the end of audio {spec!r} ({total / sr:.3f} s)")
        last = total
    return first, last


def write_wav(path: str | os.PathLike, wav: np.ndarray, sr: int) -> None:
    """Write 16-bit PCM WAV atomically.

    Args:
        path: the output file (parent directories are created).
        wav: float audio, shape (N,) or (C, N), clipped to [-1, 1] before conversion.
        sr: sample rate in Hz.
    Raises:
        ValueError: for an empty or non-finite (NaN/inf) array; nothing is written.
    """
    wav = np.asarray(wav, dtype=np.float32)
    if wav.ndim not in (1, 2) or wav.shape[-1] == 0:
        raise ValueError(f"write_wav expects a non-empty (N,) or (C, N) array, got shape {wav.shape}")
    if not np.isfinite(wav).all():
        raise ValueError(f"refusing to write {path}: {np.size(wav) - np.count_nonzero(np.isfinite(wav))} samples "
                         "are NaN or inf")
    data = np.clip(wav if wav.ndim == 1 else wav.T, -1.0, 1.0)
    with atomic_path(path) as tmp:
        soundfile.write(tmp, data, int(sr), subtype="PCM_16", format="WAV")
