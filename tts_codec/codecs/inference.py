"""A codec prepared for inference: loaded, eval mode, weight norm folded, CPU-friendly snake, optional bf16 autocast.

The speed-ups change how the same function is computed, not the weights: bf16 autocast runs the convolutions on
the CPU's bf16 units, and `CachedSnake` (`fast=True`) evaluates snake on cache-sized blocks of contiguous rows with
in-place ops (one full-size allocation instead of four). Batched helpers pad to the longest utterance and trim each
result to its own length.
"""
from __future__ import annotations

import argparse

import contextlib
import logging
import os
from pathlib import Path
from typing import Any, ContextManager

import numpy as np
import torch
from torch import nn

from tts_codec.config import load_config
from tts_codec.errors import UserError

log = logging.getLogger(__name__)

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def load_codec(model_dir: str | os.PathLike, device: str = "cpu", fast: bool = True) -> nn.Module:
    """Load a codec directory for inference (eval, weight norm removed; `fast` swaps in `CachedSnake`).

    The codec class comes from `codec:` in model_dir/config.yaml (an official Spark-TTS dir has none: BiCodec).
    """
    from tts_codec.codecs import CODECS

    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise UserError(f"--model_dir {model_dir}: no such directory")
    cfg_path = model_dir / "config.yaml"
    name = (load_config(cfg_path).get("codec") if cfg_path.is_file() else None) or "bicodec"
    if name not in CODECS:
        raise UserError(f"{cfg_path}: codec {name!r} is unknown; choose one of {sorted(CODECS)}")
    return prepare_for_inference(CODECS[name].from_pretrained(model_dir), device, fast)


def prepare_for_inference(model: nn.Module, device: str = "cpu", fast: bool = True) -> nn.Module:
    """eval(), weight norm folded, moved to `device`; `fast` also swaps in `CachedSnake` (CPU only)."""
    model.eval()
    model.remove_weight_norm()
    if fast and torch.device(device).type == "cpu":
        use_cached_snake(model)
    return model.to(device)


def precision(dtype: str, device: str = "cpu") -> ContextManager[Any]:
    """Autocast context for `dtype` ("float32" = no autocast, "bfloat16")."""
    if dtype not in DTYPES:
        raise UserError(f"--dtype {dtype!r}: choose one of {sorted(DTYPES)}")
    if dtype == "float32":
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=DTYPES[dtype])


def tokenize_batch(model: nn.Module, wavs: list[np.ndarray], device: str = "cpu") -> list[dict[str, np.ndarray]]:
    """Tokenize front-ended 16 kHz utterances together (zero-padded to the longest, each trimmed to its frames).

    Each utterance's reference clip (first `ref_length` samples, tiled) is cut from its own audio, so global tokens
    never see padding; wav2vec2 features do, so batch_size > 1 can change semantic tokens slightly.

    Returns:
        per utterance {"semantic": (T_i,) int64, "global": (1, token_num) int64}.
    """
    from tts_codec.data.dsp import reference_clip

    longest = max(len(w) for w in wavs)
    batch = torch.zeros(len(wavs), longest)
    for i, wav in enumerate(wavs):
        batch[i, : len(wav)] = torch.from_numpy(wav)
    refs = torch.from_numpy(np.stack([reference_clip(w, model.ref_length) for w in wavs]))
    with torch.inference_mode():
        semantic, glob = model.tokenize(batch.to(device), refs.to(device))
    frames = [model.ssl_extractor.num_frames(len(w)) for w in wavs]
    return [{"semantic": semantic[i, :n].cpu().numpy(), "global": glob[i].cpu().numpy()} for i, n in enumerate(frames)]


def detokenize_batch(model: nn.Module, items: list[dict[str, np.ndarray]], dtype: str = "float32",
                     device: str = "cpu") -> list[np.ndarray]:
    """Decode several utterances together (semantic tokens zero-padded); returns (hop * T_i,) float32 waveforms."""
    lengths = [len(item["semantic"]) for item in items]
    semantic = torch.zeros(len(items), max(lengths), dtype=torch.long)
    for i, item in enumerate(items):
        semantic[i, : lengths[i]] = torch.from_numpy(item["semantic"].astype(np.int64))
    glob = torch.from_numpy(np.stack([item["global"] for item in items]).astype(np.int64))
    with torch.inference_mode(), precision(dtype, device):
        wav = model.detokenize(semantic.to(device), glob.to(device))
    hop = model.hop_length
    return [wav[i, 0, : hop * n].float().cpu().numpy() for i, n in enumerate(lengths)]


def add_inference_args(parser: argparse.ArgumentParser) -> None:
    """The flags every codec inference CLI shares: model, batch size, device, threads."""
    parser.add_argument("--model_dir", required=True, help="codec directory (exp/codec_<tag>/model)")
    parser.add_argument("--batch_size", type=int, default=1, help="utterances per forward (>1 pads)")
    parser.add_argument("--device", default="cpu", help="torch device")
    parser.add_argument("--num_threads", type=int, default=0, help="torch CPU threads (0: torch default)")


def apply_inference_args(args: argparse.Namespace) -> None:
    """Check the shared flags (one clear error) and set the thread count."""
    if args.batch_size < 1:
        raise UserError(f"--batch_size must be >= 1, got {args.batch_size}")
    if args.num_threads > 0:
        torch.set_num_threads(args.num_threads)
