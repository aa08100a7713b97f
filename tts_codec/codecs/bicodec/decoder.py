"""BiCodec feature decoder, used twice: the d-vector-conditioned prenet and the SSL-predicting postnet."""
from __future__ import annotations

import torch
from torch import nn

from tts_codec.codecs.bicodec.config import FeatureDecoderConfig
from tts_codec.nn.convnext import ConvNeXtBackbone
from tts_codec.nn.resample import SamplingBlock


class FeatureDecoder(nn.Module):
    """Linear, per ratio a SamplingBlock (upsampling) + 2-layer backbone, a (conditioned) backbone, Linear.

    `downsample` is the official attribute name although these stages upsample.
    """

    def __init__(self, cfg: FeatureDecoderConfig):
        super().__init__()
        dim = cfg.vocos_dim
        self.linear_pre = nn.Linear(cfg.input_channels, dim)
        self.downsample = nn.Sequential(*[
            nn.Sequential(
                SamplingBlock(dim, groups=dim, upsample_scale=ratio),
                ConvNeXtBackbone(dim, dim, cfg.vocos_intermediate_dim, num_layers=2),
            )
            for ratio in cfg.sample_ratios
        ])
        self.vocos_backbone = ConvNeXtBackbone(
            dim, dim, cfg.vocos_intermediate_dim, cfg.vocos_num_layers,
            condition_dim=cfg.condition_dim, ada_norm_scale_init=cfg.ada_norm_scale_init,
        )
        self.linear = nn.Linear(dim, cfg.out_channels)
        self.use_tanh_at_final = cfg.use_tanh_at_final

    def forward(self, x: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        """Args: x (B, input_channels, T); condition (B, condition_dim) when conditioned.

        Returns:
            (B, out_channels, T * prod(sample_ratios)).
        """
        x = self.linear_pre(x.transpose(1, 2))
        x = self.downsample(x).transpose(1, 2)
        x = self.linear(self.vocos_backbone(x, condition)).transpose(1, 2)
        return torch.tanh(x) if self.use_tanh_at_final else x
