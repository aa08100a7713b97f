"""Snake activation x + sin^2(alpha x) / alpha with a learned per-channel alpha (DAC, BigVGAN).

`CachedSnake` computes the same function faster on CPU: float32 on cache-sized blocks of contiguous rows with
in-place ops (one full-size allocation instead of four); `use_cached_snake` swaps it in for inference.
"""
from __future__ import annotations

import torch
from torch import nn

from tts_codec.nn.fast_inference import records_autograd


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


class CachedSnake(nn.Module):
    """Snake x + sin^2(alpha x) / alpha over (B, C, T), computed in float32 on cache-sized blocks of whole rows.

    Rows of the contiguous (B*C, T) view are contiguous, so every op streams over memory already in cache.
    Shares `alpha` (1, C, 1) with the module it replaces; the output has the input's dtype.
    """

    def __init__(self, alpha: nn.Parameter, block: int = 1 << 17):
        super().__init__()
        self.alpha, self.block = alpha, block

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, length = x.shape
        rows = x.contiguous().view(batch * channels, length)
        alpha = self.alpha.float().reshape(channels, 1).repeat(batch, 1)
        inv_alpha = (alpha + 1e-9).reciprocal()
        out = torch.empty_like(rows)
        step = max(1, self.block // length)
        autograd = records_autograd(x, self.alpha)  # out= records no graph
        for r in range(0, rows.shape[0], step):
            xs = rows[r:r + step].float()
            t = torch.mul(xs, alpha[r:r + step])
            t.sin_().square_()
            if autograd:
                out[r:r + step] = torch.addcmul(xs, t, inv_alpha[r:r + step])
            else:  # straight into the contiguous block: no temporary and no copy
                torch.addcmul(xs, t, inv_alpha[r:r + step], out=out[r:r + step])
        return out.view(batch, channels, length)


def use_cached_snake(model: nn.Module) -> int:
    """Replace every `Snake1d` below `model` by a `CachedSnake` sharing its alpha; returns the count."""
    count = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, Snake1d):
                setattr(parent, name, CachedSnake(child.alpha))
                count += 1
    return count
