"""Fast CPU inference stand-ins: module classes a codec registers with a maker of a faster module computing the same
function (e.g. SNAC's ResidualUnit -> `FastResidualUnit`), swapped in by `use_fast_stand_ins` for inference only
(`tts_codec.codecs.inference.prepare_for_inference(fast=True)` on CPU); training modules are never touched.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

#: module class -> a function making its fast stand-in, or None when this instance does not fit (it is kept)
FAST_STAND_INS: dict[type, Callable[[nn.Module], nn.Module | None]] = {}


def register_fast_stand_in(cls: type, make: Callable[[nn.Module], nn.Module | None]) -> None:
    """Let `use_fast_stand_ins` replace `cls` modules by `make(module)` (same parameters, same function)."""
    FAST_STAND_INS[cls] = make


def use_fast_stand_ins(model: nn.Module) -> int:
    """Replace every registered module below `model` by its stand-in; returns the count.

    Call after weight norm is removed: stand-ins share the modules' parameters and read them at call time."""
    count = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            make = FAST_STAND_INS.get(type(child))
            stand_in = make(child) if make is not None else None
            if stand_in is not None:
                setattr(parent, name, stand_in)
                count += 1
    return count


def records_autograd(x: torch.Tensor, *params: torch.Tensor) -> bool:
    """True when an op on `x` and `params` would be recorded for backward: the stand-ins' fast paths write through
    `out=` or leave torch, which records nothing, so they must then take the plain path."""
    return torch.is_grad_enabled() and (x.requires_grad or any(p.requires_grad for p in params))
