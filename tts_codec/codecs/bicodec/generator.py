"""BiCodec wave generators: the official DAC decoder (WN convs, snake, transposed-conv upsampling, dilated residual
units), and ours, a Vocos-style ConvNeXt + inverse-STFT generator for tiny CPU runs (`codec_conf.decoder.type`)."""
from __future__ import annotations

import torch
from torch import nn

from tts_codec.codecs.bicodec.config import WaveGeneratorConfig
from tts_codec.errors import UserError
from tts_codec.nn.istft_head import ISTFTGenerator
from tts_codec.nn.snake import Snake1d
from tts_codec.nn.weight_norm import wn_conv1d, wn_conv_transpose1d


class ResidualUnit(nn.Module):
    """Snake, WN conv k7 (dilated), snake, WN conv k1, residual."""

    def __init__(self, dim: int, dilation: int = 1):
        super().__init__()
        pad = ((7 - 1) * dilation) // 2
        self.block = nn.Sequential(
            Snake1d(dim),
            wn_conv1d(dim, dim, kernel_size=7, dilation=dilation, padding=pad),
            Snake1d(dim),
            wn_conv1d(dim, dim, kernel_size=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        pad = (x.shape[-1] - y.shape[-1]) // 2
        if pad > 0:
            x = x[..., pad:-pad]
        return x + y


class DecoderBlock(nn.Module):
    """Snake, WN transposed conv (upsample by `stride`), residual units with dilations 1, 3, 9."""

    def __init__(self, input_dim: int, output_dim: int, kernel_size: int, stride: int):
        super().__init__()
        self.block = nn.Sequential(
            Snake1d(input_dim),
            wn_conv_transpose1d(
                input_dim, output_dim, kernel_size=kernel_size, stride=stride, padding=(kernel_size - stride) // 2
            ),
            ResidualUnit(output_dim, dilation=1),
            ResidualUnit(output_dim, dilation=3),
            ResidualUnit(output_dim, dilation=9),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class WaveGenerator(nn.Module):
    """WN conv k7 in, one DecoderBlock per rate (channels halve each time), snake, WN conv k7 out, tanh."""

    def __init__(self, cfg: WaveGeneratorConfig):
        super().__init__()
        if len(cfg.rates) != len(cfg.kernel_sizes):
            raise ValueError(f"decoder.rates {cfg.rates} and decoder.kernel_sizes {cfg.kernel_sizes} differ in length")
        layers: list[nn.Module] = [wn_conv1d(cfg.input_channel, cfg.channels, kernel_size=7, padding=3)]
        for i, (kernel_size, stride) in enumerate(zip(cfg.kernel_sizes, cfg.rates)):
            layers.append(DecoderBlock(cfg.channels // 2**i, cfg.channels // 2 ** (i + 1), kernel_size, stride))
        out_dim = cfg.channels // 2 ** len(cfg.rates)
        layers += [Snake1d(out_dim), wn_conv1d(out_dim, cfg.d_out, kernel_size=7, padding=3), nn.Tanh()]
        self.model = nn.Sequential(*layers)
        self.hop_length = 1
        for rate in cfg.rates:
            self.hop_length *= rate
        for module in self.modules():  # DAC init: zero conv biases (its weight init is a no-op under weight norm)
            if type(module) is nn.Conv1d:
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (B, input_channel, T). Returns (B, d_out, T * prod(rates)) in [-1, 1]."""
        return self.model(x)


def _istft_generator(cfg: WaveGeneratorConfig) -> ISTFTGenerator:
    """Ours (Vocos, `type: istft`): the shared ConvNeXt + inverse-STFT generator, hop = prod(rates)."""
    hop_length = 1
    for rate in cfg.rates:
        hop_length *= rate
    return ISTFTGenerator(cfg.input_channel, cfg.channels, hop_length, cfg.num_layers, cfg.intermediate_dim,
                          cfg.n_fft)


#: Registry of `codec_conf.decoder.type`.
WAVE_GENERATORS = {"dac": WaveGenerator, "istft": _istft_generator}


def build_wave_generator(cfg: WaveGeneratorConfig) -> nn.Module:
    """The generator named by `cfg.type`."""
    if cfg.type not in WAVE_GENERATORS:
        raise UserError(f"config: codec_conf.decoder.type must be one of {sorted(WAVE_GENERATORS)}, got {cfg.type!r}")
    return WAVE_GENERATORS[cfg.type](cfg)
