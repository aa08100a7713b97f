"""Benchmark BiCodec inference (random weights of the config's shapes): tokenize with and without SSL, detokenize.

Each configuration runs in a fresh subprocess (`--isolate true`) so its peak memory is its own: CPU peak memory is
`resource.getrusage(RUSAGE_SELF).ru_maxrss` of that process (weights + torch runtime included), CUDA peak memory is
`torch.cuda.max_memory_allocated`. Times are medians of `--runs` runs after one warm-up, under
torch.inference_mode() with weight norm removed. `speedup` = official anchor time (performance.md, per 10 s at
batch 1, scaled to the batch's audio) / measured time. bf16 rows also report agreement with the fp32 path: PESQ
(fp32 output as reference) for decode, the fraction of equal semantic tokens for tokenize.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

import torch

from tts_codec.atomic import atomic_write
from tts_codec.cli import new_parser, run_main, str2bool
from tts_codec.codecs import build_codec
from tts_codec.codecs.bicodec import SSLFeatureExtractor
from tts_codec.codecs.inference import precision, prepare_for_inference
from tts_codec.config import load_config
from tts_codec.errors import UserError

# Official timings per 10 s of audio at batch 1 (performance.md); tokenize_ssl = 16-layer wav2vec2 + tokenize.
ANCHORS = {"tokenize": 0.24, "tokenize_ssl": 1.87 + 0.24, "decode": 6.27}
# wav2vec2-large-xlsr-53 shapes for a randomly initialised SSL extractor (only the 16 needed layers are built).
XLSR53 = dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
              feat_extract_norm="layer", do_stable_layer_norm=True, conv_bias=True)
COLUMNS = ["task", "device", "fast", "batch", "dtype", "seconds", "rtf", "x_real_time", "peak_mem_mb", "anchor_s",
           "speedup", "agreement", "runs"]


def build(spec: dict) -> torch.nn.Module:
    """The codec of spec["config"] with seeded random weights, prepared for inference."""
    cfg = load_config(spec["config"])
    if cfg["ssl_conf"].get("type") == "wav2vec2" and not cfg["ssl_conf"].get("model_dir"):
        cfg["ssl_conf"]["random_init"] = XLSR53
    torch.manual_seed(0)
    model = build_codec(cfg)
    if spec["task"] == "tokenize_ssl":
        model.set_ssl_extractor(SSLFeatureExtractor.from_config(cfg))
    return prepare_for_inference(model, spec["device"], spec["fast"])


def make_call(model, spec: dict):
    """A zero-argument callable running the task once on seeded random input; returns its output tensor."""
    gen = torch.Generator().manual_seed(0)
    batch, frames, dev = spec["batch"], int(spec["seconds"] * model.sample_rate) // model.hop_length, spec["device"]
    if spec["task"] == "decode":
        sem = torch.randint(0, model.codebook_size, (batch, frames), generator=gen).to(dev)
        glob = torch.randint(0, model.global_codebook_size, (batch, 1, model.num_global_tokens), generator=gen).to(dev)
        return lambda: model.detokenize(sem, glob)
    wav = (0.1 * torch.randn(batch, frames * model.hop_length, generator=gen)).to(dev)
    if spec["task"] == "tokenize_ssl":
        return lambda: model.tokenize(wav)[0]
    feats = torch.randn(batch, frames - 1, model.ssl_dim, generator=gen).to(dev)
    return lambda: model.tokenize(wav, ssl_feats=feats)[0]


def agreement(task: str, out: torch.Tensor, ref: torch.Tensor, sample_rate: int) -> float | None:
    """bf16 vs fp32: PESQ (wide band) of the first decoded utterance, or the share of equal tokens."""
    if task != "decode":
        return float((out == ref).float().mean())
    from pesq import pesq

    try:
        return float(pesq(sample_rate, ref[0, 0].float().cpu().numpy(), out[0, 0].float().cpu().numpy(), "wb"))
    except Exception as err:  # noqa: BLE001 - pesq raises its own types for silent or too short signals
        print(f"pesq failed: {err}", file=sys.stderr)
        return None


def measure(spec: dict) -> dict:
    """Run one configuration in this process and return its table row."""
    torch.set_num_threads(spec["threads"])
    model, cuda = build(spec), spec["device"].startswith("cuda")
    call = make_call(model, spec)
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    times = []
    with torch.inference_mode(), precision(spec["dtype"], spec["device"]):
        for i in range(spec["warmup"] + spec["runs"]):
            sync()
            start = time.perf_counter()
            out = call()
            sync()
            times.append(time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    agree = None
    if spec["dtype"] != "float32":
        with torch.inference_mode():
            agree = agreement(spec["task"], out, call(), model.sample_rate)
    seconds = statistics.median(times[spec["warmup"]:])
    audio = spec["batch"] * spec["seconds"]
    anchor = spec["anchor_10s"] * audio / 10.0
    return {**{k: spec[k] for k in ("task", "device", "fast", "batch", "dtype", "runs")}, "seconds": round(seconds, 4),
            "rtf": round(seconds / audio, 4), "x_real_time": round(audio / seconds, 2), "peak_mem_mb": round(peak, 1),
            "anchor_s": round(anchor, 3), "speedup": round(anchor / seconds, 2),
            "agreement": None if agree is None else round(agree, 4)}


def run_isolated(spec: dict) -> dict:
    """`measure` in a fresh interpreter, so ru_maxrss is this configuration's peak alone."""
    proc = subprocess.run([sys.executable, "-m", "tts_codec.bin.benchmark_bicodec", "--worker", json.dumps(spec)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark worker failed for {spec}:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def to_markdown(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join("" if r[c] is None else str(r[c]) for c in COLUMNS) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = new_parser(__doc__)
    parser.add_argument("--config", default="conf/codec/bicodec_official.yaml", help="codec config (shapes)")
    parser.add_argument("--tasks", nargs="+", default=["tokenize", "tokenize_ssl", "decode"], choices=sorted(ANCHORS))
    parser.add_argument("--batch_sizes", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"], choices=["float32", "bfloat16"])
    parser.add_argument("--devices", nargs="+", default=["cpu", "cuda"], help="cuda rows only when available")
    parser.add_argument("--compare_fast", type=str2bool, default=True, help="also time CPU decode with CachedSnake")
    parser.add_argument("--seconds", type=float, default=10.0, help="audio length per utterance")
    parser.add_argument("--runs", type=int, default=3, help="timed runs (median) after --warmup runs")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--anchor_decode_s", type=float, default=ANCHORS["decode"], help="official decode time "
                        "for 10 s measured on this machine (default: performance.md)")
    parser.add_argument("--isolate", type=str2bool, default=True, help="one fresh subprocess per configuration")
    parser.add_argument("--out", default="exp/benchmark/bicodec", help="writes OUT.md and OUT.json")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(measure(json.loads(args.worker))))
        return 0
    if args.runs < 1 or not Path(args.config).is_file():
        raise UserError(f"--runs must be >= 1 and --config must exist (got {args.runs}, {args.config})")
    anchors = {**ANCHORS, "decode": args.anchor_decode_s}
    devices = [d for d in args.devices if d == "cpu" or (d.startswith("cuda") and torch.cuda.is_available())]
    specs = [dict(task=t, device=dev, fast=False, batch=b, dtype=dt, config=args.config, seconds=args.seconds,
                  runs=args.runs, warmup=args.warmup, threads=args.threads, anchor_10s=anchors[t])
             for t in args.tasks for dev in devices for b in args.batch_sizes for dt in args.dtypes]
    if args.compare_fast:
        specs += [dict(s, fast=True) for s in specs if s["task"] == "decode" and s["device"] == "cpu"]
    rows = []
    for spec in specs:
        rows.append(run_isolated(spec) if args.isolate else measure(spec))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    out = Path(args.out)
    meta = {"config": args.config, "threads": args.threads, "seconds": args.seconds, "torch": torch.__version__,
            "anchors_per_10s": anchors, "memory": "ru_maxrss of a fresh process (CPU); torch.cuda.max_memory_allocated"}
    with atomic_write(out.with_suffix(".json")) as handle:
        handle.write(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    with atomic_write(out.with_suffix(".md")) as handle:
        handle.write(to_markdown(rows))
    print(to_markdown(rows))
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
