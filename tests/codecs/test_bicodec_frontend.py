"""Front-end and bad input: resampling, downmix, volume normalisation, high-pass, short/silent/clipped audio."""
import copy

import numpy as np
import pytest
import torch

from tts_codec.codecs.bicodec.frontend import (
    highpass_biquad, prepare_audio, reference_clip, reference_length, volume_normalize_audio,
)
from tts_codec.errors import UserError
from tts_codec.testing.bicodec import tone


def test_prepare_audio_resamples_downmixes_and_converts_int():
    stereo = np.stack([tone(1.0, 8000), tone(1.0, 8000)], axis=1)
    out = prepare_audio(stereo, 8000, volume_normalize=False)
    assert out.dtype == np.float32 and out.shape == (16000,)
    pcm = (tone(0.5) * 32767).astype(np.int16)
    np.testing.assert_allclose(prepare_audio(pcm, 16000, volume_normalize=False), tone(0.5), atol=1e-4)


@pytest.mark.parametrize("audio,match", [
    (np.zeros(0, dtype=np.float32), "empty"),
    (np.array([0.1, np.nan] * 200, dtype=np.float32), "NaN"),
    (np.zeros((2, 3, 4), dtype=np.float32), "shape"),
])
def test_prepare_audio_rejects_bad_input_by_name(audio, match):
    with pytest.raises(UserError, match=f"utt1: .*{match}"):
        prepare_audio(audio, 16000, what="utt1")


def test_volume_normalisation():
    assert np.array_equal(volume_normalize_audio(np.zeros(1000)), np.zeros(1000))
    quiet = tone(1.0, amplitude=0.01).astype(np.float64)
    loud = volume_normalize_audio(quiet)
    assert 0.15 < np.abs(loud).max() <= 1.0
    clipped = np.clip(tone(1.0, amplitude=5.0), -1, 1).astype(np.float64)
    out = volume_normalize_audio(clipped * 3)
    assert np.isfinite(out).all() and np.abs(out).max() <= 1.0


def test_highpass_removes_dc_and_clamps():
    dc = np.full(16000, 0.5)
    assert np.abs(highpass_biquad(dc, 16000, 40)[8000:]).max() < 1e-3
    assert np.abs(highpass_biquad(np.full(100, 5.0), 16000, 40)).max() <= 1.0


def test_reference_clip_tiles_and_truncates():
    assert reference_length(16000, 6, 320) == 96000
    short = np.arange(5.0)
    np.testing.assert_array_equal(reference_clip(short, 12), np.concatenate([short, short, short[:2]]))
    assert reference_clip(np.zeros((2, 30)), 12).shape == (2, 12)


def test_too_short_audio_is_refused_naming_the_length(tiny_model):
    with pytest.raises(UserError, match="399 samples"):
        tiny_model.tokenize(torch.zeros(1, 399))
    feats = tiny_model.ssl_extractor(torch.zeros(1, 400))
    assert feats.shape[1] == 1
    semantic, glob = tiny_model.tokenize(torch.zeros(1, 400))
    assert semantic.shape == (1, 1) and glob.shape == (1, 1, 32)


def test_silence_and_clipping_give_finite_tokens_and_audio(tiny_model):
    silence = np.zeros(16000, dtype=np.float32)
    square = np.sign(tone(1.0)).astype(np.float32) * 5.0  # far beyond full scale
    for audio in (silence, square):
        semantic, glob = tiny_model.encode(audio, 16000)
        wav = tiny_model.detokenize(semantic, glob)
        assert torch.isfinite(wav).all() and semantic.shape == (1, 49)
    model = copy.deepcopy(tiny_model).eval()  # batch 1: BatchNorm needs eval mode
    with torch.no_grad():
        wav = torch.zeros(1, 16000)
        out = model(wav, model.ssl_extractor(wav), torch.zeros(1, 32000))
    assert all(torch.isfinite(t).all() for t in (out.recon, out.ssl_recon, out.x_vector, out.d_vector))


def test_encode_resamples_other_rates(tiny_model):
    semantic, _ = tiny_model.encode(np.stack([tone(1.0, 44100)] * 2, axis=1), 44100)
    assert semantic.shape == (1, 49)


def test_bad_tokens_and_features_are_refused(tiny_model):
    glob = torch.zeros(1, 1, 32, dtype=torch.long)
    with pytest.raises(UserError, match=r"semantic tokens must be integers in \[0, 8192\)"):
        tiny_model.detokenize(torch.full((1, 5), 8192), glob)
    with pytest.raises(UserError, match="global tokens"):
        tiny_model.detokenize(torch.zeros(1, 5, dtype=torch.long), torch.zeros(1, 1, 31, dtype=torch.long))
    with pytest.raises(UserError, match="frames >= 1"):
        tiny_model.detokenize(torch.zeros(1, 0, dtype=torch.long), glob)
    with pytest.raises(UserError, match="codec_conf.encoder.input_channels"):
        tiny_model.tokenize(torch.zeros(1, 800), ssl_feats=torch.zeros(1, 2, 10))
    with pytest.raises(UserError, match="NaN"):
        tiny_model.tokenize(torch.full((1, 800), float("nan")))
