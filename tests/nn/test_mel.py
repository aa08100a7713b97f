"""The torchaudio-free mel front-end against librosa's reference computation."""
import librosa
import numpy as np
import torch

from tts_codec.nn.mel import MelSpectrogram


def test_mel_matches_librosa_slaney_magnitude_mel():
    sr, n = 16000, 8000
    wav = np.random.default_rng(0).standard_normal(n).astype(np.float32) * 0.1
    mel = MelSpectrogram(sr, n_fft=1024, win_length=640, hop_length=320, f_min=10, f_max=None, n_mels=128)
    ours = mel(torch.from_numpy(wav)[None])[0].numpy()
    ref = librosa.feature.melspectrogram(
        y=wav, sr=sr, n_fft=1024, win_length=640, hop_length=320, fmin=10, fmax=None, n_mels=128, power=1.0,
        center=True, pad_mode="reflect", window="hann", htk=False, norm="slaney",
    )
    assert ours.shape == ref.shape == (128, n // 320 + 1)
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-5)
    assert mel.filterbank.shape == (513, 128) and mel.window.shape == (640,)


def test_mel_without_centering_uses_conv_framing():
    mel = MelSpectrogram(16000, 512, 400, 320, n_mels=16, center=False)
    assert mel(torch.zeros(2, 16000)).shape == (2, 16, (16000 - 512) // 320 + 1)
