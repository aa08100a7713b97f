"""Transformer blocks of MARS6 with optional KV caches: pre-norm, Mish feed-forward, no dropout by default
(mars6_snac.md §4; `dropout` adds residual dropout for small corpora).

The parameter layout equals the stock `nn.Transformer*Layer` one (fused q/k/v projection, 3 LayerNorms in a
decoder layer), so the parameter counts of §4.1 hold; the attention is our own so that decoding can keep K/V.
"""
from __future__ import annotations

import functools
import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from tts_codec.nn.int8_linear import linear_function


class KVCache:
    """The keys and values one self-attention layer has seen so far, (B, H, T, Dh) each, kept in one buffer that
    grows by doubling: a decoding step writes its position in place instead of concatenating the whole history."""

    def __init__(self) -> None:
        self.length = 0
        self._buffer: torch.Tensor | None = None  # (B, 2, H, capacity, Dh): keys, then values
        self._keys: torch.Tensor | None = None  # the buffer's halves, (B, H, capacity, Dh) views
        self._values: torch.Tensor | None = None

    def extend(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append this step's (B, H, q, Dh) keys/values; return all of them."""
        start, end = self.length, self.length + k.shape[2]
        self._reserve(k, k.shape[0], k.shape[1], k.shape[3], end)
        self._keys[:, :, start:end] = k
        self._values[:, :, start:end] = v
        return self._filled(end)

    def append(self, kv: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append one position's keys and values given as (B, 2, H, Dh), the fused projection's layout (one copy);
        return all of them."""
        end = self.length + 1
        self._reserve(kv, kv.shape[0], kv.shape[2], kv.shape[3], end)
        self._buffer.select(3, self.length).copy_(kv)
        return self._filled(end)

    def clear(self) -> None:
        """Forget every position; the buffer is kept for the next sequence."""
        self.length = 0

    def _filled(self, end: int) -> tuple[torch.Tensor, torch.Tensor]:
        self.length = end
        return self._keys.narrow(2, 0, end), self._values.narrow(2, 0, end)

    def _reserve(self, like: torch.Tensor, rows: int, heads: int, width: int, end: int) -> None:
        """Room for `end` positions of (rows, heads, width) keys and values (dtype and device of `like`)."""
        buffer = self._buffer
        if buffer is not None and end <= buffer.shape[3] and buffer.shape[:3] == (rows, 2, heads):
            return
        grown = like.new_empty(rows, 2, heads, max(16, 2 * end), width)
        if buffer is not None and self.length:
            grown[:, :, :, :self.length] = buffer[:, :, :, :self.length]
        self._buffer, self._keys, self._values = grown, grown[:, 0], grown[:, 1]


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
                kv: tuple[torch.Tensor, torch.Tensor] | None = None,
                weights: list[torch.Tensor] | None = None) -> torch.Tensor:
        """x (B, T, D) -> (B, T, D); mask broadcastable to (B, H, T, K), True = attend. Given a `weights` list, the
        attention probabilities (B, H, T, K) are appended to it (an explicit softmax instead of the fused kernel:
        training's guided attention reads them)."""
        if self.cross:
            q, (k, v) = self._heads(self.q(x)), kv
        else:
            q, k, v = (self._heads(t) for t in self.qkv(x).chunk(3, dim=-1))
            if cache is not None:
                k, v = cache.extend(k, v)
        if weights is None:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        else:
            scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
            if mask is not None:
                scores = scores.masked_fill(~mask, float("-inf"))
            probs = scores.softmax(dim=-1)
            weights.append(probs)
            y = probs @ v
        b, _, t, _ = y.shape
        return self.out(y.transpose(1, 2).reshape(b, t, -1))


class Block(nn.Module):
    """Pre-norm layer: self-attention, optional cross-attention, Mish feed-forward; `dropout` drops each branch's
    output before the residual sum in training (no parameters: checkpoints load either way)."""

    def __init__(self, dim: int, heads: int, ffn: int, cross: bool, dropout: float = 0.0):
        super().__init__()
        self.norm_self, self.attn = nn.LayerNorm(dim), Attention(dim, heads)
        self.norm_cross = nn.LayerNorm(dim) if cross else None
        self.cross = Attention(dim, heads, cross=True) if cross else None
        self.norm_ff = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, ffn), nn.Mish(), nn.Linear(ffn, dim))
        self.drop = nn.Dropout(dropout)

    def forward(self, x, mask=None, cache=None, memory_kv=None, memory_mask=None, cross_weights=None) -> torch.Tensor:
        """`cross_weights`: a list that receives the cross-attention probabilities (see `Attention.forward`)."""
        x = x + self.drop(self.attn(self.norm_self(x), mask, cache))
        if self.cross is not None:
            x = x + self.drop(self.cross(self.norm_cross(x), memory_mask, kv=memory_kv, weights=cross_weights))
        return x + self.drop(self.ff(self.norm_ff(x)))


class BlockStep:
    """`Block.forward` of one new position (B, 1, D) with a KV cache, for decoding: the same tensor ops in the same
    order (the same outputs), with the weights bound once and the module call chain skipped; a MARS6 global step
    makes 36 block calls, and that Python work was about a fifth of their time."""

    def __init__(self, block: Block):
        self.heads = block.attn.heads
        self.norm_self, self.norm_ff = _bound_norm(block.norm_self), _bound_norm(block.norm_ff)
        self.qkv, self.out = linear_function(block.attn.qkv), linear_function(block.attn.out)
        self.ff_in, self.ff_out = linear_function(block.ff[0]), linear_function(block.ff[2])
        self.cross = None if block.cross is None else (
            _bound_norm(block.norm_cross), linear_function(block.cross.q), linear_function(block.cross.out))

    def __call__(self, x: torch.Tensor, cache: KVCache, memory_kv: tuple[torch.Tensor, torch.Tensor] | None = None,
                 memory_mask: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, 1, D) -> (B, 1, D); memory_mask broadcastable to (B, H, 1, M), True = attend."""
        b, _, d = x.shape
        h, dh = self.heads, d // self.heads
        qkv = self.qkv(self.norm_self(x))[:, 0]  # (B, 3D): q, then k and v as `append` stores them
        k, v = cache.append(qkv[:, d:].view(b, 2, h, dh))
        y = F.scaled_dot_product_attention(qkv[:, :d].view(b, h, 1, dh), k, v)
        x = x + self.out(y.reshape(b, 1, d))
        if self.cross is not None:
            norm, query, out = self.cross
            y = F.scaled_dot_product_attention(query(norm(x)).view(b, h, 1, dh), *memory_kv, attn_mask=memory_mask)
            x = x + out(y.reshape(b, 1, d))
        return x + self.ff_out(F.mish(self.ff_in(self.norm_ff(x)), inplace=True))


def _bound_norm(norm: nn.LayerNorm) -> Callable[[torch.Tensor], torch.Tensor]:
    return functools.partial(torch.layer_norm, normalized_shape=norm.normalized_shape, weight=norm.weight,
                             bias=norm.bias, eps=norm.eps)


class Stack(nn.Module):
    """`layers` Blocks; causal ones build their mask from the cache length (so cached and full passes agree)."""

    def __init__(self, layers: int, dim: int, heads: int, ffn: int, causal: bool, cross: bool = False,
                 dropout: float = 0.0):
        super().__init__()
        self.causal = causal
        self.blocks = nn.ModuleList(Block(dim, heads, ffn, cross, dropout) for _ in range(layers))

    def new_caches(self) -> list[KVCache]:
        return [KVCache() for _ in self.blocks]

    def new_steps(self) -> list[BlockStep]:
        """Each block's single-position step bound to its current layers (make once per decoding, see `step`)."""
        return [BlockStep(block) for block in self.blocks]

    def memory_kv(self, memory: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        return [block.cross.memory_kv(memory) for block in self.blocks]

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor | None = None, caches: list[KVCache] | None = None,
                memory_kv=None, memory_mask: torch.Tensor | None = None,
                cross_weights: list[torch.Tensor] | None = None) -> torch.Tensor:
        """x (B, T, D); key_mask (B, T) True = real token (non-causal stacks); memory_mask (B, M) likewise;
        `cross_weights` receives each layer's cross-attention probabilities (B, H, T, M)."""
        mask = None
        if self.causal and x.shape[1] > 1:  # one new query may see every key: no mask (a faster attention path)
            past = caches[0].length if caches else 0
            mask = causal_mask(x.shape[1], past + x.shape[1], x.device)
        elif not self.causal and key_mask is not None:
            mask = key_mask[:, None, None, :]
        mem_mask = None if memory_mask is None else memory_mask[:, None, None, :]
        for i, block in enumerate(self.blocks):
            x = block(x, mask, caches[i] if caches else None, memory_kv[i] if memory_kv else None, mem_mask,
                      cross_weights)
        return x

    def step(self, x: torch.Tensor, caches: list[KVCache], steps: list[BlockStep], memory_kv=None,
             memory_mask: torch.Tensor | None = None) -> torch.Tensor:
        """`forward` of one new position (B, 1, D) with caches, through `new_steps()` (the same outputs, faster)."""
        mem_mask = None if memory_mask is None else memory_mask[:, None, None, :]
        for i, step in enumerate(steps):
            x = step(x, caches[i], memory_kv[i] if memory_kv else None, mem_mask)
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
