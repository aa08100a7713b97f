"""Finite scalar quantisation (Mentzer et al. 2023) and its residual stack, as used for BiCodec's global tokens."""
from __future__ import annotations

import math

import torch
from torch import nn


def round_ste(z: torch.Tensor) -> torch.Tensor:
    """Round with a straight-through gradient."""
    return z + (z.round() - z).detach()


class FSQ(nn.Module):
    """Parameter-free FSQ over the last axis: bound with tanh, round to `levels[i]` values, map to [-1, 1].

    Args:
        levels: number of values per dimension; the codebook size is their product.
    """

    def __init__(self, levels: list[int]):
        super().__init__()
        self.register_buffer("_levels", torch.tensor(levels, dtype=torch.int32), persistent=False)
        basis = torch.cumprod(torch.tensor([1] + list(levels[:-1])), dim=0).to(torch.int32)
        self.register_buffer("_basis", basis, persistent=False)
        self.codebook_dim = len(levels)
        self.codebook_size = math.prod(levels)

    def bound(self, z: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
        half_l = (self._levels - 1) * (1 + eps) / 2
        offset = torch.where(self._levels % 2 == 0, 0.5, 0.0)
        shift = (offset / half_l).atanh()
        return (z + shift).tanh() * half_l - offset

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Args: z (..., d). Returns (codes (..., d) in [-1, 1], indices (...) int64)."""
        codes = round_ste(self.bound(z.float())) / (self._levels // 2)
        return codes.to(z.dtype), self.codes_to_indices(codes)

    def codes_to_indices(self, codes: torch.Tensor) -> torch.Tensor:
        half_width = self._levels // 2
        return ((codes * half_width + half_width) * self._basis).sum(dim=-1).to(torch.int32).long()

    def indices_to_codes(self, indices: torch.Tensor) -> torch.Tensor:
        """Args: indices (...) int. Returns codes (..., d) in [-1, 1]."""
        level_indices = (indices.unsqueeze(-1) // self._basis) % self._levels
        half_width = self._levels // 2
        return (level_indices - half_width) / half_width


class ResidualFSQ(nn.Module):
    """Linear in -> `num_quantizers` residual FSQ stages (stage q scaled by (levels-1)^-q) -> Linear out.

    Args:
        levels: FSQ levels per dimension (d = len(levels)).
        num_quantizers: residual stages Q.
        dim: input/output width; projections are used when dim != d.
    """

    def __init__(self, levels: list[int], num_quantizers: int, dim: int):
        super().__init__()
        codebook_dim = len(levels)
        self.project_in = nn.Linear(dim, codebook_dim) if dim != codebook_dim else nn.Identity()
        self.project_out = nn.Linear(codebook_dim, dim) if dim != codebook_dim else nn.Identity()
        self.layers = nn.ModuleList([FSQ(levels) for _ in range(num_quantizers)])
        levels_t = torch.tensor(levels, dtype=torch.float32)
        scales = torch.stack([(levels_t - 1) ** -q for q in range(num_quantizers)])
        self.register_buffer("scales", scales, persistent=False)
        self.codebook_size = self.layers[0].codebook_size

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Args: x (B, N, dim). Returns (quantised (B, N, dim), indices (B, N, Q) int64)."""
        residual = self.project_in(x)
        quantized = torch.zeros_like(residual)
        all_indices = []
        for layer, scale in zip(self.layers, self.scales):
            codes, indices = layer(residual / scale)
            codes = codes * scale
            residual = residual - codes.detach()
            quantized = quantized + codes
            all_indices.append(indices)
        return self.project_out(quantized), torch.stack(all_indices, dim=-1)

    def decode(self, indices: torch.Tensor) -> torch.Tensor:
        """Args: indices (B, N, Q). Returns the quantised (B, N, dim), as `forward` gives for those indices."""
        codes = sum(
            layer.indices_to_codes(indices[..., q]) * self.scales[q] for q, layer in enumerate(self.layers)
        )
        return self.project_out(codes)
