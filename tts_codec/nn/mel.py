"""Mel spectrogram without torchaudio: torch.stft magnitude times librosa's slaney mel filterbank.

Matches torchaudio's `MelSpectrogram(norm="slaney", mel_scale="slaney")` (periodic Hann window of `win_length`
centred in `n_fft`, reflect padding when `center`), so official checkpoints see the features they were trained on.
"""
from __future__ import annotations

import librosa
import torch
from torch import nn


class MelSpectrogram(nn.Module):
    """(B, N) waveform -> (B, n_mels, frames) mel spectrogram, |STFT|^power, no log.

    Buffers `window` (win_length,) and `filterbank` (n_fft // 2 + 1, n_mels) are saved with the model.
    With center=True, frames = N // hop_length + 1; with center=False, frames = (N - n_fft) // hop_length + 1.
    """

    def __init__(
        self, sample_rate: int, n_fft: int, win_length: int, hop_length: int, f_min: float = 0.0,
        f_max: float | None = None, n_mels: int = 128, power: float = 1.0, center: bool = True,
    ):
        super().__init__()
        self.n_fft, self.win_length, self.hop_length = n_fft, win_length, hop_length
        self.power, self.center = power, center
        fb = librosa.filters.mel(
            sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=f_min, fmax=f_max, htk=False, norm="slaney"
        )
        self.register_buffer("window", torch.hann_window(win_length))
        self.register_buffer("filterbank", torch.from_numpy(fb.T.copy()).float())

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        """Args: wav (B, N) float. Returns (B, n_mels, frames)."""
        spec = torch.stft(
            wav, self.n_fft, self.hop_length, self.win_length, self.window, center=self.center,
            pad_mode="reflect", normalized=False, onesided=True, return_complex=True,
        ).abs()
        if self.power != 1.0:
            spec = spec.pow(self.power)
        return torch.matmul(spec.transpose(-1, -2), self.filterbank).transpose(-1, -2)
