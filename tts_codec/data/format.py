"""Audio formatting (recipe stage 2): resample a data dir to the codec rate as 16-bit PCM wavs, record
`utt2num_samples`, and drop utterances outside the duration range or whose audio cannot be read.

The output is a self-contained data dir without `segments` (each utterance is cut out and written as its own
wav), like ESPnet's `dump/raw/<set>`; dropped utterances (unreadable, NaN/inf samples, out of the duration range)
are listed with the reason in `filtered_utts`. The input is validated first (without opening audio), and the output
is built aside and validated before it replaces an older one, so a failed run leaves nothing that blocks a rerun.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from tts_codec.atomic import replace_dir
from tts_codec.data.audio import PIPE_TIMEOUT_S, write_wav
from tts_codec.data.datadir import DataDir
from tts_codec.data.table import write_table
from tts_codec.data.validate import speaker_prefixed, validate_data_dir, validate_written
from tts_codec.errors import UserError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FormatResult:
    """What formatting did: utterances kept, and the reason each dropped one was dropped."""

    kept: int
    filtered: dict[str, str]
    seconds: float


def format_data_dir(
    in_dir: str | Path,
    out_dir: str | Path,
    fs: int,
    min_dur: float = 0.0,
    max_dur: float = float("inf"),
    overwrite: bool = False,
    pipe_timeout: float = PIPE_TIMEOUT_S,
) -> FormatResult:
    """Write `in_dir`'s utterances as `fs` Hz mono wavs under `out_dir/wav/` and a data dir in `out_dir`.

    Args:
        in_dir: a Kaldi data dir (wav.scp paths or pipes, optional segments).
        out_dir: the formatted data dir; refused when non-empty unless `overwrite`.
        fs: the output sample rate.
        min_dur, max_dur: utterances shorter or longer (seconds) are dropped and listed in `filtered_utts`.
        pipe_timeout: seconds one `cmd |` entry of wav.scp may run before the utterance is dropped.
    Returns:
        counts and reasons (`FormatResult`).
    """
    if fs <= 0:
        raise UserError(f"--fs must be a positive sample rate, got {fs}")
    if min_dur < 0 or max_dur <= min_dur:
        raise UserError(f"--min_dur/--max_dur must satisfy 0 <= min_dur < max_dur, got {min_dur}/{max_dur}")
    in_dir = Path(in_dir)
    has_text = (in_dir / "text").is_file()
    validate_data_dir(in_dir, check_audio=False, check_text=has_text, check_spk_sort=False, non_print=True)
    data = DataDir.load(in_dir)
    out_dir = Path(out_dir).resolve()
    with replace_dir(out_dir, [in_dir], overwrite, "formatted data dir") as built:
        wav_scp, num_samples, filtered, total = _write_wavs(data, built, out_dir, fs, min_dur, max_dur, pipe_timeout)
        if not wav_scp:
            raise UserError(f"{in_dir}: every utterance was dropped, nothing written (first reason: "
                            f"{next(iter(filtered.values()))})")
        kept = data.subset(wav_scp)
        kept.segments = None
        kept.wav_scp = wav_scp
        kept.extra = {name: table for name, table in kept.extra.items() if not name.startswith("reco2")}
        kept.extra["utt2num_samples"] = {utt: str(n) for utt, n in num_samples.items()}
        kept.meta = {**kept.meta, "audio_format": "wav\n", "feats_type": "raw\n"}
        kept.save(built, overwrite=True)
        write_table(built / "filtered_utts", filtered)
        validate_written(built, out_dir, check_text=has_text, check_spk_sort=speaker_prefixed(data.utt2spk))
    log.info("%s: kept %d utterances (%.1f s), dropped %d", in_dir, len(wav_scp), total, len(filtered))
    return FormatResult(kept=len(wav_scp), filtered=filtered, seconds=total)


def _write_wavs(data: DataDir, built: Path, final: Path, fs: int, min_dur: float, max_dur: float,
                pipe_timeout: float) -> tuple[dict[str, str], dict[str, int], dict[str, str], float]:
    """Write each usable utterance to `built/wav/<utt>.wav`; wav.scp names its final place under `final`."""
    (built / "wav").mkdir()
    wav_scp: dict[str, str] = {}
    num_samples: dict[str, int] = {}
    filtered: dict[str, str] = {}
    total = 0.0
    for utt in tqdm(data.utt_ids, desc=f"format {data.path.name}", unit="utt", mininterval=5):
        try:
            wav = data.load_audio(utt, target_sr=fs, pipe_timeout=pipe_timeout)
        except UserError as err:
            log.warning("dropping %s: %s", utt, err)
            filtered[utt] = f"unreadable: {err}"
            continue
        dur = len(wav) / fs
        if not min_dur <= dur <= max_dur:
            filtered[utt] = f"duration {dur:.2f}s outside [{min_dur}, {max_dur}]"
            continue
        write_wav(built / "wav" / f"{utt}.wav", wav, fs)
        wav_scp[utt] = str(final / "wav" / f"{utt}.wav")
        num_samples[utt] = len(wav)
        total += dur
    return wav_scp, num_samples, filtered, total
