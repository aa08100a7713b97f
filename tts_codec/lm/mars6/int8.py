"""An int8-weight copy of a MARS6 model for fast CPU decoding (`tts_codec.nn.int8_linear`).

Decoding at batch 1 is bound by the bytes of weights read per global step (the global decoder once, the local
decoder seven times, the output rows of each patch position seven times): int8 weights read a quarter of fp32's.
The output head is quantized too; decoding scores each position's rows of it through an int8 layer of its own
(`tts_codec.lm.mars6.decoding.PositionHeads`: the same per-row scales). The rounding moves logits slightly, so
sampled tokens can differ from the float model's (the measured agreement is in tests/lm/test_mars6_int8.py).
"""
from __future__ import annotations

import copy

from tts_codec.lm.mars6.model import Mars6
from tts_codec.nn.int8_linear import quantize_linears


def int8_copy(model: Mars6) -> Mars6:
    """A deep copy of `model` (eval mode) whose linear layers, the output head included, hold int8 weights."""
    quantized = copy.deepcopy(model).eval()
    quantize_linears(quantized)
    return quantized
