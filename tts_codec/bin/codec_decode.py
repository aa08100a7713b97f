"""Recipe stage 7a: resynthesise a codes dir with its codec: `<out_dir>/wav/<utt>.wav`, `wav/wav.scp`, `rtf`.

`rtf` holds `utt seconds` (decode compute time per utterance). Each wav is written atomically, so an interrupted
run resumes where it stopped; a finished out_dir (wav.scp present) is skipped unless `--overwrite true`.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Sequence

from tts_codec.cli import new_parser, run_main, str2bool
from tts_codec.codecs.inference import DTYPES, add_inference_args, apply_inference_args, load_codec
from tts_codec.codecs.runner import PARTIAL_RTF, audio_seconds, check_all_tokens, check_compatible, decode_dir
from tts_codec.data.table import write_table
from tts_codec.data.token_file import load_tokens
from tts_codec.errors import UserError

log = logging.getLogger("codec_decode")


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
    if (wav_dir / "wav.scp").is_file() and not args.overwrite:
        log.info("%s exists; skipping (pass --overwrite true to redo)", wav_dir / "wav.scp")
        return 0
    model = load_codec(args.model_dir, args.device)
    check_compatible(tokens, model, args.model_dir)  # before a finished output is given up
    check_all_tokens(tokens)
    if (wav_dir / "wav.scp").is_file():
        (wav_dir / "wav.scp").unlink()
        (wav_dir / PARTIAL_RTF).unlink(missing_ok=True)
    times = decode_dir(model, tokens, wav_dir, args.batch_size, args.dtype, args.device)
    write_table(Path(args.out_dir) / "rtf", {u: f"{times[u]:.4f}" for u in tokens.utt_ids})
    write_table(wav_dir / "wav.scp", {u: str(wav_dir / f"{u}.wav") for u in tokens.utt_ids})
    (wav_dir / PARTIAL_RTF).unlink(missing_ok=True)
    audio_s = audio_seconds(tokens)
    log.info("decoded %d utterances (%.1f s of audio) into %s; RTF %.3f", len(tokens), audio_s, wav_dir,
             sum(times.values()) / max(audio_s, 1e-9))
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
