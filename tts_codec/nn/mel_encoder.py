"""Log-mel ConvNeXt encoder (Vocos-style, run backwards): waveform -> one latent frame per hop.

A cheap replacement for a sample-rate convolutional encoder: one STFT makes the frames and every layer runs at the
frame rate, so a small codec trained on CPU spends its time on examples, and starts from features that already
separate the phonemes (the BiCodec mini's semantic path reads log-mel for the same reason).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tts_codec.nn.convnext import ConvNeXtBackbone
from tts_codec.nn.mel import MelSpectrogram

#: log floor of the mel magnitudes (Vocos' `safe_log` clip)
LOG_FLOOR = 1e-5


class MelConvNeXtEncoder(nn.Module):
    """(B, 1, N) waveform -> (B, latent_dim, N // hop_length): log-mel frames centred on each hop, a ConvNeXt
    backbone at the frame rate, then a linear projection to the latent.

    The audio is reflect-padded by (n_fft - hop_length) / 2 on each side and framed without centring, so frame t
    covers samples centred on t * hop + hop / 2, and N a multiple of the hop gives exactly N / hop frames (the
    framing of a strided convolutional encoder).

    Args:
        sample_rate: audio rate (Hz), for the mel filterbank.
        hop_length: samples per latent frame.
        latent_dim: channels of the output.
        channels: backbone width.
        num_layers: ConvNeXt blocks.
        intermediate_dim: ConvNeXt MLP width (default 3 x channels).
        n_fft: FFT and window size (default 4 x hop_length); at least hop_length.
        n_mels: mel bands.
    """

    def __init__(self, sample_rate: int, hop_length: int, latent_dim: int, channels: int, num_layers: int = 4,
                 intermediate_dim: int | None = None, n_fft: int | None = None, n_mels: int = 80):
        super().__init__()
        n_fft = n_fft or 4 * hop_length
        if n_fft < hop_length:
            raise ValueError(f"n_fft ({n_fft}) must be >= hop_length ({hop_length}) so that frames cover the audio")
        overlap = n_fft - hop_length
        self.padding = (overlap // 2, overlap - overlap // 2)
        self.mel = MelSpectrogram(sample_rate, n_fft, n_fft, hop_length, n_mels=n_mels, center=False)
        self.backbone = ConvNeXtBackbone(n_mels, channels, intermediate_dim or 3 * channels, num_layers)
        self.proj = nn.Linear(channels, latent_dim)

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        """Args: wav (B, 1, N), N a multiple of hop_length and longer than the padding. Returns (B, latent_dim,
        N // hop_length)."""
        padded = F.pad(wav, self.padding, mode="reflect").squeeze(1)
        log_mel = self.mel(padded.float()).clamp(min=LOG_FLOOR).log()
        return self.proj(self.backbone(log_mel.to(wav.dtype))).transpose(1, 2)
