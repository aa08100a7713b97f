#!/usr/bin/env python3
"""Parity and speed of tts_codec's BiCodec against the official Spark-TTS code, measured in one run.

  git clone https://github.com/SparkAudio/Spark-TTS /path/to/Spark-TTS   # the official code: never part of tts_codec
  pip install omegaconf einx                                              # what it imports besides torch
  python tools/parity/bicodec.py --official_repo /path/to/Spark-TTS

Both models hold the same random weights of --config's shapes (ours, written in the official layout by
tts_codec.codecs.bicodec.official and loaded by the official loader). Prints token equality, the largest waveform
difference of each of our variants to the official decode, and decode/tokenize timings of interleaved runs
(medians and minimums). torchaudio, which the official code imports for its MelSpectrogram and which does not load
beside torch 2.13, is replaced by a stand-in (tts_codec.benchmark.official_bicodec).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from tts_codec.atomic import atomic_write
from tts_codec.benchmark.official_bicodec import check_repo, missing_requirements
from tts_codec.benchmark.parity import VARIANTS, format_report, run_parity
from tts_codec.cli import new_parser, positive_int, run_main
from tts_codec.errors import UserError

ROOT = Path(__file__).resolve().parents[2]


def get_parser() -> argparse.ArgumentParser:
    parser = new_parser(__doc__)
    parser.add_argument("--official_repo", required=True, help="directory of a SparkAudio/Spark-TTS checkout")
    parser.add_argument("--config", default=str(ROOT / "conf/codec/bicodec_official.yaml"),
                        help="codec config (shapes; official keys only). tools/parity/bicodec_small.yaml is quick")
    parser.add_argument("--seconds", type=float, default=10.0, help="audio length (batch 1)")
    parser.add_argument("--runs", type=positive_int, default=5, help="timed interleaved rounds")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first")
    parser.add_argument("--threads", type=positive_int, default=2, help="torch CPU threads")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS),
                        help="our decode variants: fp32, fp32 with CachedSnake, bf16 autocast with CachedSnake")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights and inputs")
    parser.add_argument("--out", help="also write the report as OUT.json and OUT.md")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    check_repo(args.official_repo)
    missing = missing_requirements()
    if missing:
        raise UserError(f"the official Spark-TTS code imports {', '.join(missing)}: pip install {' '.join(missing)} "
                        "(for this comparison only; not a tts_codec dependency)")
    if not Path(args.config).is_file():
        raise UserError(f"--config {args.config}: no such file")
    if args.seconds <= 0 or args.warmup < 0:
        raise UserError(f"--seconds must be > 0 and --warmup >= 0 (got {args.seconds}, {args.warmup})")
    report = run_parity(args.config, args.official_repo, args.seconds, args.runs, args.warmup, args.threads,
                        args.variants, args.seed)
    text = format_report(report)
    if args.out:
        with atomic_write(Path(args.out).with_suffix(".json")) as handle:
            handle.write(json.dumps(report, indent=1) + "\n")
        with atomic_write(Path(args.out).with_suffix(".md")) as handle:
            handle.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
