"""Weight-normalised convolutions (parametrization API) and their removal for inference.

Checkpoints store the parametrization as `<conv>.parametrizations.weight.original0` (g, the per-output-channel norm)
and `.original1` (v, the direction); `tts_codec.codecs.bicodec.official` maps these to the old `weight_g`/`weight_v`.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import weight_norm


def wn_conv1d(*args, **kwargs) -> nn.Conv1d:
    """`nn.Conv1d(*args, **kwargs)` with weight normalisation over dim 0."""
    return weight_norm(nn.Conv1d(*args, **kwargs))


def wn_conv_transpose1d(*args, **kwargs) -> nn.ConvTranspose1d:
    """`nn.ConvTranspose1d(*args, **kwargs)` with weight normalisation over dim 0 (the input channels)."""
    return weight_norm(nn.ConvTranspose1d(*args, **kwargs))


def has_weight_norm(module: nn.Module) -> bool:
    """True if any submodule still carries a weight parametrization."""
    return any(parametrize.is_parametrized(m, "weight") for m in module.modules())


def remove_weight_norm(module: nn.Module) -> int:
    """Fold every weight parametrization into a plain `weight` (faster inference); returns how many were removed.

    NOTE(bicodec): not `parametrize.remove_parametrizations`, which deletes the `weight` property from the
    dynamically created parametrized class that deep copies share, so folding a copy broke the original
    (seen with torch 2.13; tests/nn/test_layers.py covers it).
    """
    count = 0
    for sub in list(module.modules()):
        if not parametrize.is_parametrized(sub, "weight"):
            continue
        if set(sub.parametrizations.keys()) != {"weight"}:
            raise ValueError(f"{type(sub).__name__} has parametrizations besides weight: {list(sub.parametrizations)}")
        requires_grad = sub.parametrizations.weight.original0.requires_grad
        with torch.no_grad():
            weight = sub.weight.detach().clone()
        del sub.parametrizations
        sub.__class__ = sub.__class__.__bases__[0]
        sub.weight = nn.Parameter(weight, requires_grad=requires_grad)
        count += 1
    return count


def weight_to_g_v(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Split a plain conv weight into (g, v) with g = ||w|| over all dims but 0 and v = w, so g * v / ||v|| == w."""
    g = torch.linalg.vector_norm(weight, dim=tuple(range(1, weight.dim())), keepdim=True)
    return g, weight.clone()
