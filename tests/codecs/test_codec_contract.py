"""The `Codec` contract, run over every registered codec: round-trip shapes, token ranges, deterministic encode,
save/load, batching through the inference helpers, bad input -> UserError."""
import numpy as np
import pytest
import torch

from tts_codec.codecs import CODECS, build_codec, codec_class_for_dir
from tts_codec.codecs.inference import decode_batch, encode_batch
from tts_codec.errors import UserError
from tts_codec.testing.bicodec import seeded, tone
from tts_codec.testing.codec_dirs import TINY_CODEC_CONFIGS

RAW_RATE = 22050  # not any codec's own rate: the front end must resample


@pytest.fixture(scope="module", params=sorted(CODECS))
def codec(request):
    torch.set_num_threads(1)
    if request.param not in TINY_CODEC_CONFIGS:
        pytest.fail(f"codec {request.param!r} has no tiny test config in tts_codec.testing.codec_dirs")
    return seeded(lambda: build_codec(TINY_CODEC_CONFIGS[request.param]())).eval()


def expected_shape(spec, frames: int) -> tuple[int, ...]:
    return tuple(-(-frames // spec.stride) if d == -1 else d for d in spec.shape)


def test_description(codec):
    assert CODECS[codec.name] is type(codec)
    assert codec.sample_rate > 0 and codec.hop_length > 0 and codec.frame_rate == codec.sample_rate / codec.hop_length
    assert codec.token_streams and all(s.codebook_size > 1 for s in codec.token_streams.values())
    info = codec.codes_info("exp/m")
    assert info.codec == codec.name and info.streams == codec.token_streams and info.frame_rate == codec.frame_rate


def test_round_trip_shapes_ranges_and_determinism(codec):
    wav = codec.prepare(tone(1.0, RAW_RATE), RAW_RATE, what="tone")
    assert wav.dtype == np.float32 and wav.ndim == 1 and abs(len(wav) - codec.sample_rate) <= 1
    codes = codec.encode(torch.from_numpy(wav))
    frames = codec.num_frames(len(wav))
    assert frames > 0 and list(codes) == list(codec.token_streams)
    for name, spec in codec.token_streams.items():
        tokens = codes[name]
        assert tokens.dtype == torch.int64 and tuple(tokens.shape) == (1, *expected_shape(spec, frames)), name
        assert 0 <= int(tokens.min()) and int(tokens.max()) < spec.codebook_size, name
    again = codec.encode(torch.from_numpy(wav))
    assert all(torch.equal(codes[n], again[n]) for n in codes)
    audio = codec.decode(codes)
    assert audio.shape == (1, 1, codec.hop_length * frames) and torch.isfinite(audio).all()


def test_batched_helpers_trim_each_utterance(codec):
    wavs = [codec.prepare(tone(s, codec.sample_rate, seed=i), codec.sample_rate) for i, s in enumerate((0.5, 0.8))]
    items = encode_batch(codec, wavs)
    for wav, item in zip(wavs, items):
        frames = codec.num_frames(len(wav))
        assert {n: a.shape for n, a in item.items()} == {
            n: expected_shape(s, frames) for n, s in codec.token_streams.items()}
    out = decode_batch(codec, items)
    assert [len(w) for w in out] == [codec.hop_length * codec.num_frames(len(w)) for w in wavs]


def test_save_and_load(codec, tmp_path):
    codec.save_pretrained(tmp_path / "model")
    assert codec_class_for_dir(tmp_path / "model") is type(codec)
    loaded = type(codec).from_pretrained(tmp_path / "model").eval()
    assert loaded.codes_info().same_codes(codec.codes_info())
    wav = torch.from_numpy(codec.prepare(tone(0.6, codec.sample_rate), codec.sample_rate))
    codes = codec.encode(wav)
    assert all(torch.equal(codes[n], loaded.encode(wav)[n]) for n in codes)
    torch.testing.assert_close(loaded.decode(codes), codec.decode(codes), atol=1e-5, rtol=1e-4)


def test_truncated_weights_are_a_user_error_naming_the_file(codec, tmp_path):
    codec.save_pretrained(tmp_path / "model")
    for path in (tmp_path / "model").iterdir():  # what a killed copy leaves
        if path.name != "config.yaml":
            path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(UserError, match=f"{tmp_path / 'model'}/.*(truncated|corrupt)"):
        type(codec).from_pretrained(tmp_path / "model")


@pytest.mark.parametrize("audio, match", [
    (np.zeros(0, dtype=np.float32), "empty"),
    (np.array([0.1, np.nan] * 400, dtype=np.float32), "NaN"),
    (np.zeros((2, 3, 4), dtype=np.float32), "shape"),
])
def test_bad_audio_is_a_user_error_naming_the_input(codec, audio, match):
    with pytest.raises(UserError, match=f"utt1: .*{match}"):
        codec.prepare(audio, codec.sample_rate, what="utt1")


def test_too_short_audio_and_bad_codes_are_user_errors(codec):
    with pytest.raises(UserError, match="too short"):
        codec.encode(torch.zeros(1, codec.min_samples - 1))
    codes = codec.encode(torch.from_numpy(codec.prepare(tone(0.5, codec.sample_rate), codec.sample_rate)))
    name, spec = next(iter(codec.token_streams.items()))
    with pytest.raises(UserError, match=str(spec.codebook_size)):
        codec.decode({**codes, name: torch.full_like(codes[name], spec.codebook_size)})
    with pytest.raises(UserError, match=name):
        codec.decode({n: c for n, c in codes.items() if n != name})
