"""ConvNeXt 1-D blocks and the Vocos-style backbone (embed conv, LN, N blocks, final LN), optionally AdaLN-conditioned."""
from __future__ import annotations

import torch
from torch import nn

from tts_codec.nn.ada_layer_norm import AdaLayerNorm


class ConvNeXtBlock(nn.Module):
    """Depthwise conv k7 -> (Ada)LN -> Linear -> GELU -> Linear -> layer scale -> residual, on (B, C, T).

    Args:
        dim: channels C.
        intermediate_dim: hidden width of the pointwise MLP.
        layer_scale_init_value: initial per-channel scale `gamma`; <= 0 disables it.
        condition_dim: if set, the norm is an AdaLayerNorm over a (B, condition_dim) vector.
    """

    def __init__(self, dim: int, intermediate_dim: int, layer_scale_init_value: float, condition_dim: int | None = None):
        super().__init__()
        self.dwconv = nn.Conv1d(dim, dim, kernel_size=7, padding=3, groups=dim)
        self.adanorm = condition_dim is not None
        self.norm = AdaLayerNorm(condition_dim, dim, eps=1e-6) if self.adanorm else nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, intermediate_dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(intermediate_dim, dim)
        self.gamma = nn.Parameter(layer_scale_init_value * torch.ones(dim)) if layer_scale_init_value > 0 else None

    def forward(self, x: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        """Args: x (B, C, T); condition (B, condition_dim) when AdaLN. Returns (B, C, T)."""
        residual = x
        x = self.dwconv(x).transpose(1, 2)  # (B, T, C)
        x = self.norm(x, condition) if self.adanorm else self.norm(x)
        x = self.pwconv2(self.act(self.pwconv1(x)))
        if self.gamma is not None:
            x = self.gamma * x
        return residual + x.transpose(1, 2)


class ConvNeXtBackbone(nn.Module):
    """Vocos backbone: Conv1d k7 embed, (Ada)LN, `num_layers` ConvNeXt blocks, final LN.

    Args:
        input_channels: channels of the (B, C_in, T) input.
        dim: model width.
        intermediate_dim: ConvNeXt MLP width.
        num_layers: number of blocks; the layer scale starts at `layer_scale_init_value or 1 / num_layers`.
        condition_dim: enables AdaLN everywhere (the initial norm and every block) when set.
        ada_norm_scale_init: "trunc_normal" re-initialises the AdaLN scale like every other Linear (what the
            official code effectively does, since its backbone-wide init runs after AdaLN's ones-init);
            "ones" keeps AdaLN's intended init (scale weights ones, shift weights zeros).
    """

    def __init__(
        self,
        input_channels: int,
        dim: int,
        intermediate_dim: int,
        num_layers: int,
        layer_scale_init_value: float | None = None,
        condition_dim: int | None = None,
        ada_norm_scale_init: str = "trunc_normal",
    ):
        super().__init__()
        if ada_norm_scale_init not in ("trunc_normal", "ones"):
            raise ValueError(f"ada_norm_scale_init must be 'trunc_normal' or 'ones', not {ada_norm_scale_init!r}")
        self.embed = nn.Conv1d(input_channels, dim, kernel_size=7, padding=3)
        self.adanorm = condition_dim is not None
        self.norm = AdaLayerNorm(condition_dim, dim, eps=1e-6) if self.adanorm else nn.LayerNorm(dim, eps=1e-6)
        scale = layer_scale_init_value or 1 / num_layers
        self.convnext = nn.ModuleList(
            [ConvNeXtBlock(dim, intermediate_dim, scale, condition_dim) for _ in range(num_layers)]
        )
        self.final_layer_norm = nn.LayerNorm(dim, eps=1e-6)
        self.apply(self._init_weights)
        if ada_norm_scale_init == "ones":
            for module in self.modules():
                if isinstance(module, AdaLayerNorm):
                    nn.init.ones_(module.scale.weight)
                    nn.init.zeros_(module.shift.weight)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Conv1d, nn.Linear)):
            nn.init.trunc_normal_(module.weight, std=0.02)
            nn.init.constant_(module.bias, 0)

    def forward(self, x: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        """Args: x (B, C_in, T); condition (B, condition_dim) if conditioned. Returns (B, T, dim) (channels last)."""
        if self.adanorm and condition is None:
            raise ValueError("this ConvNeXtBackbone is conditioned (condition_dim set) but got condition=None")
        x = self.embed(x).transpose(1, 2)
        x = self.norm(x, condition) if self.adanorm else self.norm(x)
        x = x.transpose(1, 2)
        for block in self.convnext:
            x = block(x, condition)
        return self.final_layer_norm(x.transpose(1, 2))
