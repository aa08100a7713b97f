"""Attentive statistics pooling (ECAPA-TDNN): attention-weighted mean and std over time, optional global context."""
from __future__ import annotations

import torch
from torch import nn


class AttentiveStatsPooling(nn.Module):
    """Pool (B, C, T) frames into (B, 2C) = [weighted mean, weighted std].

    Args:
        in_dim: channels C.
        bottleneck_dim: width of the attention MLP.
        global_context_att: also feed the utterance mean and std to the attention (ECAPA "GLOB" variant).
        std_floor: variance floor under the weighted std (1e-7 in Spark-TTS; the UniSpeech SV head uses 1e-9).
    """

    def __init__(self, in_dim: int, bottleneck_dim: int = 128, global_context_att: bool = False,
                 std_floor: float = 1e-7):
        super().__init__()
        self.global_context_att = global_context_att
        self.std_floor = std_floor
        self.out_dim = 2 * in_dim
        self.linear1 = nn.Conv1d(in_dim * 3 if global_context_att else in_dim, bottleneck_dim, kernel_size=1)
        self.linear2 = nn.Conv1d(bottleneck_dim, in_dim, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (B, C, T). Returns (B, 2C)."""
        if self.global_context_att:
            mean = x.mean(dim=-1, keepdim=True).expand_as(x)
            std = torch.sqrt(x.var(dim=-1, keepdim=True) + 1e-7).expand_as(x)
            x_in = torch.cat((x, mean, std), dim=1)
        else:
            x_in = x
        alpha = torch.softmax(self.linear2(torch.tanh(self.linear1(x_in))), dim=2)
        mean = torch.sum(alpha * x, dim=2)
        var = torch.sum(alpha * x**2, dim=2) - mean**2
        return torch.cat([mean, torch.sqrt(var.clamp(min=self.std_floor))], dim=1)
