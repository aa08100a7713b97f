"""Int8 linear layers for memory-bound CPU decoding (torch's dynamic quantization, fbgemm/x86 kernels).

Autoregressive decoding at batch 1 reads every weight once per step, so its speed is set by the bytes read: int8
weights read a quarter of fp32's. Weights are rounded per output channel; each call quantizes its activations on
the fly (per tensor) and runs an int8 GEMM. Measured on a 2-core AVX2 machine: a 896x4864 matrix-vector product
takes 0.21 ms instead of 0.83 ms in fp32, while ATen's weight-only `_weight_int8pack_mm` took 3.1 ms there, and
bf16 is emulated without AVX-512. Matrices small enough to stay in cache gain little. The rounding moves outputs
by about 1-2 % of their range, so callers state the token agreement they measured (see the decoders' docs).
`torch.ao.quantization` is marked deprecated in favour of torchao; it is the one with fast x86 CPU kernels for
torch 2.13 (pinned), so its deprecation warnings are silenced here.
"""
from __future__ import annotations

import functools
import warnings
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn


#: the int8 GEMM op overload's bound C++ kernel: what the overload's own __call__ ends in, after a Python check for
#: fake script objects (tracing only) that cost ~3 us a call
_INT8_GEMM = torch.ops.quantized.linear_dynamic.default._op


def int8_gemm(x: torch.Tensor, packed: torch.ScriptObject) -> torch.Tensor:
    """torch's dynamic int8 linear of `x` with prepacked weights (reduce_range=True, as torch's layer, version 4).

    Before running an op, torch looks for a `__torch_function__` override on every argument; on the packed weights (a
    TorchBind object) that lookup raises and catches a C++ exception inside torch: ~40 us per call on a loaded
    machine, four times the GEMM of a 512x512 layer at batch 1. With a plain tensor input no argument can override,
    so the lookup is switched off (`DisableTorchFunctionSubclass`; torch function modes still apply): same output."""
    if type(x) is not torch.Tensor:  # a subclass may override: keep torch's full dispatch
        return _INT8_GEMM(x, packed, True)
    with torch._C.DisableTorchFunctionSubclass():
        return _INT8_GEMM(x, packed, True)


class LeanInt8Linear(torch.ao.nn.quantized.dynamic.Linear):
    """torch's dynamic int8 Linear with a shorter call (`int8_gemm`): the same op and arguments as the parent's
    forward, so the outputs are identical, without the op-packet dispatch, the version branch, a same-dtype cast and
    the exception-raising override lookup on the packed weights; decoding makes ~170 such calls per MARS6 global
    step."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = int8_gemm(x, self._packed_params._packed_params)
        return y if x.dtype == torch.float32 else y.to(x.dtype)

    def float32_function(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """`forward` for float32 inputs as a bare kernel call with the packed weights bound (no module call)."""
        return functools.partial(int8_gemm, packed=self._packed_params._packed_params)


def linear_function(layer: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """What a float `nn.Linear` or a `quantize_linears` layer computes, as a kernel call with its weights bound, for
    loops that call small layers thousands of times (the module call chain costs a few us each). The float weights
    are bound as the tensors themselves, so in-place updates show; int8 ones take float32 inputs only."""
    if type(layer) is nn.Linear:
        return functools.partial(F.linear, weight=layer.weight, bias=layer.bias)
    if isinstance(layer, LeanInt8Linear):
        return layer.float32_function()
    return layer


def is_int8_linear(module: nn.Module) -> bool:
    """True for a linear layer made by `quantize_linears`."""
    return isinstance(module, torch.ao.nn.quantized.dynamic.Linear)


def quantize_linears(module: nn.Module, keep: Callable[[str, nn.Linear], bool] = lambda name, layer: False
                     ) -> int:
    """Replace, in place, every `nn.Linear` under `module` by an int8 dynamic-quantized one, except where
    `keep(name, layer)`; returns how many were replaced. Inference only: the result cannot be trained."""
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    names = [name for name, child in module.named_modules()
             if name and isinstance(child, nn.Linear) and not keep(name, child)]
    if names:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, message=".*deprecated.*")
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            quantize_dynamic(module, {name: per_channel_dynamic_qconfig for name in names}, dtype=torch.qint8,
                             inplace=True)
        for name in names:
            layer = module.get_submodule(name)
            if type(layer) is torch.ao.nn.quantized.dynamic.Linear and layer.version == 4:
                layer.__class__ = LeanInt8Linear
    return len(names)
