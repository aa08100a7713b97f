"""SNAC behind the codec interface: stream layout, padding, official-layout loading against the `snac` package's own
model, the training forward against the package quantizer, deterministic decode, config errors."""
import json

import numpy as np
import pytest
import torch

from tts_codec.codecs import CODECS, build_codec, codec_class_for_dir
from tts_codec.codecs.snac import SNACCodec
from tts_codec.errors import UserError
from tts_codec.testing.bicodec import seeded, tone
from tts_codec.testing.snac import tiny_config, write_official_dir


@pytest.fixture(scope="module")
def codec():
    torch.set_num_threads(1)
    return seeded(lambda: build_codec(tiny_config())).eval()


def test_streams_rates_and_padding(codec):
    assert CODECS["snac"] is SNACCodec and codec.sample_rate == 24000 and codec.hop_length == 512
    streams = codec.token_streams
    assert list(streams) == ["snac_l0", "snac_l1", "snac_l2"]
    assert [s.stride for s in streams.values()] == [4, 2, 1]
    assert all(s.codebook_size == 4096 and s.shape == (-1,) for s in streams.values())
    assert [codec.frame_rate / s.stride for s in streams.values()] == [11.71875, 23.4375, 46.875]
    # 1 s -> padded to 12 * 2048 samples -> [12, 24, 48] (mars6_snac.md §10); 1 sample -> one whole patch
    assert codec.num_frames(24000) == 48 and codec.num_frames(1) == 4 and codec.num_frames(2048) == 4
    codes = codec.encode(torch.from_numpy(tone(1.0, 24000)))
    assert [tuple(c.shape) for c in codes.values()] == [(1, 12), (1, 24), (1, 48)]
    assert codec.decode(codes).shape == (1, 1, 48 * 512)


def test_decode_is_deterministic_and_leaves_the_global_rng_alone(codec):
    codes = codec.encode(torch.from_numpy(tone(0.5, 24000)))
    torch.manual_seed(123)
    first = codec.decode(codes)
    after = torch.rand(1)
    torch.manual_seed(123)
    assert torch.equal(first, codec.decode(codes)) and torch.equal(after, torch.rand(1))
    codec.noise_seed = 1
    try:  # the noise path is live: another seed gives other audio
        assert not torch.equal(first, codec.decode(codes))
    finally:
        codec.noise_seed = 0


def test_batched_encode_of_a_short_row_equals_its_own_encode(codec):
    short, long = tone(0.3, 24000, seed=1), tone(0.9, 24000, seed=2)
    batch = torch.zeros(2, len(long))
    batch[0, : len(short)], batch[1] = torch.from_numpy(short), torch.from_numpy(long)
    together = codec.encode(batch, torch.tensor([len(short), len(long)]))
    alone = codec.encode(torch.from_numpy(short))
    for name, tokens in alone.items():
        n = tokens.shape[-1]
        assert torch.equal(together[name][0, :n], tokens[0]) and not together[name][0, n:].any(), name


def test_official_directory_gives_the_package_codes_and_audio(tmp_path):
    """A random-weight official-layout dir written with the package's own classes: our loader, the same codes and
    (with the same noise seed) the same audio as the package's model."""
    package = write_official_dir(tmp_path / "snac_official")
    assert codec_class_for_dir(tmp_path / "snac_official") is SNACCodec
    ours = SNACCodec.from_pretrained(tmp_path / "snac_official")
    assert ours.token_streams["snac_l0"].stride == 4 and not ours.training
    wav = torch.from_numpy(ours.prepare(tone(1.3, 16000), 16000))
    with torch.inference_mode():
        expected = package.encode(wav.view(1, 1, -1))
    codes = ours.encode(wav)
    assert [torch.equal(c, e) for c, e in zip(codes.values(), expected)] == [True] * 3
    torch.manual_seed(ours.noise_seed)
    with torch.inference_mode():
        audio = package.decode(expected)
    torch.testing.assert_close(ours.decode(codes), audio, atol=1e-5, rtol=1e-4)
    # our format round-trips the official weights
    ours.save_pretrained(tmp_path / "ours")
    again = SNACCodec.from_pretrained(tmp_path / "ours")
    assert again.weights_hash() == ours.weights_hash()


def test_official_directory_errors_name_the_file(tmp_path):
    write_official_dir(tmp_path / "d")
    weights = tmp_path / "d" / "pytorch_model.bin"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(UserError, match="pytorch_model.bin: not a readable .*truncated"):
        SNACCodec.from_pretrained(tmp_path / "d")
    write_official_dir(tmp_path / "e")
    config = tmp_path / "e" / "config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "decoder_dim": 96}))
    with pytest.raises(UserError, match="pytorch_model.bin: does not fit .*config.json"):
        SNACCodec.from_pretrained(tmp_path / "e")
    config.write_text(json.dumps({"sampling_rate": 24000, "frobnicate": 1}))
    with pytest.raises(UserError, match=r"config.json: \['frobnicate'\] are not SNAC"):
        SNACCodec.from_pretrained(tmp_path / "e")


def test_training_forward_matches_the_package_quantizer(codec):
    wav = torch.from_numpy(tone(2048 * 3 / 24000, 24000)).view(1, 1, -1)
    torch.manual_seed(0)  # the same NoiseBlock noise for both decoder passes
    out = codec(wav)
    torch.manual_seed(0)
    with torch.no_grad():
        z = codec.model.encoder(wav)
        z_q, expected = codec.model.quantizer(z)
        torch.testing.assert_close(out.recon, codec.model.decoder(z_q))
        torch.testing.assert_close(sum(out.levels), z_q)  # each level's contribution, summed, feeds the decoder
    assert [level.shape for level in out.levels] == [z_q.shape] * 3
    assert [torch.equal(c, e) for c, e in zip(out.codes, expected)] == [True] * 3
    assert out.recon.shape == wav.shape and out.commit_loss > 0 and out.codebook_loss > 0
    out.commit_loss.backward()  # the commitment term trains the encoder, not the codebook
    assert codec.model.encoder.block[0].parametrizations.weight.original1.grad is not None
    assert codec.model.quantizer.quantizers[0].codebook.weight.grad is None
    codec.zero_grad(set_to_none=True)
    with pytest.raises(ValueError, match="multiple of 2048"):
        codec(wav[..., :-1])


@pytest.mark.parametrize("change, match", [
    ({"vq_strides": [4, 3, 1]}, "vq_strides"),
    ({"vq_strides": [4, 2]}, "vq_strides"),
    ({"decoder_rates": [8, 8, 4, 4]}, "decoder_rates"),
    ({"attn_windw_size": 32}, "attn_windw_size is not a SNAC key"),
])
def test_config_errors_name_the_key(change, match):
    cfg = tiny_config()
    cfg["codec_conf"].update(change)
    with pytest.raises(UserError, match=match):
        build_codec(cfg)
    cfg = tiny_config()
    del cfg["codec_conf"]["noise"]
    with pytest.raises(UserError, match="codec_conf.noise"):
        build_codec(cfg)


def test_bad_codes_are_user_errors(codec):
    codes = codec.encode(torch.from_numpy(tone(0.5, 24000)))
    with pytest.raises(UserError, match="strides"):
        codec.decode({**codes, "snac_l2": codes["snac_l2"][:, :-1]})
    with pytest.raises(UserError, match=r"snac_l1 tokens must be integers"):
        codec.decode({**codes, "snac_l1": codes["snac_l1"].float()})
    with pytest.raises(UserError, match="too short"):
        codec.encode(torch.zeros(2, 1000), torch.tensor([1000, 3]))
    assert np.isfinite(codec.decode(codes).numpy()).all()


ISTFT = {"type": "istft", "channels": 32, "num_layers": 1, "intermediate_dim": 48, "n_fft": 2048}


def test_istft_wave_decoder_keeps_the_encoder_and_tokens_and_round_trips(tmp_path):
    """Ours (`wave_decoder: {type: istft}`): the package's decoder is replaced, its encoder and quantizers are not
    (same seed -> the same encoder weights and codes as the plain model), decode has the package's length, and the
    saved model reloads with the generator."""
    plain = seeded(lambda: build_codec(tiny_config())).eval()
    istft = seeded(lambda: build_codec({**tiny_config(), "wave_decoder": ISTFT})).eval()
    assert type(istft.model.decoder).__name__ == "ISTFTGenerator" and type(plain.model.decoder).__name__ == "Decoder"
    wav = torch.from_numpy(tone(0.7, 24000))
    codes = istft.encode(wav)
    for name, tokens in plain.encode(wav).items():
        assert torch.equal(codes[name], tokens), name
    audio = istft.decode(codes)
    assert audio.shape == (1, 1, codes["snac_l2"].shape[-1] * 512) and audio.abs().max() <= 1.0
    out = istft(torch.randn(2, 1, 2048 * 2))
    out.recon.abs().mean().backward()  # the generator trains
    assert istft.model.decoder.head.out.weight.grad is not None
    istft.zero_grad(set_to_none=True)
    istft.save_pretrained(tmp_path / "m")
    loaded = SNACCodec.from_pretrained(tmp_path / "m")
    assert torch.equal(loaded.decode(codes), audio)


MEL = {"type": "mel", "channels": 16, "num_layers": 1, "intermediate_dim": 24, "n_fft": 2048, "n_mels": 20}


def test_mel_wave_encoder_keeps_the_streams_and_round_trips(tmp_path):
    """Ours (`wave_encoder: {type: mel}`): the package's encoder is replaced by the log-mel ConvNeXt; the token
    streams keep SNAC's rates and codebooks, the encoder trains, and the saved model reloads with the same codes."""
    plain = seeded(lambda: build_codec(tiny_config())).eval()
    mel = seeded(lambda: build_codec({**tiny_config(), "wave_encoder": MEL, "wave_decoder": ISTFT})).eval()
    assert type(mel.model.encoder).__name__ == "MelConvNeXtEncoder" and type(plain.model.encoder).__name__ == "Encoder"
    assert mel.token_streams == plain.token_streams
    wav = torch.from_numpy(tone(1.0, 24000))
    codes = mel.encode(wav)
    assert {name: tuple(c.shape) for name, c in codes.items()} == \
        {name: tuple(c.shape) for name, c in plain.encode(wav).items()}
    audio = mel.decode(codes)
    assert audio.shape == (1, 1, codes["snac_l2"].shape[-1] * 512)
    out = mel(torch.randn(2, 1, 2048 * 2))
    (out.recon.abs().mean() + out.commit_loss).backward()
    assert mel.model.encoder.backbone.embed.weight.grad.abs().sum() > 0
    mel.zero_grad(set_to_none=True)
    mel.save_pretrained(tmp_path / "m")
    loaded = SNACCodec.from_pretrained(tmp_path / "m")
    assert loaded.config["wave_encoder"] == MEL
    for name, tokens in loaded.encode(wav).items():
        assert torch.equal(tokens, codes[name]), name


@pytest.mark.parametrize("wave_encoder, match", [
    ({"type": "whisper", "channels": 8}, "wave_encoder must be a mapping with type one of"),
    ({"type": "mel"}, "wave_encoder.channels is required"),
    ({"type": "mel", "channels": 8, "n_fft": 256}, r"wave_encoder.n_fft \(256\) must be at least the hop"),
    ({"type": "mel", "channels": 8, "n_mel": 40}, "wave_encoder.n_mel is not read"),
    ({"type": "mel", "channels": 8, "n_mels": 1.5}, "wave_encoder.n_mels must be a positive integer"),
    ({"type": "snac", "channels": 8}, "wave_encoder.channels is not read by type 'snac'"),
    (["mel"], "wave_encoder must be a mapping"),
])
def test_wave_encoder_errors_name_the_key(wave_encoder, match):
    with pytest.raises(UserError, match=match):
        build_codec({**tiny_config(), "wave_encoder": wave_encoder})
    assert type(build_codec({**tiny_config(), "wave_encoder": {"type": "snac"}}).model.encoder).__name__ == "Encoder"


@pytest.mark.parametrize("wave_decoder, match", [
    ({"type": "vocos", "channels": 8}, "wave_decoder must be a mapping with type one of"),
    ({"type": "istft"}, "wave_decoder.channels is required"),
    ({"type": "istft", "channels": 8, "n_fft": 256}, r"wave_decoder.n_fft \(256\) must be at least the hop"),
    ({"type": "istft", "channels": 8, "num_layer": 2}, "wave_decoder.num_layer is not read"),
    ({"type": "istft", "channels": 0}, "wave_decoder.channels must be a positive integer"),
    ({"type": "snac", "channels": 8}, "wave_decoder.channels is not read by type 'snac'"),
    ("istft", "wave_decoder must be a mapping"),
])
def test_wave_decoder_errors_name_the_key(wave_decoder, match):
    with pytest.raises(UserError, match=match):
        build_codec({**tiny_config(), "wave_decoder": wave_decoder})
    assert type(build_codec({**tiny_config(), "wave_decoder": {"type": "snac"}}).model.decoder).__name__ == "Decoder"
