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
