"""Adaptive layer norm: LayerNorm without affine, then a scale and shift predicted from a condition vector."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class AdaLayerNorm(nn.Module):
    """LN(x) * scale(c) + shift(c); `scale` weights start at ones and `shift` at zeros (a plain LN when c sums to 1).

    Args:
        condition_dim: size of the condition vector c.
        embedding_dim: size of the normalised feature axis (last axis of x).
    """

    def __init__(self, condition_dim: int, embedding_dim: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.dim = embedding_dim
        self.scale = nn.Linear(condition_dim, embedding_dim)
        self.shift = nn.Linear(condition_dim, embedding_dim)
        nn.init.ones_(self.scale.weight)
        nn.init.zeros_(self.shift.weight)

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """Args: x (B, T, D); condition (B, condition_dim). Returns (B, T, D)."""
        scale = self.scale(condition).unsqueeze(1)
        shift = self.shift(condition).unsqueeze(1)
        return F.layer_norm(x, (self.dim,), eps=self.eps) * scale + shift
