"""Recipe stage 7a: resynthesise a codes dir with its codec: `<out_dir>/wav/<utt>.wav`, `wav/wav.scp`, `rtf`.

`rtf` holds `utt seconds` (decode compute time per utterance). Each wav is written atomically, so an interrupted
run resumes where it stopped; a finished out_dir (wav.scp present) is skipped unless `--overwrite true`.
"""
from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Sequence

from tqdm import tqdm

from tts_codec.cli import new_parser, run_main, str2bool
from tts_codec.codecs.inference import DTYPES, add_inference_args, apply_inference_args, detokenize_batch, load_codec
from tts_codec.data.token_file import TokenSet, bicodec_info, load_tokens
from tts_codec.data.audio import write_wav
from tts_codec.data.table import read_table, write_table
from tts_codec.errors import UserError

log = logging.getLogger("codec_decode")
PARTIAL_RTF = ".rtf.partial"  # per-utterance timings of an unfinished run, appended as wavs are written


def check_compatible(tokens: TokenSet, model, model_dir: str) -> None:
    """Tokens must fit the model's vocabularies; another config (hash) only warns (e.g. an LM's tokens)."""
    info, mine = tokens.info, bicodec_info(model, model_dir)
    where = tokens.codes_dir / "codes_info.json"
    if info.codec != mine.codec or info.streams != mine.streams or info.hop_length != mine.hop_length:
        raise UserError(f"{where}: tokens of {info.codec} {dict(info.streams)} do not fit the model in {model_dir} "
                        f"({mine.codec} {dict(mine.streams)})")
    if info.config_hash != mine.config_hash:
        log.warning("%s: tokens come from config %s (%s), decoding with %s", where, info.config_hash,
                    info.model_dir, mine.config_hash)


def decode_dir(model, tokens: TokenSet, wav_dir: Path, batch_size: int, dtype: str, device: str) -> dict[str, float]:
    """Decode every utterance not yet on disk; returns utt -> compute seconds (including resumed ones)."""
    partial = wav_dir / PARTIAL_RTF
    times = {k: float(v) for k, v in read_table(partial).items()} if partial.is_file() else {}
    todo = [u for u in tokens.utt_ids if not (u in times and (wav_dir / f"{u}.wav").is_file())]
    if len(todo) < len(tokens):
        log.info("resuming: %d of %d utterances already decoded", len(tokens) - len(todo), len(tokens))
    todo.sort(key=lambda u: len(tokens[u]["semantic"]))  # similar lengths batch with little padding
    wav_dir.mkdir(parents=True, exist_ok=True)
    with open(partial, "a", encoding="utf-8") as log_rtf:
        for start in tqdm(range(0, len(todo), batch_size), desc=str(wav_dir), mininterval=5, unit="batch"):
            utts = todo[start:start + batch_size]
            t0 = time.perf_counter()
            wavs = detokenize_batch(model, [tokens[u] for u in utts], dtype, device)
            seconds = (time.perf_counter() - t0) / len(utts)
            for utt, wav in zip(utts, wavs):
                write_wav(wav_dir / f"{utt}.wav", wav, model.sample_rate)
                times[utt] = seconds
                log_rtf.write(f"{utt} {seconds:.4f}\n")
                log_rtf.flush()
    return times


def main(argv: Sequence[str] | None = None) -> int:
    parser = new_parser(__doc__)
    add_inference_args(parser)
    parser.add_argument("--codes_dir", required=True, help="codes dir from codec_tokenize (or merge_scp)")
    parser.add_argument("--out_dir", required=True, help="decode dir (exp/codec_<tag>/decode_<set>)")
    parser.add_argument("--dtype", default="float32", choices=sorted(DTYPES), help="autocast precision")
    parser.add_argument("--overwrite", type=str2bool, default=False, help="redo a finished out_dir")
    args = parser.parse_args(argv)
    apply_inference_args(args)
    tokens = load_tokens(args.codes_dir)
    if not len(tokens):
        raise UserError(f"{args.codes_dir}: no utterances to decode")
    wav_dir = Path(args.out_dir) / "wav"
    if (wav_dir / "wav.scp").is_file():
        if not args.overwrite:
            log.info("%s exists; skipping (pass --overwrite true to redo)", wav_dir / "wav.scp")
            return 0
        (wav_dir / "wav.scp").unlink()
        (wav_dir / PARTIAL_RTF).unlink(missing_ok=True)
    model = load_codec(args.model_dir, args.device)
    check_compatible(tokens, model, args.model_dir)
    times = decode_dir(model, tokens, wav_dir, args.batch_size, args.dtype, args.device)
    write_table(Path(args.out_dir) / "rtf", {u: f"{times[u]:.4f}" for u in tokens.utt_ids})
    write_table(wav_dir / "wav.scp", {u: str(wav_dir / f"{u}.wav") for u in tokens.utt_ids})
    (wav_dir / PARTIAL_RTF).unlink(missing_ok=True)
    audio_s = sum(len(tokens[u]["semantic"]) for u in tokens.utt_ids) / tokens.info.frame_rate
    log.info("decoded %d utterances (%.1f s of audio) into %s; RTF %.3f", len(tokens), audio_s, wav_dir,
             sum(times.values()) / max(audio_s, 1e-9))
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
