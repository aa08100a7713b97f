"""Interleaved wall-clock timing: several callables measured turn by turn, so machine noise hits all of them alike."""
from __future__ import annotations

import statistics
import time
from typing import Any, Callable, Mapping, NamedTuple


class Timing(NamedTuple):
    """Seconds of each timed run (warm-up excluded), with their median and minimum."""

    times: list[float]
    median: float
    minimum: float


def interleaved(calls: Mapping[str, Callable[[], Any]], runs: int, warmup: int = 1,
                sync: Callable[[], None] = lambda: None) -> tuple[dict[str, Timing], dict[str, Any]]:
    """Time every callable `warmup + runs` times, one round at a time; the order rotates each round.

    Args:
        calls: name -> zero-argument callable (e.g. one decode).
        runs: timed rounds (>= 1); warmup: untimed rounds first.
        sync: called before and after each run (torch.cuda.synchronize on GPU).
    Returns:
        ({name: Timing}, {name: output of its last run}).
    """
    if runs < 1:
        raise ValueError(f"runs must be >= 1, got {runs}")
    names = list(calls)
    times: dict[str, list[float]] = {name: [] for name in names}
    outputs: dict[str, Any] = {}
    for round_ in range(warmup + runs):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            sync()
            start = time.perf_counter()
            outputs[name] = calls[name]()
            sync()
            if round_ >= warmup:
                times[name].append(time.perf_counter() - start)
    return {n: Timing(t, statistics.median(t), min(t)) for n, t in times.items()}, outputs


def matvec_bandwidth(threads: int, megabytes: int = 256, runs: int = 5) -> float:
    """Bytes/s of a large fp32 matrix-vector product measured here (the bandwidth performance.md's rooflines use:
    13.5 GB/s on its reference machine), median of `runs` after one warm-up."""
    import torch

    torch.set_num_threads(threads)
    matrix = torch.randn(megabytes * 2**20 // (4 * 4096), 4096)  # (R, 4096) fp32
    vector = torch.randn(4096)
    with torch.inference_mode():
        timings, _ = interleaved({"mv": lambda: torch.mv(matrix, vector)}, runs, warmup=1)
    return matrix.numel() * matrix.element_size() / timings["mv"].median


#: /proc/cpuinfo flags that change CPU inference speed by integer factors (bf16 and int8 dot products, AMX tiles)
SPEED_FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8")


def cpu_note() -> dict[str, str]:
    """The CPU's vector capability as torch sees it, what it means for bf16 matmuls, and the CPU model with its
    speed-relevant flags: absolute figures from machines with and without bf16 / VNNI dot products differ 2x."""
    import torch

    capability = torch.backends.cpu.get_cpu_capability()
    native = capability not in ("DEFAULT", "NO AVX", "AVX2", "ZVECTOR", "VSX")
    bf16 = "bf16 matmuls run natively or with AVX-512" if native else \
        "no AVX-512: bf16 matmuls are emulated (converted to fp32), so bf16 rows are slower here than fp32"
    return {"cpu_capability": capability, "bf16": bf16, **cpu_model()}


def cpu_model(cpuinfo: str = "/proc/cpuinfo") -> dict[str, str]:
    """{"cpu_model": the first `model name`, "cpu_flags": the SPEED_FLAGS it has (space-separated)}; the model
    falls back to platform.processor() where there is no /proc/cpuinfo."""
    import platform

    model, flags = None, set()
    try:
        with open(cpuinfo, encoding="utf-8") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and model is None:
                    model = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    model = model or platform.processor() or "unknown"
    return {"cpu_model": model, "cpu_flags": " ".join(f for f in SPEED_FLAGS if f in flags) or "none known"}


def machine_line(note: dict[str, str] | None = None) -> str:
    """One line for a benchmark report: CPU model, its speed-relevant flags, the 1-minute load average."""
    import os

    note = note or cpu_model()
    return (f"machine: {note['cpu_model']}; flags: {note['cpu_flags']}; load average (1 min) "
            f"{os.getloadavg()[0]:.2f}")


def run_worker(module: str, spec: dict) -> dict:
    """`python -m <module> --worker <spec json>` in a fresh interpreter (so ru_maxrss is this configuration's peak
    alone); its last stdout line is the JSON row."""
    import json
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", module, "--worker", json.dumps(spec)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark worker failed for {spec}:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def write_report(out: Any, meta: dict, rows: list[dict], markdown: str) -> None:
    """`<out>.json` ({"meta", "rows"}) and `<out>.md` (the table), each written atomically; the table is printed."""
    import json
    from pathlib import Path

    from tts_codec.atomic import atomic_write

    out = Path(out)
    with atomic_write(out.with_suffix(".json")) as handle:
        handle.write(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    with atomic_write(out.with_suffix(".md")) as handle:
        handle.write(markdown)
    print(markdown)
