"""Benchmark BiCodec inference (random weights of the config's shapes): tokenize with and without SSL, detokenize.

Each configuration runs in a fresh subprocess (`--isolate true`) so its peak memory is its own: CPU peak memory is
`resource.getrusage(RUSAGE_SELF).ru_maxrss` of that process (weights + torch runtime included; with
--official_repo the official copy of the model too), CUDA peak memory is `torch.cuda.max_memory_allocated`.
`speedup` = anchor / our time; the anchor is the official code timed in the same run, interleaved with ours, when
--official_repo gives a Spark-TTS checkout (decode and tokenize rows), else performance.md's documented official
time; the `anchor_source` column says which (tts_codec.benchmark.bicodec).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

import torch

from tts_codec.benchmark.bicodec import ANCHORS, DOCUMENTED, measure, to_markdown
from tts_codec.benchmark.timing import run_worker, write_report
from tts_codec.cli import (new_parser, non_negative_int, positive_float, positive_int, run_main,
                           str2bool)
from tts_codec.devices import resolve_device
from tts_codec.errors import UserError


def get_parser() -> argparse.ArgumentParser:
    parser = new_parser(__doc__)
    parser.add_argument("--config", default="conf/codec/bicodec_official.yaml", help="codec config (shapes)")
    parser.add_argument("--tasks", nargs="+", default=["tokenize", "tokenize_ssl", "decode"], choices=sorted(ANCHORS))
    parser.add_argument("--batch_sizes", nargs="+", type=positive_int, default=[1, 8])
    parser.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"], choices=["float32", "bfloat16"])
    parser.add_argument("--devices", nargs="+", default=["cpu", "cuda"], help="cuda rows only when available")
    parser.add_argument("--compare_fast", type=str2bool, default=True, help="also time CPU decode with CachedSnake")
    parser.add_argument("--compare_channels_last", type=str2bool, default=True,
                        help="also time CPU decode with CachedSnake and channels-last conv stacks")
    parser.add_argument("--seconds", type=positive_float, default=10.0, help="audio length per utterance")
    parser.add_argument("--runs", type=positive_int, default=3, help="timed runs (median) after --warmup runs")
    parser.add_argument("--warmup", type=non_negative_int, default=1)
    parser.add_argument("--threads", type=positive_int, default=2, help="torch CPU threads")
    parser.add_argument("--official_repo", help="Spark-TTS checkout: time the official code beside ours (needs "
                        "omegaconf and einx; see tools/parity/bicodec.py)")
    parser.add_argument("--anchor_decode_s", type=positive_float, help="without --official_repo: the official decode "
                        f"time for 10 s measured on this machine (default: performance.md, {ANCHORS['decode']} s)")
    parser.add_argument("--isolate", type=str2bool, default=True, help="one fresh subprocess per configuration")
    parser.add_argument("--out", default="exp/benchmark/bicodec", help="writes OUT.md and OUT.json")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    return parser


def run_isolated(spec: dict) -> dict:
    """`measure` in a fresh interpreter, so ru_maxrss is this configuration's peak alone."""
    return run_worker("tts_codec.bin.benchmark_bicodec", spec)


def make_specs(args: argparse.Namespace) -> list[dict]:
    """One spec per task x device x batch x dtype (plus CachedSnake and channels-last rows for CPU decode)."""
    anchors, source = dict(ANCHORS), DOCUMENTED
    if args.anchor_decode_s is not None:
        anchors["decode"], source = args.anchor_decode_s, "--anchor_decode_s (given)"
    devices = [d for d in args.devices if d == "cpu" or (d.startswith("cuda") and torch.cuda.is_available())]
    specs = [dict(task=t, device=dev, fast=False, batch=b, dtype=dt, config=args.config, seconds=args.seconds,
                  runs=args.runs, warmup=args.warmup, threads=args.threads, anchor_10s=anchors[t],
                  anchor_source=source if t == "decode" else DOCUMENTED, official_repo=args.official_repo)
             for t in args.tasks for dev in devices for b in args.batch_sizes for dt in args.dtypes]
    cpu_decode = [s for s in specs if s["task"] == "decode" and s["device"] == "cpu"]
    if args.compare_fast:
        specs += [dict(s, fast=True) for s in cpu_decode]
    if args.compare_channels_last:
        specs += [dict(s, fast=True, channels_last=True) for s in cpu_decode]
    return specs


def main(argv: Sequence[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    if args.worker:
        print(json.dumps(measure(json.loads(args.worker))))
        return 0
    if not Path(args.config).is_file():
        raise UserError(f"--config {args.config}: no such file")
    args.devices = [d.strip().lower() for d in args.devices]
    for device in args.devices:
        if not device.startswith("cuda"):  # cuda rows are skipped on machines without CUDA
            resolve_device(device, "--devices")
    if args.official_repo:
        from tts_codec.benchmark.official_bicodec import check_repo, missing_requirements

        check_repo(args.official_repo)
        if missing_requirements():
            raise UserError(f"--official_repo needs {', '.join(missing_requirements())}: pip install "
                            f"{' '.join(missing_requirements())} (not a tts_codec dependency)")
    specs = make_specs(args)
    if not specs:
        raise UserError(f"--devices {' '.join(args.devices)}: none is available here (cuda rows need a CUDA device)")
    rows = []
    for spec in specs:
        rows.append(run_isolated(spec) if args.isolate else measure(spec))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    out = Path(args.out)
    meta = {"config": args.config, "threads": args.threads, "seconds": args.seconds, "torch": torch.__version__,
            "official_repo": args.official_repo, "documented_anchors_per_10s": ANCHORS,
            "memory": "ru_maxrss of a fresh process (CPU); torch.cuda.max_memory_allocated"}
    write_report(out, meta, rows, to_markdown(rows))
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
