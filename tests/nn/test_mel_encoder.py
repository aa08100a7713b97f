"""The log-mel ConvNeXt encoder: one latent frame per hop, frame t centred on sample t * hop + hop / 2, gradients."""
import pytest
import torch

from tts_codec.nn.mel_encoder import MelConvNeXtEncoder


def encoder(**kwargs) -> MelConvNeXtEncoder:
    torch.manual_seed(0)
    return MelConvNeXtEncoder(24000, 512, latent_dim=16, channels=8, num_layers=1, n_mels=20, **kwargs)


@pytest.mark.parametrize("frames", [4, 5, 12])
def test_one_frame_per_hop(frames):
    out = encoder()(torch.randn(2, 1, 512 * frames))
    assert out.shape == (2, 16, frames) and torch.isfinite(out).all()


@pytest.mark.parametrize("n_fft", [512, 1536, 2048])
def test_frame_t_is_centred_on_its_hop(n_fft):
    """An impulse in the middle of hop t makes frame t the loudest log-mel frame (the framing a strided
    convolutional encoder has), whatever the window length."""
    model = encoder(n_fft=n_fft)
    for frame in (0, 3, 7):
        wav = torch.zeros(1, 1, 512 * 8)
        wav[0, 0, frame * 512 + 256] = 1.0
        padded = torch.nn.functional.pad(wav, model.padding, mode="reflect").squeeze(1)
        energy = model.mel(padded).sum(dim=1)[0]
        assert energy.shape == (8,) and int(energy.argmax()) == frame, (n_fft, frame, energy)


def test_gradients_reach_every_parameter():
    model = encoder()
    model(torch.randn(1, 1, 2048)).square().mean().backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing


def test_window_shorter_than_the_hop_is_refused():
    with pytest.raises(ValueError, match=r"n_fft \(256\) must be >= hop_length \(512\)"):
        encoder(n_fft=256)
