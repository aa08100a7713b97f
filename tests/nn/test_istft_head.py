"""The inverse-STFT head: output length, range of the log-magnitude, and that it can express a known signal."""
import math

import pytest
import torch

from tts_codec.nn.istft_head import ISTFTHead


def test_output_is_hop_times_frames_samples():
    torch.manual_seed(0)
    head = ISTFTHead(dim=8, n_fft=64, hop_length=16)
    wav = head(torch.randn(3, 10, 8))
    assert wav.shape == (3, 1, 160) and torch.isfinite(wav).all()


def test_log_magnitude_is_clipped():
    head = ISTFTHead(dim=1, n_fft=16, hop_length=4, max_log_magnitude=1.0)
    with torch.no_grad():
        head.out.weight.fill_(0.0)
        head.out.bias.fill_(0.0)
        head.out.bias[: 9] = 50.0  # log-magnitudes far above the clip
    wav = head(torch.zeros(1, 8, 1))
    assert torch.isfinite(wav).all() and wav.abs().max() < 10


def test_a_constant_spectrum_makes_a_sinusoid_of_that_bin():
    n_fft, hop, frames = 64, 16, 12
    head = ISTFTHead(dim=1, n_fft=n_fft, hop_length=hop)
    bins = n_fft // 2 + 1
    with torch.no_grad():
        head.out.weight.fill_(0.0)
        bias = torch.full((n_fft + 2,), -30.0)
        bias[4] = math.log(n_fft / 2)  # bin 4, magnitude n_fft/2 -> amplitude ~1
        bias[bins:] = 0.0  # zero phase
        head.out.bias.copy_(bias)
    wav = head(torch.zeros(1, frames, 1))[0, 0]
    spectrum = torch.fft.rfft(wav[hop * 2: hop * 10])  # away from the edges: 128 samples, bin 4 -> index 8
    assert spectrum.abs().argmax().item() == 8


def test_n_fft_must_cover_the_hop():
    with pytest.raises(ValueError, match="n_fft"):
        ISTFTHead(dim=4, n_fft=8, hop_length=16)
