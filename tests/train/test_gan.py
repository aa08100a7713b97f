"""Discriminator shapes and GAN/mel loss values on known cases."""
import pytest
import torch

from tts_codec.errors import UserError
from tts_codec.train.gan import (
    BandSTFTDiscriminator,
    MultiScaleMelLoss,
    WaveDiscriminator,
    discriminator_loss,
    feature_matching_loss,
    generator_adversarial_loss,
)

TINY = dict(mpd_channels=[4, 8, 8, 8, 8], mrd_channels=4)


def test_wave_discriminator_shapes():
    torch.manual_seed(0)
    disc = WaveDiscriminator(**TINY)
    wav = torch.randn(2, 1, 16000)
    outs = disc(wav)
    assert len(outs) == 5 + 3  # 5 MPD + 3 MRD
    for period, fmaps in zip([2, 3, 5, 7, 11], outs[:5]):
        assert len(fmaps) == 6  # 5 conv layers + logits
        assert fmaps[-1].shape[:2] == (2, 1) and fmaps[-1].shape[-1] == period
    for fmaps in outs[5:]:
        assert len(fmaps) == 5 * 5 + 1  # 5 bands x 5 layers + logits
        assert fmaps[-1].shape[:2] == (2, 1)
    # (B, N) input is accepted too and gives the same result.
    outs2 = disc(wav.squeeze(1))
    assert torch.equal(outs2[0][-1], outs[0][-1])


@pytest.mark.parametrize("compat, frames", [(True, 16000 // 1200 + 1), (False, 16000 // 512 + 1)])
def test_mrd_compat_swaps_window_and_hop(compat, frames):
    disc = WaveDiscriminator(periods=[], fft_sizes=[2048], hop_lengths=[512], win_lengths=[1200], mrd_compat=compat,
                             **TINY)
    mrd = disc.discriminators[0]
    assert isinstance(mrd, BandSTFTDiscriminator)
    assert (mrd.hop_length, mrd.win_length) == ((1200, 512) if compat else (512, 1200))
    logits = disc(torch.randn(1, 16000))[0][-1]
    assert logits.shape[2] == frames


def test_preprocess_removes_dc_and_normalises_peak():
    disc = WaveDiscriminator(**TINY)
    wav = 0.3 * torch.sin(torch.linspace(0, 100, 8000))[None] + 0.5
    out = disc.preprocess(wav)
    assert out.mean().abs() < 1e-6
    assert out.abs().max() == pytest.approx(0.8, abs=1e-6)
    # Gain does not change what the discriminator sees.
    assert torch.allclose(disc.preprocess(3 * wav), out, atol=1e-6)


def test_from_config_rejects_unknown_key():
    with pytest.raises(UserError, match="unknown key.*'channels'"):
        WaveDiscriminator.from_config({"channels": 3})


def _const_outputs(value, n_disc=3, n_maps=2):
    return [[torch.full((2, 3), float(value)) for _ in range(n_maps)] for _ in range(n_disc)]


def test_lsgan_values_for_constant_outputs():
    real, fake = _const_outputs(1.0), _const_outputs(0.0)
    assert discriminator_loss(real, fake).item() == 0.0  # perfect discriminator
    assert generator_adversarial_loss(fake).item() == pytest.approx(3.0)  # 3 x (1 - 0)^2
    half = _const_outputs(0.5)
    assert discriminator_loss(half, half).item() == pytest.approx(3 * (0.25 + 0.25))
    assert generator_adversarial_loss(_const_outputs(3.0)).item() == pytest.approx(3 * 4.0)


def test_feature_matching_values():
    real, fake = _const_outputs(1.0, n_disc=2, n_maps=4), _const_outputs(0.25, n_disc=2, n_maps=4)
    # 2 discs x 3 non-logit maps x |1 - 0.25|; logits are excluded.
    assert feature_matching_loss(real, fake).item() == pytest.approx(2 * 3 * 0.75)
    assert feature_matching_loss(real, real).item() == 0.0


def test_feature_matching_does_not_backprop_into_real():
    real = [[torch.ones(2, requires_grad=True), torch.ones(1)]]
    fake = [[torch.zeros(2, requires_grad=True), torch.zeros(1)]]
    feature_matching_loss(real, fake).backward()
    assert real[0][0].grad is None and fake[0][0].grad is not None


def test_mel_loss_zero_for_identical_and_positive_otherwise():
    torch.manual_seed(0)
    loss = MultiScaleMelLoss()
    x = torch.randn(2, 1, 16000) * 0.1
    assert loss(x, x.clone()).item() == 0.0
    y = x + 0.05 * torch.randn_like(x)
    assert loss(x, y).item() > 0.0
    assert loss(x, y).item() == pytest.approx(loss(y, x).item(), rel=1e-6)  # symmetric


def test_mel_loss_matches_numpy_reference():
    """One resolution checked against librosa's own mel spectrogram (centre + reflect, magnitude, slaney)."""
    import librosa
    import numpy as np

    torch.manual_seed(1)
    loss = MultiScaleMelLoss(n_mels=[40], window_lengths=[256])
    wav = torch.randn(4000) * 0.1
    ref = librosa.feature.melspectrogram(y=wav.numpy().astype(np.float64), sr=16000, n_fft=256, hop_length=64,
                                         win_length=256, window="hann", center=True, pad_mode="reflect", power=1.0,
                                         n_mels=40, fmin=0.0, fmax=8000.0, norm="slaney", htk=False)
    ours = loss.log_mel(wav[None], 0)[0].double()
    assert torch.allclose(ours, torch.from_numpy(np.log10(np.maximum(ref, 1e-5))), atol=1e-4)
    # 7-resolution default equals the sum of its resolutions.
    full = MultiScaleMelLoss()
    x, y = torch.randn(1, 8000), torch.randn(1, 8000)
    parts = sum(torch.nn.functional.l1_loss(full.log_mel(x, i), full.log_mel(y, i)) for i in range(7))
    assert full(x, y).item() == pytest.approx(parts.item(), rel=1e-6)


def test_mel_loss_shape_mismatch():
    with pytest.raises(ValueError, match="equal shapes"):
        MultiScaleMelLoss()(torch.zeros(1, 4000), torch.zeros(1, 4001))



def test_adversarial_start_gives_a_mel_only_phase(tmp_path, corpus, tiny_config):
    from tts_codec.train.registry import fit_from_config

    tiny_config["adversarial_start"] = 5
    task = fit_from_config(tiny_config, tmp_path / "mel_only", corpus[0], None, max_steps=2)
    metrics = task.trainer.callback_metrics
    assert "train/gen/adv" not in metrics and "train/gen/feat" not in metrics
    assert float(metrics["train/disc/loss"]) == 0.0 and task.batches_done == 2  # still 2 optimiser steps a batch
    # The same seed builds the same discriminator; one that never stepped still equals it after more batches.
    fresh = fit_from_config(tiny_config, tmp_path / "fresh", corpus[0], None, max_steps=1).discriminator.state_dict()
    for name, value in task.discriminator.state_dict().items():
        assert torch.equal(value, fresh[name]), name
    tiny_config["adversarial_start"] = 0
    gan = fit_from_config(tiny_config, tmp_path / "gan", corpus[0], None, max_steps=2)
    assert "train/gen/adv" in gan.trainer.callback_metrics
    assert any(not torch.equal(v, fresh[k]) for k, v in gan.discriminator.state_dict().items())
