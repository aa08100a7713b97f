"""Benchmark SNAC decoding (random weights of the config's shapes): ours against the `snac` package's model.

Each configuration runs in a fresh subprocess (`--isolate true`) so its peak memory (ru_maxrss, both models and the
torch runtime included) is its own. `speedup` = package time / our time, timed interleaved in the same process;
`meets_target` compares our time with performance.md's target (3.0 s per 10 s on 2 cores; the package's own
documented time is 3.85 s). Writes OUT.md and OUT.json (tts_codec.benchmark.snac).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

import torch

from tts_codec.benchmark.snac import OFFICIAL_10S, TARGET_10S, measure, to_markdown
from tts_codec.benchmark.timing import run_worker, write_report
from tts_codec.cli import new_parser, non_negative_int, positive_float, positive_int, run_main, str2bool
from tts_codec.config import load_config
from tts_codec.errors import UserError


def get_parser() -> argparse.ArgumentParser:
    parser = new_parser(__doc__)
    parser.add_argument("--config", default="conf/codec/snac_24khz.yaml", help="SNAC codec config (shapes)")
    parser.add_argument("--batch_sizes", nargs="+", type=positive_int, default=[1])
    parser.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"], choices=["float32", "bfloat16"])
    parser.add_argument("--fast", nargs="+", type=str2bool, default=[False, True],
                        help="rows without and with the fast CPU stand-ins (fused residual units, CachedSnake)")
    parser.add_argument("--compare_channels_last", type=str2bool, default=True,
                        help="also time each fast float32 row channels-last (tts_codec.nn.channels_last)")
    parser.add_argument("--seconds", type=positive_float, default=10.0, help="audio length per utterance")
    parser.add_argument("--runs", type=positive_int, default=3, help="timed runs (median) after --warmup runs")
    parser.add_argument("--warmup", type=non_negative_int, default=1)
    parser.add_argument("--threads", type=positive_int, default=2, help="torch CPU threads")
    parser.add_argument("--isolate", type=str2bool, default=True, help="one fresh subprocess per configuration")
    parser.add_argument("--out", default="exp/benchmark/snac", help="writes OUT.md and OUT.json")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    return parser


def run_isolated(spec: dict) -> dict:
    """`measure` in a fresh interpreter, so ru_maxrss is this configuration's peak alone."""
    return run_worker("tts_codec.bin.benchmark_snac", spec)


def main(argv: Sequence[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    if args.worker:
        print(json.dumps(measure(json.loads(args.worker))))
        return 0
    if not Path(args.config).is_file():
        raise UserError(f"--config {args.config}: no such file")
    if load_config(args.config).get("codec") != "snac":
        raise UserError(f"--config {args.config}: 'codec' is not 'snac' (this benchmark times SNAC only)")
    specs = [dict(config=args.config, fast=fast, batch=b, dtype=dt, seconds=args.seconds, runs=args.runs,
                  warmup=args.warmup, threads=args.threads)
             for b in args.batch_sizes for dt in args.dtypes for fast in dict.fromkeys(args.fast)]
    if args.compare_channels_last:
        specs += [dict(s, channels_last=True) for s in specs if s["fast"] and s["dtype"] == "float32"]
    rows = []
    for spec in specs:
        rows.append(run_isolated(spec) if args.isolate else measure(spec))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    out = Path(args.out)
    meta = {"config": args.config, "threads": args.threads, "seconds": args.seconds, "torch": torch.__version__,
            "documented_package_decode_10s": OFFICIAL_10S, "target_decode_10s": TARGET_10S,
            "memory": "ru_maxrss of the measuring process"}
    write_report(out, meta, rows, to_markdown(rows))
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
