"""Perceiver resampler: a fixed number of learned queries cross-attend to a variable-length context."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class RMSNorm(nn.Module):
    """x / ||x|| * sqrt(dim) * gamma over the last axis."""

    def __init__(self, dim: int):
        super().__init__()
        self.scale = dim**0.5
        self.gamma = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(x, dim=-1) * self.scale * self.gamma


class GEGLU(nn.Module):
    """Split the last axis in two halves (x, gate) and return gelu(gate) * x."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, gate = x.chunk(2, dim=-1)
        return F.gelu(gate) * x


def geglu_feed_forward(dim: int, mult: float = 4) -> nn.Sequential:
    """Linear(dim, 2h) -> GEGLU -> Linear(h, dim) with h = int(dim * mult * 2 / 3)."""
    inner = int(dim * mult * 2 / 3)
    return nn.Sequential(nn.Linear(dim, inner * 2), GEGLU(), nn.Linear(inner, dim))


class CrossAttention(nn.Module):
    """Multi-head attention of queries over concat(queries, context), no biases."""

    def __init__(self, dim: int, dim_head: int = 64, heads: int = 8):
        super().__init__()
        self.heads = heads
        inner = dim_head * heads
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_kv = nn.Linear(dim, inner * 2, bias=False)
        self.to_out = nn.Linear(inner, dim, bias=False)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """Args: x (B, N, dim) queries; context (B, M, dim). Returns (B, N, dim)."""
        context = torch.cat((x, context), dim=-2)
        q = self.to_q(x)
        k, v = self.to_kv(context).chunk(2, dim=-1)
        b = x.shape[0]
        q, k, v = (t.reshape(b, t.shape[1], self.heads, -1).transpose(1, 2) for t in (q, k, v))
        attn = (q @ k.transpose(-1, -2) * q.shape[-1] ** -0.5).softmax(dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(b, x.shape[1], -1)
        return self.to_out(out)


class PerceiverResampler(nn.Module):
    """`num_latents` learned queries (init N(0, 0.02)), `depth` x [cross-attention, GEGLU FF], final RMSNorm.

    Args:
        dim: query/latent width.
        dim_context: context width (projected to `dim` by `proj_context` when different).
        num_latents: output length N.
    """

    def __init__(
        self, dim: int, dim_context: int, num_latents: int = 32, depth: int = 2,
        dim_head: int = 64, heads: int = 8, ff_mult: float = 4,
    ):
        super().__init__()
        self.proj_context = nn.Linear(dim_context, dim) if dim_context != dim else nn.Identity()
        self.latents = nn.Parameter(torch.empty(num_latents, dim))
        nn.init.normal_(self.latents, std=0.02)
        self.layers = nn.ModuleList(
            [nn.ModuleList([CrossAttention(dim, dim_head, heads), geglu_feed_forward(dim, ff_mult)]) for _ in range(depth)]
        )
        self.norm = RMSNorm(dim)

    def forward(self, context: torch.Tensor) -> torch.Tensor:
        """Args: context (B, M, dim_context). Returns (B, num_latents, dim)."""
        context = self.proj_context(context)
        latents = self.latents.unsqueeze(0).expand(context.shape[0], -1, -1)
        for attn, ff in self.layers:
            latents = attn(latents, context) + latents
            latents = ff(latents) + latents
        return self.norm(latents)
