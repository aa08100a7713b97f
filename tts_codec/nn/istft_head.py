"""Inverse-STFT waveform head and generator (Vocos, Siuzdak 2023): features -> log-magnitude, phase -> iSTFT.

A cheap replacement for a transposed-convolution upsampler: all layers run at the frame rate, and one FFT per
frame makes the samples, so a small codec can spend its CPU time on many training examples instead of on
sample-rate convolutions.
"""
from __future__ import annotations

import torch
from torch import nn

from tts_codec.nn.convnext import ConvNeXtBackbone


class ISTFTHead(nn.Module):
    """Linear(dim -> n_fft + 2) = (log-magnitude, phase) per frequency bin, then a centred Hann iSTFT.

    Args:
        dim: channels of the (B, T, dim) input.
        n_fft: FFT (and window) size; n_fft // 2 + 1 bins.
        hop_length: samples per frame; the output has hop_length * T samples.
        max_log_magnitude: log-magnitudes are clipped here before `exp` (Vocos clips the magnitude at 100).
    """

    def __init__(self, dim: int, n_fft: int, hop_length: int, max_log_magnitude: float = 4.6):
        super().__init__()
        if n_fft < hop_length:
            raise ValueError(f"n_fft ({n_fft}) must be >= hop_length ({hop_length}) for the overlap-add to cover "
                             "every sample")
        self.n_fft, self.hop_length, self.max_log_magnitude = n_fft, hop_length, max_log_magnitude
        self.out = nn.Linear(dim, n_fft + 2)
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (B, T, dim). Returns: (B, 1, hop_length * T) waveform (unbounded; callers may clamp)."""
        log_mag, phase = self.out(x).float().transpose(1, 2).chunk(2, dim=1)  # (B, F, T) each
        mag = log_mag.clamp(max=self.max_log_magnitude).exp()
        spec = torch.polar(mag, phase)  # mag * (cos(phase) + i sin(phase)); the phase is periodic by construction
        frames = x.shape[1]
        wav = torch.istft(spec, self.n_fft, self.hop_length, self.n_fft, self.window, center=True,
                          length=self.hop_length * frames)
        return wav.unsqueeze(1).to(x.dtype)


class ISTFTGenerator(nn.Module):
    """Vocos-style waveform generator: ConvNeXt backbone at the frame rate, then `ISTFTHead`; clamped to [-1, 1]
    like a tanh output. Used by codecs as a cheap stand-in for a transposed-convolution decoder on CPU.

    Args:
        input_channels: channels of the (B, C, T) latent.
        channels: backbone width.
        hop_length: samples per latent frame.
        num_layers: ConvNeXt blocks.
        intermediate_dim: ConvNeXt MLP width (default 3 x channels).
        n_fft: FFT size (default 4 x hop_length).
    """

    def __init__(self, input_channels: int, channels: int, hop_length: int, num_layers: int = 4,
                 intermediate_dim: int | None = None, n_fft: int | None = None):
        super().__init__()
        self.hop_length = hop_length
        self.backbone = ConvNeXtBackbone(input_channels, channels, intermediate_dim or 3 * channels, num_layers)
        self.head = ISTFTHead(channels, n_fft or 4 * hop_length, hop_length)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (B, input_channels, T). Returns (B, 1, T * hop_length) in [-1, 1]."""
        return self.head(self.backbone(x)).clamp(-1.0, 1.0)
