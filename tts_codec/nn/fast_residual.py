"""A depthwise residual unit x + conv1x1(snake(dwconv(snake(x)))) (SNAC's, DAC's with groups = channels) for fast
CPU inference.

`FastResidualUnit` holds the unit's own modules. In float32 on CPU without autograd or autocast it computes the
unit with `tts_codec.nn.depthwise_residual` (a numba kernel for snake, depthwise conv and snake, then the 1x1 conv
as in-place matmuls, chunk by chunk of time); on one core, against the modules with `CachedSnake`, that measured
1.1-1.5x at 512 channels (the matmul dominates) and 2.4-5x at 64-128 channels (SNAC 24 kHz, 10 s). Otherwise
(bf16 autocast, gradients, other devices or dtypes) it runs the modules as the original unit does. Under
`channels_last` it becomes `ChannelsLastResidualUnit`, the same stack as channels-last 2-d convs.
"""
from __future__ import annotations

import torch
from torch import nn

from tts_codec.nn.channels_last import ChannelsLastSnake, conv_to_2d, register_channels_last
from tts_codec.nn.fast_inference import records_autograd
from tts_codec.nn.snake import CachedSnake, Snake1d

SNAKES = (Snake1d, CachedSnake)


class FastResidualUnit(nn.Module):
    """x + pointwise(snake2(conv(snake1(x)))) for a (B, C, T) x; `conv` is depthwise and keeps the length.

    Build with `from_block(block)`. It keeps the block's modules under the block's names (`block.0` ... `block.3`,
    a ModuleList: no stack for `use_channels_last` to wrap), so the state dict is the original unit's.
    """

    def __init__(self, block: nn.Sequential):
        super().__init__()
        self.block = nn.ModuleList(block)

    @classmethod
    def from_block(cls, block: nn.Sequential) -> "FastResidualUnit | None":
        """The unit of a residual block [snake, depthwise Conv1d keeping the length, snake, 1x1 Conv1d over the
        same channels], or None when `block` is anything else (e.g. a full, not depthwise, conv)."""
        if not isinstance(block, nn.Sequential) or len(block) != 4:
            return None
        snake1, conv, snake2, pointwise = block
        if not (isinstance(snake1, SNAKES) and isinstance(snake2, SNAKES) and type(conv) is nn.Conv1d
                and type(pointwise) is nn.Conv1d):
            return None
        channels, taps, dilation = conv.in_channels, conv.kernel_size[0], conv.dilation[0]
        depthwise = conv.groups == channels == conv.out_channels and conv.stride == (1,)
        same_length = conv.padding_mode == "zeros" and taps % 2 == 1 and conv.padding == (dilation * (taps - 1) // 2,)
        square = (pointwise.in_channels == pointwise.out_channels == channels and pointwise.kernel_size == (1,)
                  and pointwise.stride == (1,) and pointwise.padding == (0,) and pointwise.groups == 1)
        return cls(block) if depthwise and same_length and square else None

    @property
    def snake1(self) -> nn.Module:
        return self.block[0]

    @property
    def conv(self) -> nn.Conv1d:
        return self.block[1]

    @property
    def snake2(self) -> nn.Module:
        return self.block[2]

    @property
    def pointwise(self) -> nn.Conv1d:
        return self.block[3]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, T) -> (B, C, T)."""
        if not self.uses_kernel(x):
            return self.reference(x)
        from tts_codec.nn.depthwise_residual import depthwise_residual  # numba: imported (and loaded) on first use

        return depthwise_residual(x, self.snake1.alpha, self.conv.weight, self.conv.bias, self.snake2.alpha,
                                  self.conv.dilation[0], self.pointwise.weight, self.pointwise.bias)

    def reference(self, x: torch.Tensor) -> torch.Tensor:
        """The unit through its modules, as the original ResidualUnit computes it (any dtype, autocast, autograd)."""
        y = self.pointwise(self.snake2(self.conv(self.snake1(x))))
        return x + y

    def uses_kernel(self, x: torch.Tensor) -> bool:
        """True when `forward(x)` takes the fused float32 path: a float32 (B, C, T) CPU tensor, no CPU autocast,
        no gradient to record, float32 CPU parameters."""
        params = (self.snake1.alpha, self.conv.weight, self.snake2.alpha, self.pointwise.weight)
        return (x.dim() == 3 and x.dtype == torch.float32 and x.device.type == "cpu"
                and not records_autograd(x, *params) and not torch.is_autocast_enabled("cpu")
                and all(p.dtype == torch.float32 and p.device.type == "cpu" for p in params))


class ChannelsLastResidualUnit(nn.Module):
    """`FastResidualUnit` on channels-last (B, C, 1, T) tensors: its modules as 2-d convs and channels-last snakes."""

    def __init__(self, unit: FastResidualUnit):
        super().__init__()
        self.block = nn.Sequential(ChannelsLastSnake(unit.snake1.alpha), conv_to_2d(unit.conv),
                                   ChannelsLastSnake(unit.snake2.alpha), conv_to_2d(unit.pointwise))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


register_channels_last(FastResidualUnit, ChannelsLastResidualUnit)
