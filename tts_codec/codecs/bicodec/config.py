"""Typed views of the `codec_conf` sub-dicts; key names mirror the official BiCodec `config.yaml` one to one."""
from __future__ import annotations

import dataclasses
import logging
from typing import Any, TypeVar

from tts_codec.errors import UserError

log = logging.getLogger(__name__)
T = TypeVar("T")

# Keys the official config carries that its code never reads; accepted with a warning (spec section 9).
IGNORED_KEYS = {"use_l2_normlize", "momentum"}


def from_mapping(cls: type[T], conf: Any, where: str) -> T:
    """Build dataclass `cls` from `conf`, failing by name on missing or unknown keys (`where` = dotted config path)."""
    if not isinstance(conf, dict):
        raise UserError(f"config: '{where}' must be a mapping, got {type(conf).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(conf) - set(fields) - IGNORED_KEYS)
    if unknown:
        raise UserError(f"config: unknown key(s) {', '.join(f'{where}.{k}' for k in unknown)}; known: {sorted(fields)}")
    for key in sorted(set(conf) & IGNORED_KEYS):
        log.warning("config: '%s.%s' is accepted but has no effect (as in the official BiCodec code)", where, key)
    missing = [
        name for name, f in fields.items()
        if name not in conf and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise UserError(f"config: required key '{where}.{missing[0]}' is missing")
    return cls(**{k: v for k, v in conf.items() if k in fields})


@dataclasses.dataclass
class MelConfig:
    """Speaker-encoder mel front-end (`codec_conf.mel_params`)."""

    sample_rate: int
    n_fft: int
    win_length: int
    hop_length: int
    mel_fmin: float
    mel_fmax: float | None
    num_mels: int


@dataclasses.dataclass
class EncoderConfig:
    """Semantic encoder (`codec_conf.encoder`)."""

    input_channels: int
    vocos_dim: int
    vocos_intermediate_dim: int
    vocos_num_layers: int
    out_channels: int
    sample_ratios: list[int] = dataclasses.field(default_factory=lambda: [1, 1])


@dataclasses.dataclass
class FeatureDecoderConfig:
    """Prenet / postnet (`codec_conf.prenet`, `codec_conf.postnet`)."""

    input_channels: int
    vocos_dim: int
    vocos_intermediate_dim: int
    vocos_num_layers: int
    out_channels: int
    condition_dim: int | None = None
    sample_ratios: list[int] = dataclasses.field(default_factory=lambda: [1, 1])
    use_tanh_at_final: bool = False
    ada_norm_scale_init: str = "trunc_normal"  # ours: "ones" = AdaLN's intended init (official effective: trunc_normal)


@dataclasses.dataclass
class WaveGeneratorConfig:
    """Wave generator (`codec_conf.decoder`): the official DAC decoder, or ours, a Vocos-style iSTFT generator.

    `type: istft` (ours) reads input_channel, channels (backbone width), num_layers, intermediate_dim and n_fft;
    the hop is prod(rates); kernel_sizes and d_out are not used.
    """

    input_channel: int
    channels: int
    rates: list[int]
    kernel_sizes: list[int]
    d_out: int = 1
    type: str = "dac"  # ours: dac | istft
    num_layers: int = 4  # ours, istft: ConvNeXt blocks before the head
    intermediate_dim: int | None = None  # ours, istft: ConvNeXt MLP width (default 3 x channels)
    n_fft: int | None = None  # ours, istft: FFT size (default 4 x hop)


@dataclasses.dataclass
class QuantizerConfig:
    """Semantic factorised VQ (`codec_conf.quantizer`)."""

    input_dim: int
    codebook_size: int
    codebook_dim: int
    commitment: float
    codebook_loss_weight: float = 1.0
    decay: float = 0.99
    threshold_ema_dead_code: float = 2.0
    dead_code_reset: bool = False  # ours: re-initialise unused codes from batch latents (bicodec_spark.md §9)


@dataclasses.dataclass
class SpeakerEncoderConfig:
    """Global-token speaker encoder (`codec_conf.speaker_encoder`)."""

    input_dim: int = 100
    out_dim: int = 512
    latent_dim: int = 128
    token_num: int = 32
    fsq_levels: list[int] = dataclasses.field(default_factory=lambda: [4, 4, 4, 4, 4, 4])
    fsq_num_quantizers: int = 1
    ecapa_channels: int = 512  # ours: the official model hard-codes ECAPA_TDNN_GLOB_c512
    ecapa_latent_dim: int = 1536  # ours: hard-coded 512 * 3 in the official ECAPA
    perceiver_depth: int = 2  # ours: hard-coded in the official PerceiverResampler
    perceiver_heads: int = 8  # ours
    perceiver_dim_head: int = 64  # ours
    token_batch_norm: bool = False  # ours: standardise the token latents over the batch before the FSQ
