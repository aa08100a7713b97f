"""Snake activation x + sin^2(alpha x) / alpha with a learned per-channel alpha (DAC, BigVGAN)."""
from __future__ import annotations

import torch
from torch import nn


def snake(x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Apply snake to `x` (B, C, T) with `alpha` (1, C, 1); the 1e-9 keeps alpha -> 0 finite."""
    return torch.addcmul(x, (alpha + 1e-9).reciprocal(), torch.sin(alpha * x).pow(2))


class Snake1d(nn.Module):
    """Snake over channels of a (B, C, T) tensor; parameter `alpha` has shape (1, C, 1), initialised to ones."""

    def __init__(self, channels: int):
        super().__init__()
        self.alpha = nn.Parameter(torch.ones(1, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return snake(x, self.alpha)
