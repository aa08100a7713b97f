"""Codec token statistics of a tokenized set: bitrate and codebook usage per stream (BiCodec paper, §9.2 of
evaluation.md: bps = tokens/s x log2(codebook size)).

They are corpus-level figures, stored as `codec_usage.json` in a score dir; `score_dir.finalize` folds them into
summary.json (mean = the figure, no confidence interval), so a report shows them beside PESQ and STOI.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from tts_codec.atomic import atomic_write
from tts_codec.data.token_file import load_tokens

USAGE_FILE = "codec_usage.json"


def stream_usage(tokens: list[np.ndarray], codebook_size: int) -> dict[str, float]:
    """Share of the codebook used and the perplexity (exp of the code entropy) of one stream's tokens."""
    counts = np.bincount(np.concatenate([t.reshape(-1) for t in tokens]).astype(np.int64), minlength=codebook_size)
    probs = counts[counts > 0] / counts.sum()
    return {"used_share": float((counts > 0).mean()), "perplexity": float(np.exp(-(probs * np.log(probs)).sum()))}


def codec_usage(codes_dir: str | os.PathLike) -> dict[str, dict]:
    """Per-stream and total bitrate (bits/s) and codebook usage of a codes dir (tts_codec.data.token_file).

    A stream whose length follows the audio (shape starting with -1) costs frame_rate x log2(V) bits/s; a fixed
    number of tokens per utterance (BiCodec's 32 global tokens) costs its bits once per utterance, averaged over
    the total duration (the semantic frames / frame rate).
    """
    tokens = load_tokens(codes_dir)
    info = tokens.info
    per_stream: dict[str, list[np.ndarray]] = {name: [] for name in info.streams}
    for utt in tokens:
        for name, array in tokens[utt].items():
            per_stream[name].append(array)
    timed = [name for name, spec in info.streams.items() if spec.shape[0] == -1]
    seconds = (sum(a.shape[0] for a in per_stream[timed[0]]) * info.streams[timed[0]].stride / info.frame_rate
               if timed else float("nan"))
    metrics: dict[str, dict] = {}
    total = 0.0
    for name, spec in info.streams.items():
        bits = math.log2(spec.codebook_size)
        if spec.shape[0] == -1:
            bps = info.frame_rate / spec.stride * bits  # a multi-rate level (SNAC) runs at frame_rate / stride
        else:
            bps = len(per_stream[name]) * int(np.prod(spec.shape)) * bits / seconds
        total += bps
        usage = stream_usage(per_stream[name], spec.codebook_size) if per_stream[name] else {}
        metrics[f"bitrate_{name}_bps"] = _figure(bps, len(tokens))
        for key, value in usage.items():
            metrics[f"{name}_codes_{key}"] = _figure(value, len(tokens))
    metrics["bitrate_bps"] = _figure(total, len(tokens))
    return metrics


def _figure(value: float, n: int) -> dict:
    return {"mean": value if math.isfinite(value) else None, "ci95": None, "n": n, "n_failed": 0, "higher_is_better": None, "corpus_level": True}


def write_usage(score_dir: str | os.PathLike, metrics: dict[str, dict], codes_dir: str | os.PathLike) -> None:
    """Store the figures in `score_dir/codec_usage.json` (read back by tts_codec.eval.score_dir.finalize)."""
    with atomic_write(Path(score_dir) / USAGE_FILE) as handle:
        json.dump({"codes_dir": os.fspath(codes_dir), "metrics": metrics}, handle, indent=2)
        handle.write("\n")

