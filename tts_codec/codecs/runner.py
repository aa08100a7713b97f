"""Directory-level codec runs through the `Codec` interface: a data dir -> a codes dir (recipe stage 6) and a codes
dir -> wavs + per-utterance decode times (stage 7a; TTS decoding reuses it for generated tokens).

Both resume: tokenization skips a complete codes dir of the same model (and refuses one of another model unless
`overwrite`); decoding keeps every wav already written together with its time in `.rtf.partial`.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from tts_codec.codecs.base import Codec
from tts_codec.codecs.inference import decode_batch, encode_batch
from tts_codec.data.ark import load_scp_dict
from tts_codec.data.audio import write_wav
from tts_codec.data.datadir import DataDir
from tts_codec.data.table import read_table
from tts_codec.data.token_file import (INFO_FILE, CodesInfo, TokenSet, TokenWriter, check_tokens, read_failed,
                                       read_info)
from tts_codec.errors import UserError

log = logging.getLogger(__name__)
PARTIAL_RTF = ".rtf.partial"  # per-utterance timings of an unfinished decode, appended as wavs are written


# ---------------------------------------------------------------------- tokenization
def is_complete(out_dir: Path, info: CodesInfo, utts: list[str], overwrite: bool) -> bool:
    """True when out_dir already holds this model's tokens for exactly the utterances `utts` (tokenized or failed)
    and overwrite is off; a codes dir of another model, or of other utterances, is a UserError."""
    if overwrite or not (out_dir / INFO_FILE).is_file():
        return False
    old = read_info(out_dir)
    if not old.same_codes(info):
        raise UserError(f"{out_dir / INFO_FILE}: holds tokens of another model (config hash {old.config_hash}, "
                        f"weights hash {old.weights_hash}; this model {info.config_hash}, {info.weights_hash}); "
                        "pass --overwrite true to replace them")
    first_stream = next(iter(info.streams))
    done = set(load_scp_dict(out_dir / f"{first_stream}.scp")) | set(read_failed(out_dir))
    missing = sorted(set(utts) - done)
    extra = sorted(done - set(utts))
    if missing or extra:
        example = (f"lacks {len(missing)}, e.g. {missing[0]!r}" if missing
                   else f"has {len(extra)} more, e.g. {extra[0]!r}")
        raise UserError(f"{out_dir}: the codes dir holds other utterances than the data dir ({example}); pass "
                        "--overwrite true to redo it")
    return True


def load_prepared(data: DataDir, utt: str, model: Codec) -> np.ndarray:
    """The codec's front end applied to one utterance; UserError with the reason when it cannot be tokenized."""
    wav = model.prepare(data.load_audio(utt, target_sr=model.sample_rate), model.sample_rate, what=utt)
    if len(wav) < model.min_samples:
        raise UserError(f"too short: {len(wav)} samples ({len(wav) / model.sample_rate:.3f} s), the codec needs "
                        f"at least {model.min_samples}")
    return wav


def length_order(data: DataDir) -> list[str]:
    """Utterances sorted by utt2num_samples when known (less padding in batches), else by id."""
    lengths = data.extra.get("utt2num_samples", {})
    return sorted(data.utt_ids, key=lambda u: (int(lengths[u]) if u in lengths else 0, u))


def tokenize_dir(model: Codec, data: DataDir, out_dir: Path, info: CodesInfo, batch_size: int,
                 device: str) -> tuple[int, int]:
    """Tokenize all utterances of `data` into out_dir (unreadable or too short ones go to `failed`).

    Returns:
        (tokenized, failed) counts.
    """
    order = length_order(data)
    (out_dir / INFO_FILE).unlink(missing_ok=True)  # an interrupted rerun must not look complete
    with TokenWriter(out_dir, info, overwrite=True) as writer, tqdm(total=len(order), desc=str(out_dir),
                                                                   mininterval=5, unit="utt") as bar:
        for start in range(0, len(order), batch_size):
            utts, wavs = [], []
            for utt in order[start:start + batch_size]:
                try:
                    wavs.append(load_prepared(data, utt, model))
                    utts.append(utt)
                except UserError as err:
                    log.warning("%s: %s", utt, err)
                    writer.fail(utt, str(err))
            if wavs:
                for utt, tokens in zip(utts, encode_batch(model, wavs, device)):
                    writer.add(utt, tokens)
            bar.update(len(order[start:start + batch_size]))
    return len(writer), len(writer.failed)


# ---------------------------------------------------------------------- decoding
def check_compatible(tokens: TokenSet, model: Codec, model_dir: str) -> None:
    """Tokens must fit the model's streams and vocabularies and come from its weights (`weights_hash`); another
    config (hash) with the same weights only warns."""
    info, mine = tokens.info, model.codes_info(model_dir)
    where = tokens.codes_dir / INFO_FILE
    if info.codec != mine.codec or info.streams != mine.streams or info.hop_length != mine.hop_length:
        raise UserError(f"{where}: tokens of {info.codec} {dict(info.streams)} do not fit the model in {model_dir} "
                        f"({mine.codec} {dict(mine.streams)})")
    if info.weights_hash is None:
        log.warning("%s: records no weights hash (written by an older tts_codec); cannot check that %s made these "
                    "tokens", where, model_dir)
    elif info.weights_hash != mine.weights_hash:
        raise UserError(f"{where}: tokens made by the weights of {info.model_dir} (weights hash {info.weights_hash}) "
                        f"cannot be decoded with the other weights of {model_dir} ({mine.weights_hash}); decode with "
                        "the model that made them, or tokenize again")
    if info.config_hash != mine.config_hash:
        log.warning("%s: tokens come from config %s (%s), decoding with %s", where, info.config_hash,
                    info.model_dir, mine.config_hash)


def check_all_tokens(tokens: TokenSet) -> None:
    """Read every utterance's tokens and check shapes and vocabulary ranges before anything is decoded, so that a
    truncated ark or an out-of-range token stops the run before any output is written (a UserError naming it)."""
    for utt in tokens.utt_ids:
        codes = tokens[utt]
        for name, spec in tokens.info.streams.items():
            try:
                check_tokens(name, codes[name], spec, utt)
            except ValueError as err:
                raise UserError(f"{tokens.codes_dir / (name + '.scp')}: {err}") from None


def decode_dir(model: Codec, tokens: TokenSet, wav_dir: Path, batch_size: int, dtype: str,
               device: str) -> dict[str, float]:
    """Decode every utterance not yet on disk into `wav_dir/<utt>.wav`.

    Returns:
        utt -> compute seconds (including utterances decoded by an earlier, interrupted run).
    """
    partial = wav_dir / PARTIAL_RTF
    times = {k: float(v) for k, v in read_table(partial).items()} if partial.is_file() else {}
    todo = [u for u in tokens.utt_ids if not (u in times and (wav_dir / f"{u}.wav").is_file())]
    if len(todo) < len(tokens):
        log.info("resuming: %d of %d utterances already decoded", len(tokens) - len(todo), len(tokens))
    todo.sort(key=lambda u: tokens.info.num_frames(tokens[u]))  # similar lengths batch with little padding
    wav_dir.mkdir(parents=True, exist_ok=True)
    with open(partial, "a", encoding="utf-8") as log_rtf:
        for start in tqdm(range(0, len(todo), batch_size), desc=str(wav_dir), mininterval=5, unit="batch"):
            utts = todo[start:start + batch_size]
            t0 = time.perf_counter()
            wavs = decode_batch(model, [tokens[u] for u in utts], dtype, device)
            seconds = (time.perf_counter() - t0) / len(utts)
            for utt, wav in zip(utts, wavs):
                if not np.isfinite(wav).all():
                    raise UserError(f"{utt}: decoding gave {wav.size - np.count_nonzero(np.isfinite(wav))} NaN or "
                                    f"infinite samples (dtype {dtype}); nothing written for it")
                write_wav(wav_dir / f"{utt}.wav", wav, model.sample_rate)
                times[utt] = seconds
                log_rtf.write(f"{utt} {seconds:.4f}\n")
                log_rtf.flush()
    return times


def audio_seconds(tokens: TokenSet) -> float:
    """Seconds of audio that a codes dir decodes to."""
    return sum(tokens.info.num_frames(tokens[u]) for u in tokens.utt_ids) / tokens.info.frame_rate
