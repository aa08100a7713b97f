"""Audio DSP front end: resampling, downmix, volume normalisation, high-pass, reference clip, bad input."""
import numpy as np
import pytest

from tts_codec.data.dsp import highpass_biquad, prepare_audio, reference_clip, reference_length, volume_normalize_audio
from tts_codec.errors import UserError
from tts_codec.testing.bicodec import tone


def test_prepare_audio_resamples_downmixes_and_converts_int():
    stereo = np.stack([tone(1.0, 8000), tone(1.0, 8000)], axis=1)
    out = prepare_audio(stereo, 8000, 16000, volume_normalize=False)
    assert out.dtype == np.float32 and out.shape == (16000,)
    pcm = (tone(0.5) * 32767).astype(np.int16)
    np.testing.assert_allclose(prepare_audio(pcm, 16000, 16000, volume_normalize=False), tone(0.5), atol=1e-4)


@pytest.mark.parametrize("audio,match", [
    (np.zeros(0, dtype=np.float32), "empty"),
    (np.array([0.1, np.nan] * 200, dtype=np.float32), "NaN"),
    (np.zeros((2, 3, 4), dtype=np.float32), "shape"),
])
def test_prepare_audio_rejects_bad_input_by_name(audio, match):
    with pytest.raises(UserError, match=f"utt1: .*{match}"):
        prepare_audio(audio, 16000, 16000, what="utt1")


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
