"""DAC-style waveform discriminators: multi-period (MPD) + multi-band complex-STFT (MRD), combined in one module.

They see only waveforms, so any codec (BiCodec, SNAC, ...) can train against them. Every sub-discriminator returns
its list of feature maps; the last map is the logit map used by the LSGAN losses in `tts_codec.train.gan.losses`.

NOTE(mrd_compat): the official BiCodec trainer (SparkVox `WaveDiscriminator`) passes `hop_sizes[i]` into the MRD's
`win_length` slot and `win_lengths[i]` into its `hop_size` slot, so the configured hops [512, 256, 128] become the
STFT windows and the configured windows [1200, 600, 300] become the hops. `mrd_compat: true` (default) reproduces
that trained behaviour; `false` uses the parameters as named. See ../shared/specs/bicodec_spark.md §4.3 and §9.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from tts_codec.errors import UserError

#: Frequency bands of the MRD as fractions of the one-sided spectrum (DAC's BANDS).
DEFAULT_BANDS = ((0.0, 0.1), (0.1, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.0))
LEAKY_SLOPE = 0.1

FeatureMaps = list[torch.Tensor]


def _conv2d(c_in: int, c_out: int, kernel, stride, padding, act: bool = True) -> nn.Module:
    """Weight-normalised Conv2d, followed by LeakyReLU(0.1) unless `act` is False."""
    conv = weight_norm(nn.Conv2d(c_in, c_out, kernel, stride, padding))
    return nn.Sequential(conv, nn.LeakyReLU(LEAKY_SLOPE)) if act else conv


class PeriodDiscriminator(nn.Module):
    """MPD branch: folds the waveform into (T/p, p) columns and applies (k, 1) convolutions.

    Args:
        period: fold width in samples.
        channels: output channels of the five strided/plain conv layers (DAC: 32, 128, 512, 1024, 1024).
    """

    def __init__(self, period: int, channels: Sequence[int] = (32, 128, 512, 1024, 1024)):
        super().__init__()
        if len(channels) != 5:
            raise UserError(f"discriminator.mpd_channels needs 5 values, got {list(channels)}")
        self.period = period
        c_in = [1, *channels[:-1]]
        strides = [3, 3, 3, 3, 1]
        self.convs = nn.ModuleList(
            _conv2d(i, o, (5, 1), (s, 1), (2, 0)) for i, o, s in zip(c_in, channels, strides)
        )
        self.conv_post = _conv2d(channels[-1], 1, (3, 1), 1, (1, 0), act=False)

    def forward(self, x: torch.Tensor) -> FeatureMaps:
        """Args: x (B, 1, N). Returns: feature maps (B, C, L, period); the last one is the (B, 1, L, period) logit."""
        # DAC pads a full extra period when N is already a multiple; kept so shapes match the official trainer.
        x = F.pad(x, (0, self.period - x.shape[-1] % self.period), mode="reflect")
        x = x.reshape(x.shape[0], x.shape[1], -1, self.period)
        fmaps = []
        for layer in self.convs:
            x = layer(x)
            fmaps.append(x)
        fmaps.append(self.conv_post(x))
        return fmaps


class BandSTFTDiscriminator(nn.Module):
    """MRD branch: complex STFT (real/imag as 2 channels) split into frequency bands, one conv stack per band.

    Args:
        n_fft: FFT size.
        hop_length: STFT hop in samples.
        win_length: Hann window length (<= n_fft).
        bands: (lo, hi) fractions of the n_fft // 2 + 1 bins.
        channels: conv channels of every band stack (DAC: 32).
    """

    def __init__(
        self,
        n_fft: int,
        hop_length: int,
        win_length: int,
        bands: Sequence[Sequence[float]] = DEFAULT_BANDS,
        channels: int = 32,
    ):
        super().__init__()
        if win_length > n_fft:
            raise UserError(f"discriminator: STFT window {win_length} is longer than n_fft {n_fft}")
        self.n_fft, self.hop_length, self.win_length = n_fft, hop_length, win_length
        self.register_buffer("window", torch.hann_window(win_length), persistent=False)
        n_bins = n_fft // 2 + 1
        self.bands = [(int(lo * n_bins), int(hi * n_bins)) for lo, hi in bands]

        def stack() -> nn.ModuleList:
            ch = channels
            return nn.ModuleList(
                [
                    _conv2d(2, ch, (3, 9), (1, 1), (1, 4)),
                    _conv2d(ch, ch, (3, 9), (1, 2), (1, 4)),
                    _conv2d(ch, ch, (3, 9), (1, 2), (1, 4)),
                    _conv2d(ch, ch, (3, 9), (1, 2), (1, 4)),
                    _conv2d(ch, ch, (3, 3), (1, 1), (1, 1)),
                ]
            )

        self.band_convs = nn.ModuleList(stack() for _ in self.bands)
        self.conv_post = _conv2d(channels, 1, (3, 3), (1, 1), (1, 1), act=False)

    def spectrogram(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Args: x (B, 1, N). Returns: per band (B, 2, frames, band_bins) real/imag stacks."""
        spec = torch.stft(
            x.squeeze(1), self.n_fft, self.hop_length, self.win_length, self.window,
            center=True, pad_mode="reflect", return_complex=True,
        )  # (B, F, frames)
        spec = torch.view_as_real(spec).permute(0, 3, 2, 1)  # (B, 2, frames, F)
        return [spec[..., lo:hi] for lo, hi in self.bands]

    def forward(self, x: torch.Tensor) -> FeatureMaps:
        """Args: x (B, 1, N). Returns: feature maps of every band layer, then the (B, 1, frames, F') logit."""
        fmaps, outs = [], []
        for band, stack in zip(self.spectrogram(x), self.band_convs):
            for layer in stack:
                band = layer(band)
                fmaps.append(band)
            outs.append(band)
        fmaps.append(self.conv_post(torch.cat(outs, dim=-1)))
        return fmaps


class WaveDiscriminator(nn.Module):
    """All sub-discriminators on DC-removed, peak-normalised audio (DAC `Discriminator` without MSD).

    Args:
        periods: MPD periods.
        fft_sizes, hop_lengths, win_lengths: one MRD per entry (see `mrd_compat` in the module docstring).
        bands: MRD frequency bands.
        mpd_channels: conv channels of each MPD.
        mrd_channels: conv channels of each MRD band stack.
        mrd_compat: reproduce the official window/hop swap (default True).
        peak: peak level the input is normalised to.
    """

    def __init__(
        self,
        periods: Sequence[int] = (2, 3, 5, 7, 11),
        fft_sizes: Sequence[int] = (2048, 1024, 512),
        hop_lengths: Sequence[int] = (512, 256, 128),
        win_lengths: Sequence[int] = (1200, 600, 300),
        bands: Sequence[Sequence[float]] = DEFAULT_BANDS,
        mpd_channels: Sequence[int] = (32, 128, 512, 1024, 1024),
        mrd_channels: int = 32,
        mrd_compat: bool = True,
        peak: float = 0.8,
    ):
        super().__init__()
        if not len(fft_sizes) == len(hop_lengths) == len(win_lengths):
            raise UserError(
                "discriminator: fft_sizes, hop_lengths and win_lengths must have the same length, got "
                f"{list(fft_sizes)}, {list(hop_lengths)}, {list(win_lengths)}"
            )
        self.peak = peak
        self.mrd_compat = mrd_compat
        discs: list[nn.Module] = [PeriodDiscriminator(p, mpd_channels) for p in periods]
        for n_fft, hop, win in zip(fft_sizes, hop_lengths, win_lengths):
            if mrd_compat:
                hop, win = win, hop
            discs.append(BandSTFTDiscriminator(n_fft, hop, win, bands, mrd_channels))
        self.discriminators = nn.ModuleList(discs)

    @classmethod
    def from_config(cls, conf: dict[str, Any]) -> "WaveDiscriminator":
        """Build from the `discriminator:` config mapping (unknown keys are an error naming the key)."""
        known = {
            "periods", "fft_sizes", "hop_lengths", "win_lengths", "bands", "mpd_channels", "mrd_channels",
            "mrd_compat", "peak",
        }
        unknown = sorted(set(conf) - known)
        if unknown:
            raise UserError(f"config discriminator: unknown key(s) {unknown}; known: {sorted(known)}")
        return cls(**conf)

    def preprocess(self, wav: torch.Tensor) -> torch.Tensor:
        """Remove the DC offset and scale each waveform to `peak` (as the official trainer does)."""
        wav = wav - wav.mean(dim=-1, keepdim=True)
        return self.peak * wav / (wav.abs().amax(dim=-1, keepdim=True) + 1e-9)

    def forward(self, wav: torch.Tensor) -> list[FeatureMaps]:
        """Args: wav (B, N) or (B, 1, N). Returns: one feature-map list per sub-discriminator (logits last)."""
        if wav.dim() == 2:
            wav = wav.unsqueeze(1)
        if wav.dim() != 3 or wav.shape[1] != 1:
            raise ValueError(f"WaveDiscriminator expects (B, N) or (B, 1, N) audio, got shape {tuple(wav.shape)}")
        wav = self.preprocess(wav)
        return [disc(wav) for disc in self.discriminators]
