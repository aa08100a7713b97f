"""An int8-weight copy of a MARS6 model for fast CPU decoding (`tts_codec.nn.int8_linear`).

Decoding at batch 1 is bound by the bytes of weights read per global step (the global decoder once, the local
decoder seven times): int8 weights read a quarter of fp32's. The output head stays float32 because decoding slices
its rows per patch position. The rounding moves logits slightly, so sampled tokens can differ from the float model's
(the measured agreement is in the benchmark notes and tests/lm/test_mars6_int8.py).
"""
from __future__ import annotations

import copy

from tts_codec.lm.mars6.model import Mars6
from tts_codec.nn.int8_linear import quantize_linears


def int8_copy(model: Mars6) -> Mars6:
    """A deep copy of `model` (eval mode) whose linear layers, except the output head, hold int8 weights."""
    quantized = copy.deepcopy(model).eval()
    quantize_linears(quantized, keep=lambda name, layer: name == "head")
    return quantized
