"""Our BiCodec side by side with the official Spark-TTS code holding the same random weights, in one process.

Reports token equality (tokenize on the same SSL features and reference clip), the largest waveform difference of
each of our inference variants against the official decode of the same tokens, and decode (and tokenize) timings
measured in interleaved rounds (medians and minimums), so that machine noise hits both sides alike.
"""
from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Sequence

import torch

from tts_codec.benchmark.bicodec import build_random, decode_inputs, tokenize_inputs
from tts_codec.benchmark.official_bicodec import check_repo, official_copy
from tts_codec.benchmark.timing import Timing, interleaved
from tts_codec.codecs.inference import precision, prepare_for_inference

#: our inference variants: name -> (dtype, CachedSnake)
VARIANTS = {"fp32": ("float32", False), "fp32_fast": ("float32", True), "bf16_fast": ("bfloat16", True)}


def checkout_commit(repo: str | Path) -> str:
    """`git rev-parse --short HEAD` of the checkout, or a note that it is not a git checkout."""
    proc = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                          check=False)
    return proc.stdout.strip() if proc.returncode == 0 else "unknown (not a git checkout)"


def run_parity(config: str, repo: str | Path, seconds: float = 10.0, runs: int = 5, warmup: int = 1,
               threads: int = 2, variants: Sequence[str] = tuple(VARIANTS), seed: int = 0) -> dict:
    """Build both models, compare tokens and waveforms, time them interleaved; returns a JSON-able report."""
    torch.set_num_threads(threads)
    raw = build_random(config, "decode", seed)
    official = official_copy(raw, repo)
    last = len(variants) - 1  # the last variant takes `raw` itself: one model copy less in memory
    ours = {name: prepare_for_inference(copy.deepcopy(raw) if i < last else raw, "cpu", VARIANTS[name][1])
            for i, name in enumerate(variants)}
    with torch.inference_mode():
        tokens, tokenize_times = _tokenize(raw, official, ours, seconds, runs, warmup, seed)
        decode = _decode(raw, official, ours, seconds, runs, warmup, seed)
    return {"config": config, "official_repo": str(check_repo(repo)), "official_commit": checkout_commit(repo),
            "torchaudio": getattr(sys.modules.get("torchaudio"), "__doc__", None) or "torchaudio",
            "torch": torch.__version__, "threads": threads, "seconds": seconds, "batch": 1, "runs": runs,
            "warmup": warmup, "seed": seed, "tokens": tokens, "tokenize": tokenize_times, **decode}


def _tokenize(raw, official, ours: dict, seconds, runs, warmup, seed) -> tuple[dict, list[dict]]:
    """Token equality and tokenize timings, in fp32 (the variants differ only in how the decoder runs)."""
    model = next(iter(ours.values()))
    wav, feats, ref = tokenize_inputs(raw, 1, seconds, seed=seed)
    timings, out = interleaved({"official": lambda: official.tokenize({"feat": feats, "ref_wav": ref}),
                                "ours": lambda: model.tokenize(wav, ref_wav=ref, ssl_feats=feats)}, runs, warmup)
    (sem_o, glob_o), (sem, glob) = out["official"], out["ours"]
    tokens = {"semantic_equal": int((sem == sem_o).sum()), "semantic_total": sem.numel(),
              "global_equal": int((glob == glob_o.reshape(glob.shape)).sum()), "global_total": glob.numel()}
    return tokens, [_row(name, t, timings["official"]) for name, t in timings.items()]


def _decode(raw, official, ours: dict, seconds, runs, warmup, seed) -> dict:
    sem, glob = decode_inputs(raw, 1, seconds, seed=seed)

    def call(name):
        def run():
            with precision(VARIANTS[name][0]):
                return ours[name].detokenize(sem, glob)
        return run

    calls = {"official": lambda: official.detokenize(sem, glob), **{f"ours {n}": call(n) for n in ours}}
    timings, out = interleaved(calls, runs, warmup)
    rows = []
    for name, timing in timings.items():
        row = _row(name, timing, timings["official"])
        row["max_abs_diff"] = float((out[name].float() - out["official"]).abs().max())
        rows.append(row)
    return {"decode": rows, "official_peak_abs": float(out["official"].abs().max())}


def _row(name: str, timing: Timing, official: Timing) -> dict:
    return {"name": name, "median_s": round(timing.median, 4), "min_s": round(timing.minimum, 4),
            "speedup_median": round(official.median / timing.median, 3),
            "speedup_min": round(official.minimum / timing.minimum, 3)}


def format_report(report: dict) -> str:
    """The report as text: settings, token equality, and Markdown tables of the timings."""
    tok = report["tokens"]
    lines = [f"BiCodec parity: tts_codec vs official Spark-TTS {report['official_commit']} ({report['official_repo']})",
             f"config {report['config']}, the same random weights (seed {report['seed']}) in both; "
             f"{report['seconds']:g} s of audio, batch 1, {report['threads']} threads, torch {report['torch']}; "
             f"{report['runs']} interleaved runs after {report['warmup']} warm-up",
             f"torchaudio: {report['torchaudio']}",
             f"tokens: semantic {tok['semantic_equal']}/{tok['semantic_total']} equal, "
             f"global {tok['global_equal']}/{tok['global_total']} equal",
             "", "| tokenize (no SSL) | median s | min s | speed-up (median) | speed-up (min) |",
             "|---|---|---|---|---|"]
    lines += [f"| {r['name']} | {r['median_s']} | {r['min_s']} | {r['speedup_median']} | {r['speedup_min']} |"
              for r in report["tokenize"]]
    lines += ["", f"| decode | median s | min s | speed-up (median) | speed-up (min) | max abs diff to official "
              f"(official peak {report['official_peak_abs']:.3g}) |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['name']} | {r['median_s']} | {r['min_s']} | {r['speedup_median']} | {r['speedup_min']} | "
              f"{r['max_abs_diff']:.3g} |" for r in report["decode"]]
    return "\n".join(lines) + "\n"
