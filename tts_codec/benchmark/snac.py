"""SNAC decode speed with random weights of a config's shapes, ours against the `snac` package's own model.

One configuration (a `spec` dict: config, fast, channels_last, batch, dtype, seconds, runs, warmup, threads) gives
one table row. Both models hold the same weights and decode the same seeded random codes under
torch.inference_mode(), timed turn by turn in one process (`interleaved`), so `speedup` = package time / our time
is a ratio from one run. Ours is `prepare_for_inference` (eval, weight norm folded; `fast`: the fused
`FastResidualUnit`, `FastNoiseBlock` and `CachedSnake`; `channels_last`: conv stacks channels-last, which replaces
the fused units by channels-last ones) with an optional bf16 autocast; the package's model runs as shipped
(weight norm kept, its TorchScript snake). `max_abs_diff` compares our output with the package's under the same
noise seed (the package draws the NoiseBlock noise from the global RNG).
"""
from __future__ import annotations

import resource
from typing import Any

import torch

from tts_codec.benchmark.timing import interleaved
from tts_codec.codecs import build_codec
from tts_codec.codecs.inference import precision, prepare_for_inference
from tts_codec.codecs.snac import SNACCodec
from tts_codec.config import load_config

#: performance.md: the official decode of 10 s at 24 kHz on 2 cores, and the target
OFFICIAL_10S, TARGET_10S = 3.85, 3.0
COLUMNS = ["fast", "channels_last", "batch", "dtype", "seconds", "rtf", "x_real_time", "package_s", "speedup",
           "target_s", "meets_target", "max_abs_diff", "peak_mem_mb", "runs"]


def build_pair(config: str, seed: int = 0) -> tuple[SNACCodec, torch.nn.Module]:
    """Our codec of `config` with seeded random weights, and the package's `SNAC` holding the same weights."""
    from snac import SNAC

    cfg = load_config(config)
    torch.manual_seed(seed)
    ours = build_codec(cfg)
    package = SNAC(sampling_rate=cfg["sample_rate"], **cfg["codec_conf"])
    package.load_state_dict(ours.model.state_dict())
    return ours, package.eval()


def random_codes(model: SNACCodec, batch: int, seconds: float, seed: int = 0) -> dict[str, torch.Tensor]:
    """Seeded random codes of every level for `seconds` of audio (whole padding units)."""
    gen = torch.Generator().manual_seed(seed)
    frames = model.num_frames(int(seconds * model.sample_rate))
    return {name: torch.randint(0, spec.codebook_size, (batch, frames // spec.stride), generator=gen)
            for name, spec in model.token_streams.items()}


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one configuration in this process and return its table row (see the module docstring)."""
    torch.set_num_threads(spec["threads"])
    ours, package = build_pair(spec["config"])
    codes = random_codes(ours, spec["batch"], spec["seconds"])
    levels = list(codes.values())
    ours = prepare_for_inference(ours, "cpu", spec["fast"], spec.get("channels_last", False))

    def decode_ours() -> torch.Tensor:
        with precision(spec["dtype"]):
            return ours.decode(codes)

    def decode_package() -> torch.Tensor:
        torch.manual_seed(ours.noise_seed)
        return package.decode(levels)

    with torch.inference_mode():
        timings, outputs = interleaved({"ours": decode_ours, "package": decode_package}, spec["runs"],
                                       spec["warmup"])
    diff = float((outputs["ours"].float() - outputs["package"]).abs().max())
    seconds, package_s = timings["ours"].median, timings["package"].median
    audio = spec["batch"] * outputs["ours"].shape[-1] / ours.sample_rate
    target = TARGET_10S * audio / 10.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {**{k: spec[k] for k in ("fast", "batch", "dtype", "runs")},
            "channels_last": spec.get("channels_last", False), "seconds": round(seconds, 4),
            "rtf": round(seconds / audio, 4), "x_real_time": round(audio / seconds, 2),
            "package_s": round(package_s, 4), "speedup": round(package_s / seconds, 2), "target_s": round(target, 3),
            "meets_target": seconds <= target, "max_abs_diff": float(f"{diff:.3g}"), "peak_mem_mb": round(peak, 1)}


def to_markdown(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table with COLUMNS."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join("" if r[c] is None else str(r[c]) for c in COLUMNS) + " |" for r in rows]
    return "\n".join(lines) + "\n"
