"""MARS6 decoding speed at batch 1 with random weights of a given configuration (default: the full ~67 M one), and
the MARS6 + SNAC 24 kHz pipeline RTF (performance.md: official 8 global steps/s, target >= 40; RTF <= 0.6).

Paths, timed interleaved (`tts_codec.benchmark.timing`): `cached` = KV caches + restricted head (the default
decoding), `cached_full_head` = KV caches scoring all 12,289 rows, `uncached` = the whole prefix recomputed every
step (the official release's maths), `cached_int8` = `cached` with int8 linear weights (`tts_codec.lm.mars6.int8`,
float32 runs only). Each run makes exactly `steps` global steps (EOS masked): 117 = 10 s of
audio. `roofline_pct` = steps/s over what reading the weights of one step at `bandwidth` allows.
`steps_per_cpu_s` divides by the process CPU time instead of the wall clock: on a loaded machine it estimates the
unloaded figure (with one thread it is the one-core speed; with several it under-states multi-thread speed-ups).
`load_1min` is the machine's 1-minute load average after the timed runs: with 2 threads on 2 cores, any other busy
process makes every parallel kernel wait for a descheduled thread, and the steps/s drop several-fold.

The RTF target is absolute, but machines differ about 2x (performance.md's anchors come from a CPU with bf16 dot
products): with the `uncached` path in the run, `rtf_reference` is the official-style pipeline timed here (prefix
recomputed every step + the `snac` package's own decoder, which `snac_decode_seconds` times beside ours) and
`x_reference` = rtf_reference / rtf, to compare with the target's ratio (official 1.85 / target 0.6 = 3.1x). Our
`uncached` path is already faster than the official code (10.7 against 8.0 steps/s), so x_reference understates
the speed-up.
"""
from __future__ import annotations

import os
import resource
import time

import torch

from tts_codec.benchmark.timing import interleaved
from tts_codec.lm.mars6.config import Mars6Config
from tts_codec.lm.mars6.decoding import DecodeOptions, decode_patches
from tts_codec.lm.mars6.int8 import int8_copy
from tts_codec.lm.mars6.model import Mars6

#: path -> (KV caches, restricted head, int8 weights)
PATHS = {"cached": (True, True, False), "cached_full_head": (True, False, False), "uncached": (False, True, False),
         "cached_int8": (True, True, True)}
OFFICIAL_STEPS_PER_S = 8.0
BANDWIDTH = 13.5e9
SNAC_CONFIG = "conf/codec/snac_24khz.yaml"  # the official 24 kHz shapes
COLUMNS = ["path", "dtype", "steps", "steps_per_s", "steps_per_cpu_s", "x_official", "weights_mb_per_step", "roofline_pct",
           "lm_seconds_10s", "rtf", "rtf_cpu", "rtf_reference", "x_reference", "peak_mem_mb", "load_1min"]
#: performance.md: the official pipeline's RTF and the target (their ratio is the speed-up the target asks for)
OFFICIAL_RTF, TARGET_RTF = 1.85, 0.6


def weights_per_step(model: Mars6, restricted: bool, int8: bool = False) -> int:
    """Bytes of weights one global step reads: the global decoder, then per token the local decoder and head (with
    `int8`, one byte per linear weight, the head's rows included)."""
    size = lambda m: sum(p.numel() * (1 if int8 and p.dim() == 2 else p.element_size())  # noqa: E731
                         for p in m.parameters())
    cfg, head = model.cfg, model.head.weight
    rows = cfg.codebook_size + 1 if restricted else cfg.vocab_size
    local = size(model.local_decoder) + rows * head.shape[1] * (1 if int8 else head.element_size())
    return size(model.global_decoder) + size(model.patch_embed.proj) + cfg.patch_size * local


def build(cfg: Mars6Config, dtype: torch.dtype, seed: int = 0) -> Mars6:
    torch.manual_seed(seed)
    return Mars6(cfg).eval().to(dtype)


def measure(cfg: Mars6Config, dtype_name: str, steps: int, uncached_steps: int, runs: int, warmup: int,
            text_tokens: int = 60, paths: tuple[str, ...] = tuple(PATHS), bandwidth: float = BANDWIDTH) -> list[dict]:
    """One dtype: every path, interleaved; rows of COLUMNS (without rtf)."""
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[dtype_name]
    model = build(cfg, dtype)
    paths = tuple(p for p in paths if dtype_name == "float32" or not PATHS[p][2])
    models = {p: (int8_copy(model) if PATHS[p][2] else model) for p in paths}
    gen = torch.Generator().manual_seed(0)
    text = torch.randint(0, cfg.text_vocab, (1, text_tokens), generator=gen)
    speaker = torch.randn(1, cfg.speaker_dim, generator=gen).to(dtype)
    with torch.inference_mode():
        memory = model.encode(text, torch.ones_like(text, dtype=torch.bool), speaker)

    cpu: dict[str, list[float]] = {p: [] for p in paths}

    def call(path: str, use_cache: bool, restrict: bool, int8: bool, n: int):
        options = DecodeOptions(max_steps=n, min_steps=n, use_cache=use_cache, restrict_head=restrict)

        def run() -> int:
            start = time.process_time()
            steps = len(decode_patches(models[path], memory, options, torch.Generator().manual_seed(1)).patches)
            cpu[path].append(time.process_time() - start)
            return steps

        return run

    counts = {p: (steps if PATHS[p][0] else uncached_steps) for p in paths}
    timings, outputs = interleaved({p: call(p, *PATHS[p], counts[p]) for p in paths}, runs, warmup)
    rows = []
    for path in paths:
        if outputs[path] != counts[path]:
            raise RuntimeError(f"{path} made {outputs[path]} steps instead of {counts[path]}")
        rate = counts[path] / timings[path].median
        per_step = weights_per_step(model, PATHS[path][1], int8=PATHS[path][2])
        cpu_s = sorted(cpu[path][warmup:])[len(cpu[path][warmup:]) // 2]
        rows.append({"path": path, "dtype": dtype_name, "steps": counts[path], "steps_per_s": round(rate, 2),
                     "steps_per_cpu_s": round(counts[path] / cpu_s, 2),
                     "x_official": round(rate / OFFICIAL_STEPS_PER_S, 2),
                     "weights_mb_per_step": round(per_step / 1e6, 1),
                     "roofline_pct": round(100 * rate * per_step / bandwidth, 1),
                     "lm_seconds_10s": round(117 / rate, 2),
                     "peak_mem_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                     "load_1min": round(os.getloadavg()[0], 2)})
    return rows


def snac_decode_seconds(seconds: float = 10.0, runs: int = 2, config: str = SNAC_CONFIG,
                        reference: bool = False) -> dict[str, float]:
    """Median wall and CPU seconds of our SNAC 24 kHz decoder as the pipeline runs it (random weights, weight norm
    folded, cached snake: `prepare_for_inference(..., fast=True)`) on `seconds` of codes; with `reference`, also
    the `snac` package's decoder on the same codes (`package_wall`), timed turn by turn with ours."""
    from tts_codec.benchmark.snac import build_pair, random_codes
    from tts_codec.codecs.inference import prepare_for_inference

    ours, package = build_pair(config)
    ours = prepare_for_inference(ours, "cpu", True)
    codes = random_codes(ours, 1, seconds)
    levels = list(codes.values())
    wall, cpu, package_wall = [], [], []
    with torch.inference_mode():
        for _ in range(runs + 1):
            start, start_cpu = time.perf_counter(), time.process_time()
            ours.decode(codes)
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            if reference:
                start = time.perf_counter()
                package.decode(levels)
                package_wall.append(time.perf_counter() - start)
    median = lambda xs: sorted(xs[1:])[len(xs[1:]) // 2]  # noqa: E731  (the first run warms up)
    return {"wall": median(wall), "cpu": median(cpu), **({"package_wall": median(package_wall)} if reference else {})}


def add_rtf(rows: list[dict], snac: dict[str, float] | None) -> None:
    """RTF of 10 s of speech: the path's 117 global steps plus the SNAC decode, over 10 s (wall clock, and from
    CPU times); with an `uncached` row of the same dtype and the package's decode time, `rtf_reference` and
    `x_reference` (module docstring)."""
    if snac is None:
        return
    uncached = {row["dtype"]: row for row in rows if row["path"] == "uncached"}
    for row in rows:
        row["rtf"] = round((row["lm_seconds_10s"] + snac["wall"]) / 10.0, 3)
        row["rtf_cpu"] = round((117 / row["steps_per_cpu_s"] + snac["cpu"]) / 10.0, 3)
        if "package_wall" in snac and row["dtype"] in uncached:
            reference = (uncached[row["dtype"]]["lm_seconds_10s"] + snac["package_wall"]) / 10.0
            row["rtf_reference"] = round(reference, 3)
            row["x_reference"] = round(reference / row["rtf"], 2)


def to_markdown(rows: list[dict], snac: dict[str, float] | None) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join("" if r.get(c) is None else str(r[c]) for c in COLUMNS) + " |" for r in rows]
    if snac is not None:
        lines.append(f"\nSNAC 24 kHz decode of 10 s: {snac['wall']:.2f} s wall, {snac['cpu']:.2f} s CPU "
                     "(target <= 3.0 s)" + (f"; the snac package's decoder {snac['package_wall']:.2f} s (x"
                                             f"{snac['package_wall'] / snac['wall']:.2f})" if "package_wall" in snac
                                             else ""))
        lines.append(f"RTF target {TARGET_RTF} = official {OFFICIAL_RTF} / {OFFICIAL_RTF / TARGET_RTF:.1f}: "
                     "compare x_reference with that ratio on another machine")
    return "\n".join(lines) + "\n"
