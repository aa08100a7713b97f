"""Benchmark Spark LM decoding (random weights, Qwen2.5-0.5B shape, vocab 166,000) and the clone pipeline RTF.

Each dtype runs in a fresh subprocess (`--isolate true`), so one 0.5B model is in memory at a time and peak memory
(ru_maxrss of that process) is its own; the codec parts of the clone pipeline run in a third one. Within a process
the decoding paths are timed interleaved (tts_codec.benchmark.spark_lm): compare the ratios of one run, and note
the machine load beside absolute figures.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Sequence

import torch

from tts_codec.atomic import atomic_write
from tts_codec.benchmark.spark_lm import ANCHORS, BANDWIDTH, PATHS, add_clone_rtf, codec_times, measure, to_markdown
from tts_codec.benchmark.timing import cpu_note, matvec_bandwidth
from tts_codec.cli import new_parser, positive_int, run_main, str2bool
from tts_codec.errors import UserError


def get_parser() -> argparse.ArgumentParser:
    parser = new_parser(__doc__)
    parser.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"], choices=["float32", "bfloat16"])
    parser.add_argument("--paths", nargs="+", default=list(PATHS), choices=PATHS, help="decoding paths to time")
    parser.add_argument("--batch_sizes", nargs="+", type=positive_int, default=[1, 4])
    parser.add_argument("--prompt_tokens", type=positive_int, default=570, help="prompt length of the timed runs")
    parser.add_argument("--clone_prompt_tokens", type=positive_int, default=570,
                        help="prompt B of a 10 s reference (500 semantic + text, globals, markers): clone RTF prefill")
    parser.add_argument("--new_tokens", type=positive_int, default=32, help="tokens generated per timed run")
    parser.add_argument("--runs", type=positive_int, default=3, help="timed runs (median) after --warmup runs")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=positive_int, default=2, help="torch CPU threads")
    parser.add_argument("--bandwidth", type=float, default=BANDWIDTH, help="bytes/s of the roofline")
    parser.add_argument("--measure_bandwidth", type=str2bool, default=True,
                        help="also time a large fp32 matrix-vector product here (roofline_pct_here)")
    parser.add_argument("--layers", type=positive_int, help="fewer LM layers (quick smoke runs only)")
    parser.add_argument("--pipeline", type=str2bool, default=True, help="also time the codec parts (clone RTF)")
    parser.add_argument("--codec_config", default="conf/codec/bicodec_official.yaml", help="codec shapes")
    parser.add_argument("--seconds", type=float, default=10.0, help="reference and speech length (clone RTF)")
    parser.add_argument("--codec_seconds", type=float, default=10.0, help="audio of the codec timings (scaled)")
    parser.add_argument("--speech_tokens", type=positive_int, default=500, help="LM tokens of --seconds of speech")
    parser.add_argument("--isolate", type=str2bool, default=True, help="one fresh subprocess per dtype")
    parser.add_argument("--out", default="exp/benchmark/spark_lm", help="writes OUT.md and OUT.json")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    return parser


def worker(spec: dict) -> object:
    return codec_times(spec) if spec.get("part") == "codec" else measure(spec)


def run(spec: dict, isolate: bool) -> object:
    """`worker(spec)` here, or in a fresh interpreter so that its peak memory is its own."""
    if not isolate:
        return worker(spec)
    proc = subprocess.run([sys.executable, "-m", "tts_codec.bin.benchmark_spark_lm", "--worker", json.dumps(spec)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark worker failed for {spec}:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def check_args(args: argparse.Namespace) -> None:
    if args.pipeline and not Path(args.codec_config).is_file():
        raise UserError(f"--codec_config {args.codec_config}: no such file")
    for name in ("seconds", "codec_seconds", "bandwidth"):
        if not getattr(args, name) > 0:  # `not >` also refuses nan
            raise UserError(f"--{name} must be > 0, got {getattr(args, name)}")
    if args.warmup < 0:
        raise UserError(f"--warmup must be >= 0, got {args.warmup}")
    if args.new_tokens < 2:
        raise UserError(f"--new_tokens must be >= 2 (tokens/s excludes the first), got {args.new_tokens}")


def main(argv: Sequence[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0
    check_args(args)
    common = dict(runs=args.runs, warmup=args.warmup, threads=args.threads)
    measured = matvec_bandwidth(args.threads) if args.measure_bandwidth else None
    rows = []
    for dtype in args.dtypes:
        spec = dict(common, dtype=dtype, paths=args.paths, batch_sizes=args.batch_sizes, layers=args.layers,
                    prompt_tokens=args.prompt_tokens, new_tokens=args.new_tokens, bandwidth=args.bandwidth,
                    measured_bandwidth=measured)
        rows += run(spec, args.isolate)
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    codec = None
    if args.pipeline:
        codec = run(dict(common, part="codec", codec_config=args.codec_config, seconds=args.codec_seconds),
                    args.isolate)
        add_clone_rtf(rows, codec, args.speech_tokens, args.seconds, args.clone_prompt_tokens)
    meta = {"threads": args.threads, "torch": torch.__version__, "load_average": os.getloadavg(),
            "official_anchors": ANCHORS, "codec_s": codec, "speech_tokens": args.speech_tokens,
            "layers": args.layers or 24, "memory": "ru_maxrss of the fresh process of each dtype",
            "measured_bandwidth_gb_s": measured and round(measured / 1e9, 2), **cpu_note()}
    out = Path(args.out)
    with atomic_write(out.with_suffix(".json")) as handle:
        handle.write(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    table = to_markdown(rows) + (f"\nload average {os.getloadavg()}; codec parts (s): {codec}; measured bandwidth "
                                 f"{meta['measured_bandwidth_gb_s']} GB/s; {meta['cpu_capability']}: {meta['bf16']}\n")
    with atomic_write(out.with_suffix(".md")) as handle:
        handle.write(table)
    print(table)
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
