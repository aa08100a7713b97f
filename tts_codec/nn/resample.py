"""Learned + parameter-free resampling block of BiCodec's encoder and decoder.

The output is conv + two skip paths. With ratio 1 there is no conv, so all three terms are the input and the block
returns 3 * x: a quirk of the official model that its trained weights depend on (kept on purpose).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class SamplingBlock(nn.Module):
    """Up- (transposed conv + repeat) and/or down-sampling (strided conv + average pool) of a sequence.

    Args:
        dim: channels.
        groups: conv groups (BiCodec uses depthwise, groups = dim).
        upsample_scale: integer factor; 1 disables upsampling.
        downsample_scale: integer factor; 1 disables downsampling.
    """

    def __init__(self, dim: int, groups: int = 1, upsample_scale: int = 1, downsample_scale: int = 1):
        super().__init__()
        self.upsample_scale = upsample_scale
        self.downsample_scale = downsample_scale
        if upsample_scale > 1:
            self.de_conv_upsampler = nn.Sequential(
                nn.LeakyReLU(0.2),
                nn.ConvTranspose1d(
                    dim, dim, kernel_size=upsample_scale * 2, stride=upsample_scale,
                    padding=upsample_scale // 2 + upsample_scale % 2, output_padding=upsample_scale % 2, groups=groups,
                ),
            )
        if downsample_scale > 1:
            self.conv_downsampler = nn.Sequential(
                nn.LeakyReLU(0.2),
                nn.Conv1d(
                    dim, dim, kernel_size=2 * downsample_scale, stride=downsample_scale,
                    padding=downsample_scale // 2 + downsample_scale % 2, groups=groups,
                ),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (B, T, C) channels last (a backbone's output). Returns (B, C, T * up / down) channels first."""
        x = x.transpose(1, 2)
        if self.upsample_scale > 1:
            repeated = x.repeat_interleave(self.upsample_scale, dim=2)
            merged = repeated + self.de_conv_upsampler(x)
        else:
            merged = repeated = x
        if self.downsample_scale > 1:
            conv = self.conv_downsampler(merged)
            skip2 = F.avg_pool1d(merged, kernel_size=self.downsample_scale, stride=self.downsample_scale)
            skip1 = F.avg_pool1d(repeated, kernel_size=self.downsample_scale, stride=self.downsample_scale)
        else:
            conv = skip2 = merged
            skip1 = repeated
        return conv + skip1 + skip2
