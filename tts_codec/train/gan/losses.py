"""GAN and reconstruction losses on waveforms: LSGAN adversarial terms, L1 feature matching, multi-scale log-mel L1.

The discriminator outputs are lists (one per sub-discriminator) of feature-map lists whose last entry is the logit
map, as returned by `WaveDiscriminator`. Reductions follow the official BiCodec trainer: each map is averaged, then
the averages are summed over maps and sub-discriminators.
"""
from __future__ import annotations

import warnings
from typing import Any, Sequence

import librosa
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tts_codec.errors import UserError

DiscOutputs = Sequence[Sequence[torch.Tensor]]


def discriminator_loss(real: DiscOutputs, fake: DiscOutputs) -> torch.Tensor:
    """LSGAN discriminator loss: sum over sub-discriminators of mean((1 - D(real))^2) + mean(D(fake)^2)."""
    loss = real[0][-1].new_zeros(())
    for fmaps_real, fmaps_fake in zip(real, fake, strict=True):
        loss = loss + torch.mean((1 - fmaps_real[-1]) ** 2) + torch.mean(fmaps_fake[-1] ** 2)
    return loss


def generator_adversarial_loss(fake: DiscOutputs) -> torch.Tensor:
    """LSGAN generator loss: sum over sub-discriminators of mean((1 - D(fake))^2)."""
    loss = fake[0][-1].new_zeros(())
    for fmaps in fake:
        loss = loss + torch.mean((1 - fmaps[-1]) ** 2)
    return loss


def feature_matching_loss(real: DiscOutputs, fake: DiscOutputs) -> torch.Tensor:
    """Sum of L1 distances between intermediate feature maps (logits excluded); the real maps are detached."""
    loss = fake[0][0].new_zeros(())
    for fmaps_real, fmaps_fake in zip(real, fake, strict=True):
        for map_real, map_fake in zip(fmaps_real[:-1], fmaps_fake[:-1], strict=True):
            loss = loss + F.l1_loss(map_fake, map_real.detach())
    return loss


class MultiScaleMelLoss(nn.Module):
    """Sum over resolutions of L1(log10(clamp(mel(x))), log10(clamp(mel(y)))) (BigCodec / official BiCodec).

    Each resolution uses win = n_fft = w, hop = w // 4, a periodic Hann window, centred reflect-padded frames,
    magnitude (power 1) spectra and a full-band Slaney mel filterbank from librosa (matching torchaudio's
    `MelSpectrogram(norm="slaney", mel_scale="slaney")`, so no torchaudio is needed).

    Args:
        sample_rate: audio rate in Hz.
        n_mels: mel bands per resolution.
        window_lengths: window (= FFT) size per resolution.
        clamp_eps: floor applied to the mel magnitudes before the log.
        pow: exponent applied after the clamp.
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        n_mels: Sequence[int] = (5, 10, 20, 40, 80, 160, 320),
        window_lengths: Sequence[int] = (32, 64, 128, 256, 512, 1024, 2048),
        clamp_eps: float = 1e-5,
        pow: float = 1.0,
    ):
        super().__init__()
        if len(n_mels) != len(window_lengths):
            raise UserError(f"config mel_loss: n_mels {list(n_mels)} and window_lengths {list(window_lengths)} "
                            "differ in length")
        self.window_lengths = [int(w) for w in window_lengths]
        self.clamp_eps, self.pow = clamp_eps, pow
        for i, (n_mel, win) in enumerate(zip(n_mels, self.window_lengths)):
            with warnings.catch_warnings():
                # Fine resolutions of the 320-band bank leave a few empty low filters; the official loss has them too.
                warnings.simplefilter("ignore", UserWarning)
                fb = librosa.filters.mel(sr=sample_rate, n_fft=win, n_mels=int(n_mel), fmin=0.0, fmax=sample_rate / 2,
                                         htk=False, norm="slaney")
            self.register_buffer(f"fb_{i}", torch.from_numpy(fb.astype(np.float32)), persistent=False)
            self.register_buffer(f"win_{i}", torch.hann_window(win), persistent=False)

    @classmethod
    def from_config(cls, conf: dict[str, Any]) -> "MultiScaleMelLoss":
        """Build from the `mel_loss:` config mapping."""
        known = {"sample_rate", "n_mels", "window_lengths", "clamp_eps", "pow"}
        unknown = sorted(set(conf) - known)
        if unknown:
            raise UserError(f"config mel_loss: unknown key(s) {unknown}; known: {sorted(known)}")
        return cls(**conf)

    def log_mel(self, wav: torch.Tensor, index: int) -> torch.Tensor:
        """Args: wav (B, N). Returns: (B, n_mels, frames) log10 mel magnitudes of resolution `index`."""
        win = self.window_lengths[index]
        spec = torch.stft(wav, win, win // 4, win, getattr(self, f"win_{index}"), center=True, pad_mode="reflect",
                          return_complex=True).abs()
        mel = torch.matmul(getattr(self, f"fb_{index}"), spec)
        return mel.clamp(min=self.clamp_eps).pow(self.pow).log10()

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Args: x, y (B, N) or (B, 1, N) waveforms of equal length. Returns: scalar loss."""
        x, y = x.reshape(-1, x.shape[-1]), y.reshape(-1, y.shape[-1])
        if x.shape != y.shape:
            raise ValueError(f"mel loss needs equal shapes, got {tuple(x.shape)} and {tuple(y.shape)}")
        loss = x.new_zeros(())
        for i in range(len(self.window_lengths)):
            loss = loss + F.l1_loss(self.log_mel(x, i), self.log_mel(y, i))
        return loss
