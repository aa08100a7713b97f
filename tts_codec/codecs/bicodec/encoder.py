"""BiCodec semantic encoder: SSL features -> ConvNeXt backbone -> sampling stages -> latent for the quantiser."""
from __future__ import annotations

import torch
from torch import nn

from tts_codec.codecs.bicodec.config import EncoderConfig
from tts_codec.nn.convnext import ConvNeXtBackbone
from tts_codec.nn.resample import SamplingBlock


class SemanticEncoder(nn.Module):
    """ConvNeXt backbone, then per ratio a SamplingBlock (downsampling) + 2-layer backbone, then Linear.

    The official `sample_ratios` are [1, 1], so each stage multiplies by 3 (see `tts_codec.nn.resample`).
    """

    def __init__(self, cfg: EncoderConfig):
        super().__init__()
        dim = cfg.vocos_dim
        self.encoder = ConvNeXtBackbone(cfg.input_channels, dim, cfg.vocos_intermediate_dim, cfg.vocos_num_layers)
        self.downsample = nn.Sequential(*[
            nn.Sequential(
                SamplingBlock(dim, groups=dim, downsample_scale=ratio),
                ConvNeXtBackbone(dim, dim, cfg.vocos_intermediate_dim, num_layers=2),
            )
            for ratio in cfg.sample_ratios
        ])
        self.project = nn.Linear(dim, cfg.out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (B, input_channels, T). Returns (B, out_channels, T / prod(sample_ratios))."""
        return self.project(self.downsample(self.encoder(x))).transpose(1, 2)
