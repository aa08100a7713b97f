"""ECAPA-TDNN speaker encoder (Desplanques et al. 2020): SE-Res2 blocks, attentive statistics pooling, embedding."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from tts_codec.nn.attentive_pooling import AttentiveStatsPooling


class Conv1dReluBn(nn.Module):
    """Conv1d -> ReLU -> BatchNorm1d."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 1, padding: int = 0, dilation: int = 1):
        super().__init__()
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, 1, padding, dilation)
        self.bn = nn.BatchNorm1d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(F.relu(self.conv(x)))


class Res2Conv1dReluBn(nn.Module):
    """Res2Net conv: split channels into `scale` groups, each group's conv also sees the previous group's output."""

    def __init__(self, channels: int, kernel_size: int, padding: int, dilation: int, scale: int):
        super().__init__()
        if channels % scale:
            raise ValueError(f"channels {channels} must be divisible by scale {scale}")
        self.width = channels // scale
        self.nums = scale if scale == 1 else scale - 1
        self.scale = scale
        self.convs = nn.ModuleList(
            [nn.Conv1d(self.width, self.width, kernel_size, 1, padding, dilation) for _ in range(self.nums)]
        )
        self.bns = nn.ModuleList([nn.BatchNorm1d(self.width) for _ in range(self.nums)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        splits = torch.split(x, self.width, 1)
        out = []
        sp = splits[0]
        for i, (conv, bn) in enumerate(zip(self.convs, self.bns)):
            if i >= 1:
                sp = sp + splits[i]
            sp = bn(F.relu(conv(sp)))
            out.append(sp)
        if self.scale != 1:
            out.append(splits[self.nums])
        return torch.cat(out, dim=1)


class SqueezeExcite(nn.Module):
    """Channel gating by a bottleneck MLP over the time-averaged input."""

    def __init__(self, channels: int, bottleneck_dim: int = 128):
        super().__init__()
        self.linear1 = nn.Linear(channels, bottleneck_dim)
        self.linear2 = nn.Linear(bottleneck_dim, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = torch.sigmoid(self.linear2(F.relu(self.linear1(x.mean(dim=2)))))
        return x * gate.unsqueeze(2)


class SERes2Block(nn.Module):
    """1x1 conv, dilated Res2 conv, 1x1 conv, squeeze-excite, plus a residual connection."""

    def __init__(self, channels: int, kernel_size: int, padding: int, dilation: int, scale: int):
        super().__init__()
        self.se_res2block = nn.Sequential(
            Conv1dReluBn(channels, channels),
            Res2Conv1dReluBn(channels, kernel_size, padding, dilation, scale),
            Conv1dReluBn(channels, channels),
            SqueezeExcite(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.se_res2block(x)


class EcapaTdnn(nn.Module):
    """ECAPA-TDNN returning both the pooled embedding and the frame-level latent.

    Args:
        feat_dim: input feature bins F.
        embed_dim: embedding (x-vector) size.
        channels: block width (512 in ECAPA_TDNN_GLOB_c512).
        latent_dim: frame-latent width (1536 = 512 * 3 in the reference, whatever `channels` is).
        global_context_att: attentive pooling sees global mean/std (the "GLOB" variant).
        std_floor: the pooling's variance floor (AttentiveStatsPooling).
    """

    def __init__(self, feat_dim: int, embed_dim: int, channels: int = 512, latent_dim: int = 1536,
                 global_context_att: bool = True, std_floor: float = 1e-7):
        super().__init__()
        self.layer1 = Conv1dReluBn(feat_dim, channels, kernel_size=5, padding=2)
        self.layer2 = SERes2Block(channels, kernel_size=3, padding=2, dilation=2, scale=8)
        self.layer3 = SERes2Block(channels, kernel_size=3, padding=3, dilation=3, scale=8)
        self.layer4 = SERes2Block(channels, kernel_size=3, padding=4, dilation=4, scale=8)
        self.latent_dim = latent_dim
        self.conv = nn.Conv1d(channels * 3, self.latent_dim, kernel_size=1)
        self.pool = AttentiveStatsPooling(self.latent_dim, global_context_att=global_context_att, std_floor=std_floor)
        self.bn = nn.BatchNorm1d(self.pool.out_dim)
        self.linear = nn.Linear(self.pool.out_dim, embed_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Args: x (B, F, T). Returns (embedding (B, embed_dim), latent (B, latent_dim, T))."""
        out1 = self.layer1(x)
        out2 = self.layer2(out1)
        out3 = self.layer3(out2)
        out4 = self.layer4(out3)
        latent = F.relu(self.conv(torch.cat([out2, out3, out4], dim=1)))
        return self.linear(self.bn(self.pool(latent))), latent
