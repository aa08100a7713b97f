"""BiCodec front end through the codec interface: short, silent, clipped and resampled audio, bad tokens."""
import copy

import numpy as np
import pytest
import torch

from tts_codec.errors import UserError
from tts_codec.testing.bicodec import tone


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
        codes = tiny_model.encode(torch.from_numpy(tiny_model.prepare(audio, 16000)))
        wav = tiny_model.decode(codes)
        assert torch.isfinite(wav).all() and codes["semantic"].shape == (1, 49)
    model = copy.deepcopy(tiny_model).eval()  # batch 1: BatchNorm needs eval mode
    with torch.no_grad():
        wav = torch.zeros(1, 16000)
        out = model(wav, model.ssl_extractor(wav), torch.zeros(1, 32000))
    assert all(torch.isfinite(t).all() for t in (out.recon, out.ssl_recon, out.x_vector, out.d_vector))


def test_prepare_resamples_other_rates(tiny_model):
    wav = tiny_model.prepare(np.stack([tone(1.0, 44100)] * 2, axis=1), 44100)
    assert wav.shape == (16000,) and tiny_model.encode(torch.from_numpy(wav))["semantic"].shape == (1, 49)


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
