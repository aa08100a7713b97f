"""Benchmark MARS6 decoding at batch 1 (random weights; default the full ~67 M configuration): global steps/s with
and without KV caches, and the MARS6 + SNAC 24 kHz RTF of 10 s of speech (tts_codec.benchmark.mars6).

Paths run interleaved in one process, so compare their ratios; write the machine load beside absolute figures.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Sequence

import torch

from tts_codec.atomic import atomic_write
from tts_codec.benchmark.mars6 import BANDWIDTH, PATHS, add_rtf, measure, snac_decode_seconds, to_markdown
from tts_codec.benchmark.timing import cpu_note, machine_line
from tts_codec.cli import new_parser, non_negative_int, positive_float, positive_int, run_main, str2bool
from tts_codec.config import load_config
from tts_codec.errors import UserError


def main(argv: Sequence[str] | None = None) -> int:
    parser = new_parser(__doc__)
    parser.add_argument("--config", default="conf/lm/mars6_full.yaml", help="MARS6 config (its lm_conf)")
    parser.add_argument("--dtypes", nargs="+", default=["float32"], choices=["float32", "bfloat16"])
    parser.add_argument("--paths", nargs="+", default=list(PATHS), choices=list(PATHS))
    parser.add_argument("--steps", type=positive_int, default=117, help="global steps per cached run (117 = 10 s)")
    parser.add_argument("--uncached_steps", type=positive_int, default=40, help="global steps per uncached run")
    parser.add_argument("--runs", type=positive_int, default=3, help="timed runs (median)")
    parser.add_argument("--warmup", type=non_negative_int, default=1)
    parser.add_argument("--threads", type=positive_int, default=2, help="torch CPU threads")
    parser.add_argument("--bandwidth", type=positive_float, default=BANDWIDTH, help="bytes/s of the roofline")
    parser.add_argument("--snac", type=str2bool, default=True, help="also time SNAC 24 kHz decoding (RTF)")
    parser.add_argument("--out", default="exp/benchmark/mars6", help="writes OUT.md and OUT.json")
    args = parser.parse_args(argv)

    from tts_codec.lm.mars6.config import Mars6Config

    if not Path(args.config).is_file():
        raise UserError(f"--config {args.config}: no such file")
    conf = dict(load_config(args.config).get("lm_conf") or {})
    conf["text_vocab"] = conf.get("text_vocab") or 512
    cfg = Mars6Config.from_dict(conf)
    torch.set_num_threads(args.threads)
    rows = []
    for dtype in args.dtypes:
        rows += measure(cfg, dtype, args.steps, args.uncached_steps, args.runs, args.warmup,
                        paths=tuple(args.paths), bandwidth=args.bandwidth)
    snac = snac_decode_seconds(reference="uncached" in args.paths) if args.snac else None
    add_rtf(rows, snac)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(out.with_suffix(".json")) as handle:
        json.dump({"config": args.config, "threads": args.threads, "rows": rows, "snac_decode_10s": snac,
                   **cpu_note()}, handle, indent=2)
    text = to_markdown(rows, snac) + machine_line() + "\n"
    with atomic_write(out.with_suffix(".md")) as handle:
        handle.write(text)
    print(text)
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
