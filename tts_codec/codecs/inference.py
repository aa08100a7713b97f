"""A codec prepared for inference: loaded, eval mode, weight norm folded, CPU-friendly snake, optional bf16 autocast.

The speed-ups change how the same function is computed, not the weights: bf16 autocast runs the convolutions on
the CPU's bf16 units; `fast=True` swaps in the codecs' registered CPU stand-ins (`tts_codec.nn.fast_inference`,
e.g. SNAC's depthwise residual units as `FastResidualUnit`, a fused numba kernel plus a matmul) and `CachedSnake`,
which evaluates snake on cache-sized blocks of contiguous rows with in-place ops. Batched helpers pad to the longest
utterance and trim each result to its own length.
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

from tts_codec.cli import non_negative_int, positive_int
from tts_codec.codecs.base import Codec
from tts_codec.data.token_file import num_frames
from tts_codec.devices import resolve_device
from tts_codec.errors import UserError
from tts_codec.nn.channels_last import use_channels_last
from tts_codec.nn.fast_inference import use_fast_stand_ins
from tts_codec.nn.snake import use_cached_snake

log = logging.getLogger(__name__)

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def load_codec(model_dir: str | os.PathLike, device: str = "cpu", fast: bool = True,
               channels_last: bool = False) -> Codec:
    """Load a codec directory for inference (eval, weight norm removed; `fast` swaps in CPU stand-ins,
    `channels_last` runs conv stacks channels-last, see `prepare_for_inference`).

    The codec class comes from `codec:` in model_dir/config.yaml (see `tts_codec.codecs.codec_class_for_dir`).
    """
    from tts_codec.codecs import codec_class_for_dir

    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise UserError(f"--model_dir {model_dir}: no such directory")
    return prepare_for_inference(codec_class_for_dir(model_dir).from_pretrained(model_dir), device, fast,
                                 channels_last)


def prepare_for_inference(model: Codec, device: str = "cpu", fast: bool = True, channels_last: bool = False) -> Codec:
    """eval(), weight norm folded, moved to `device`; `fast` also swaps in the registered fast stand-ins
    (`tts_codec.nn.fast_inference`, e.g. SNAC's `FastResidualUnit`) and `CachedSnake` (CPU only);
    `channels_last` computes every pure conv/snake stack (the DAC wave generator) as channels-last 2-d convs
    (`tts_codec.nn.channels_last`; same function, output within float rounding).

    The weights' fingerprint (`Codec.weights_hash`, recorded in token files) is taken first, from the weights as
    loaded."""
    model.weights_hash()
    model.eval()
    model.remove_weight_norm()
    if fast and torch.device(device).type == "cpu":
        use_fast_stand_ins(model)
        use_cached_snake(model)
    if channels_last:
        use_channels_last(model)
    return model.to(device)


def precision(dtype: str, device: str = "cpu") -> ContextManager[Any]:
    """Autocast context for `dtype` ("float32" = no autocast, "bfloat16")."""
    if dtype not in DTYPES:
        raise UserError(f"--dtype {dtype!r}: choose one of {sorted(DTYPES)}")
    if dtype == "float32":
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=DTYPES[dtype])


def encode_batch(model: Codec, wavs: list[np.ndarray], device: str = "cpu") -> list[dict[str, np.ndarray]]:
    """Encode prepared utterances together (zero-padded to the longest, each trimmed to its own frames).

    The codec gets the true lengths, so per-utterance parts (BiCodec's reference clip) never see padding; context
    models (wav2vec2) do, so batch_size > 1 can change frame tokens slightly.

    Returns:
        per utterance {stream: array in its `token_streams` shape}, int64.
    """
    longest = max(len(w) for w in wavs)
    batch = torch.zeros(len(wavs), longest)
    for i, wav in enumerate(wavs):
        batch[i, : len(wav)] = torch.from_numpy(wav)
    lengths = torch.tensor([len(w) for w in wavs])
    with torch.inference_mode():
        codes = model.encode(batch.to(device), lengths.to(device))
    out = []
    for i, wav in enumerate(wavs):
        frames = model.num_frames(len(wav))
        item = {}
        for name, spec in model.token_streams.items():
            array = codes[name][i].cpu().numpy()
            if spec.time_axis is not None:
                array = np.take(array, range(-(-frames // spec.stride)), axis=spec.time_axis)
            item[name] = array
        out.append(item)
    return out


def decode_batch(model: Codec, items: list[dict[str, np.ndarray]], dtype: str = "float32",
                 device: str = "cpu") -> list[np.ndarray]:
    """Decode several utterances together (frame axes zero-padded); returns (hop_length * T_i,) float32 waveforms."""
    streams = model.token_streams
    codes = {}
    for name, spec in streams.items():
        arrays = [np.asarray(item[name], dtype=np.int64) for item in items]
        if spec.time_axis is not None:
            longest = max(a.shape[spec.time_axis] for a in arrays)
            arrays = [_pad_axis(a, spec.time_axis, longest) for a in arrays]
        codes[name] = torch.from_numpy(np.stack(arrays)).to(device)
    with torch.inference_mode(), precision(dtype, device):
        wav = model.decode(codes)
    return [wav[i, 0, : model.hop_length * num_frames(streams, item)].float().cpu().numpy()
            for i, item in enumerate(items)]


def _pad_axis(array: np.ndarray, axis: int, length: int) -> np.ndarray:
    """Zero-pad `array` along `axis` to `length`."""
    pad = [(0, 0)] * array.ndim
    pad[axis] = (0, length - array.shape[axis])
    return np.pad(array, pad)


def add_inference_args(parser: argparse.ArgumentParser) -> None:
    """The flags every codec inference CLI shares: model, batch size, device, threads."""
    parser.add_argument("--model_dir", required=True, help="codec directory (exp/codec_<tag>/model)")
    parser.add_argument("--batch_size", type=positive_int, default=1, help="utterances per forward (>1 pads)")
    parser.add_argument("--device", default="cpu", help="torch device (cpu, cuda, cuda:N)")
    parser.add_argument("--num_threads", type=non_negative_int, default=0, help="torch CPU threads (0: torch default)")


def apply_inference_args(args: argparse.Namespace) -> None:
    """Check the device (one clear error before any work) and set the thread count."""
    args.device = resolve_device(args.device)
    if args.num_threads > 0:
        torch.set_num_threads(args.num_threads)
