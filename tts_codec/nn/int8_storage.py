"""Int8 storage of a state dict (packing `--weights_dtype int8`): each large matrix is stored as int8 with one
float16 scale per row (symmetric, absmax / 127), everything else as it was; loading turns them back into float32.

Why: the shipped mini models live in git under one size budget, and a MARS6 LM is mostly output head and token
embeddings (two 12289-row matrices). int8 rows take half of float16's bytes; the rounding error of each weight is at
most half its row's scale (absmax / 254), the same per-row rounding as the int8 decoding path
(`tts_codec.lm.mars6.int8`). Only the stored values change: the model still loads and runs in float32.
"""
from __future__ import annotations

import torch

#: suffix of the per-row scale stored beside each quantized matrix (a state dict key never ends with it)
SCALE_SUFFIX = ".int8_row_scale"
#: smaller matrices (and every vector) stay in floating point: they would save little and lose precision
MIN_ELEMENTS = 16384


def quantize_state(state: dict[str, torch.Tensor], min_elements: int = MIN_ELEMENTS) -> dict[str, torch.Tensor]:
    """`state` with every 2-D floating-point tensor of at least `min_elements` values as int8 + a float16 row
    scale under `<key>` + SCALE_SUFFIX; other tensors are returned unchanged."""
    out: dict[str, torch.Tensor] = {}
    for key, tensor in state.items():
        if key.endswith(SCALE_SUFFIX):
            raise ValueError(f"{key}: already holds an int8 row scale (the state is quantized)")
        if not tensor.is_floating_point() or tensor.dim() != 2 or tensor.numel() < min_elements:
            out[key] = tensor
            continue
        weight = tensor.detach().float()
        scale = (weight.abs().amax(dim=1) / 127.0).to(torch.float16).float()
        scale = torch.where(scale > 0, scale, torch.ones_like(scale))  # an all-zero row stays zero
        out[key] = torch.round(weight / scale[:, None]).clamp(-127, 127).to(torch.int8).contiguous()
        out[key + SCALE_SUFFIX] = scale.to(torch.float16).contiguous()
    return out


def is_quantized(state: dict[str, torch.Tensor]) -> bool:
    """Whether `state` holds int8 matrices written by `quantize_state`."""
    return any(key.endswith(SCALE_SUFFIX) for key in state)


def dequantize_state(state: dict[str, torch.Tensor], where: str = "weights") -> dict[str, torch.Tensor]:
    """The float32 state dict of a `quantize_state` output (a state without scales is returned as it is); a scale
    without its matrix, or of the wrong length, is a ValueError naming `where` and the key."""
    out = {key: tensor for key, tensor in state.items() if not key.endswith(SCALE_SUFFIX)}
    for key in state:
        if not key.endswith(SCALE_SUFFIX):
            continue
        name = key[: -len(SCALE_SUFFIX)]
        matrix, scale = out.get(name), state[key]
        if matrix is None or matrix.dtype != torch.int8 or matrix.dim() != 2 or scale.shape != (matrix.shape[0],):
            raise ValueError(f"{where}: int8 scale {key} does not belong to an int8 matrix {name} with one row per "
                             "scale value")
        out[name] = matrix.float() * scale.float()[:, None]
    return out
