"""Transformer blocks of MARS6 with optional KV caches: pre-norm, Mish feed-forward, no dropout (mars6_snac.md §4).

The parameter layout equals the stock `nn.Transformer*Layer` one (fused q/k/v projection, 3 LayerNorms in a
decoder layer), so the parameter counts of §4.1 hold; the attention is our own so that decoding can keep K/V.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class KVCache:
    """The keys and values one self-attention layer has seen so far, (B, H, T, Dh) each."""

    def __init__(self) -> None:
        self.k: torch.Tensor | None = None
        self.v: torch.Tensor | None = None

    @property
    def length(self) -> int:
        return 0 if self.k is None else self.k.shape[2]

    def extend(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append this step's (B, H, q, Dh) keys/values; return all of them."""
        self.k = k if self.k is None else torch.cat([self.k, k], dim=2)
        self.v = v if self.v is None else torch.cat([self.v, v], dim=2)
        return self.k, self.v


def causal_mask(q_len: int, k_len: int, device: torch.device) -> torch.Tensor:
    """(q_len, k_len) bool, True = may attend: query i is position k_len - q_len + i."""
    offset = k_len - q_len
    return torch.arange(k_len, device=device)[None, :] <= torch.arange(q_len, device=device)[:, None] + offset


class Attention(nn.Module):
    """Multi-head attention; `cross` projects queries from x and keys/values from a memory (see `memory_kv`)."""

    def __init__(self, dim: int, heads: int, cross: bool = False):
        super().__init__()
        self.heads, self.cross = heads, cross
        if cross:
            self.q, self.kv = nn.Linear(dim, dim), nn.Linear(dim, 2 * dim)
        else:
            self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, D) -> (B, H, T, Dh)
        b, t, d = x.shape
        return x.view(b, t, self.heads, d // self.heads).transpose(1, 2)

    def memory_kv(self, memory: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys and values of a (B, M, D) memory, computed once per utterance for cross-attention."""
        k, v = self.kv(memory).chunk(2, dim=-1)
        return self._heads(k), self._heads(v)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, cache: KVCache | None = None,
                kv: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        """x (B, T, D) -> (B, T, D); mask broadcastable to (B, H, T, K), True = attend."""
        if self.cross:
            q, (k, v) = self._heads(self.q(x)), kv
        else:
            q, k, v = (self._heads(t) for t in self.qkv(x).chunk(3, dim=-1))
            if cache is not None:
                k, v = cache.extend(k, v)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        b, _, t, _ = y.shape
        return self.out(y.transpose(1, 2).reshape(b, t, -1))


class Block(nn.Module):
    """Pre-norm layer: self-attention, optional cross-attention, Mish feed-forward."""

    def __init__(self, dim: int, heads: int, ffn: int, cross: bool):
        super().__init__()
        self.norm_self, self.attn = nn.LayerNorm(dim), Attention(dim, heads)
        self.norm_cross = nn.LayerNorm(dim) if cross else None
        self.cross = Attention(dim, heads, cross=True) if cross else None
        self.norm_ff = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, ffn), nn.Mish(), nn.Linear(ffn, dim))

    def forward(self, x, mask=None, cache=None, memory_kv=None, memory_mask=None) -> torch.Tensor:
        x = x + self.attn(self.norm_self(x), mask, cache)
        if self.cross is not None:
            x = x + self.cross(self.norm_cross(x), memory_mask, kv=memory_kv)
        return x + self.ff(self.norm_ff(x))


class Stack(nn.Module):
    """`layers` Blocks; causal ones build their mask from the cache length (so cached and full passes agree)."""

    def __init__(self, layers: int, dim: int, heads: int, ffn: int, causal: bool, cross: bool = False):
        super().__init__()
        self.causal = causal
        self.blocks = nn.ModuleList(Block(dim, heads, ffn, cross) for _ in range(layers))

    def new_caches(self) -> list[KVCache]:
        return [KVCache() for _ in self.blocks]

    def memory_kv(self, memory: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        return [block.cross.memory_kv(memory) for block in self.blocks]

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor | None = None, caches: list[KVCache] | None = None,
                memory_kv=None, memory_mask: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, T, D); key_mask (B, T) True = real token (non-causal stacks); memory_mask (B, M) likewise."""
        mask = None
        if self.causal and x.shape[1] > 1:  # one new query may see every key: no mask (a faster attention path)
            past = caches[0].length if caches else 0
            mask = causal_mask(x.shape[1], past + x.shape[1], x.device)
        elif not self.causal and key_mask is not None:
            mask = key_mask[:, None, None, :]
        mem_mask = None if memory_mask is None else memory_mask[:, None, None, :]
        for i, block in enumerate(self.blocks):
            x = block(x, mask, caches[i] if caches else None, memory_kv[i] if memory_kv else None, mem_mask)
        return x


class SwiGLU(nn.Module):
    """Linear(in, 2 out), then silu(a) * b."""

    def __init__(self, dim_in: int, dim_out: int):
        super().__init__()
        self.proj = nn.Linear(dim_in, 2 * dim_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.proj(x).chunk(2, dim=-1)
        return F.silu(a) * b


class ScaledSinusoid(nn.Module):
    """Sinusoidal position encoding of width `dim` times a learnable scale; positions are given explicitly."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim
        self.alpha = nn.Parameter(torch.ones(1))

    def forward(self, positions: torch.Tensor) -> torch.Tensor:
        """positions (...,) int -> (..., dim)."""
        half = self.dim // 2
        freq = torch.exp(-math.log(10000.0) * torch.arange(half, device=positions.device) / max(half, 1))
        angle = positions.to(torch.float32)[..., None] * freq
        pe = torch.cat([angle.sin(), angle.cos()], dim=-1)
        if pe.shape[-1] < self.dim:  # odd width
            pe = F.pad(pe, (0, self.dim - pe.shape[-1]))
        return self.alpha * pe
