"""BiCodec global (speaker) path: ECAPA-TDNN x-vector, perceiver to 32 latents, FSQ global tokens, d-vector."""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from tts_codec.codecs.bicodec.config import SpeakerEncoderConfig
from tts_codec.nn.ecapa_tdnn import EcapaTdnn
from tts_codec.nn.fsq import ResidualFSQ
from tts_codec.nn.perceiver import PerceiverResampler


class SpeakerOutput(NamedTuple):
    """x_vector (B, out_dim) pooled ECAPA embedding; d_vector (B, out_dim) from the quantised tokens;
    tokens (B, Q, token_num) int64 global tokens (Q = fsq_num_quantizers, 1 for BiCodec)."""

    x_vector: torch.Tensor
    d_vector: torch.Tensor
    tokens: torch.Tensor


class SpeakerEncoder(nn.Module):
    """Mel (B, F, T_mel) -> x-vector, global tokens and the d-vector rebuilt from them."""

    def __init__(self, cfg: SpeakerEncoderConfig):
        super().__init__()
        self.token_num = cfg.token_num
        self.speaker_encoder = EcapaTdnn(cfg.input_dim, cfg.out_dim, cfg.ecapa_channels, cfg.ecapa_latent_dim)
        self.perceiver_sampler = PerceiverResampler(
            dim=cfg.latent_dim, dim_context=self.speaker_encoder.latent_dim, num_latents=cfg.token_num,
            depth=cfg.perceiver_depth, heads=cfg.perceiver_heads, dim_head=cfg.perceiver_dim_head,
        )
        # Ours (off in the official config): standardise each token channel over the batch before the FSQ. At
        # initialisation the perceiver output varies ~40x less between utterances than between token positions,
        # far below one FSQ step, so every utterance gets the same 32 codes and the tokens never learn to differ.
        self.token_norm = (nn.BatchNorm1d(cfg.token_num * cfg.latent_dim, affine=False)
                           if cfg.token_batch_norm else None)
        self.quantizer = ResidualFSQ(cfg.fsq_levels, cfg.fsq_num_quantizers, cfg.latent_dim)
        self.project = nn.Linear(cfg.latent_dim * cfg.token_num, cfg.out_dim)

    @property
    def codebook_size(self) -> int:
        return self.quantizer.codebook_size

    def _d_vector(self, quantized: torch.Tensor) -> torch.Tensor:
        # Flatten channel-major, (B, latent, tokens), as the official checkpoint's `project` expects.
        return self.project(quantized.transpose(1, 2).reshape(quantized.shape[0], -1))

    def _latents(self, latent: torch.Tensor) -> torch.Tensor:
        """ECAPA frame latent (B, C, T) -> token latents (B, token_num, latent_dim) for the FSQ."""
        x = self.perceiver_sampler(latent.transpose(1, 2))
        if self.token_norm is not None:
            x = self.token_norm(x.reshape(x.shape[0], -1)).reshape(x.shape)
        return x

    def forward(self, mel: torch.Tensor) -> SpeakerOutput:
        """Args: mel (B, input_dim, T_mel). Returns `SpeakerOutput`."""
        x_vector, latent = self.speaker_encoder(mel)
        quantized, indices = self.quantizer(self._latents(latent))
        return SpeakerOutput(x_vector, self._d_vector(quantized), indices.transpose(1, 2))

    def tokenize(self, mel: torch.Tensor) -> torch.Tensor:
        """Args: mel (B, input_dim, T_mel). Returns global tokens (B, Q, token_num) int64."""
        _, latent = self.speaker_encoder(mel)
        _, indices = self.quantizer(self._latents(latent))
        return indices.transpose(1, 2)

    def detokenize(self, tokens: torch.Tensor) -> torch.Tensor:
        """Args: tokens (B, Q, token_num). Returns the d-vector (B, out_dim)."""
        return self._d_vector(self.quantizer.decode(tokens.transpose(1, 2)))
