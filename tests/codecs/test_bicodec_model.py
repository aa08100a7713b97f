"""BiCodec model: configs build (parameter counts), tiny forward, tokenize/detokenize round trip, save/load."""
import copy

import numpy as np
import pytest
import torch

from tts_codec.codecs import CODECS, build_codec
from tts_codec.codecs.bicodec import BiCodec, BiCodecOutput
from tts_codec.errors import UserError
from tts_codec.testing.bicodec import official_config, seeded, tiny_config, tone

# Spec section 2.6 (and the official code instantiated with the released config): exact counts.
OFFICIAL_COUNTS = {"encoder": 30_489_216, "quantizer": 83_984, "speaker_encoder": 14_056_090, "prenet": 39_386_112,
                   "postnet": 19_685_376, "decoder": 52_629_602}


@pytest.fixture(scope="module")
def full_model():
    return seeded(lambda: build_codec(official_config()))


def test_full_config_parameter_counts(full_model):
    counts = {name: sum(p.numel() for p in getattr(full_model, name).parameters()) for name in OFFICIAL_COUNTS}
    assert counts == OFFICIAL_COUNTS
    assert sum(p.numel() for p in full_model.parameters()) == 156_330_380  # spec: 156.3 M
    assert full_model.codebook_size == 8192 and full_model.global_codebook_size == 4096
    assert full_model.num_global_tokens == 32 and full_model.ref_length == 96000 and full_model.hop_length == 320


def test_registry_builds_by_name_and_rejects_unknown():
    assert CODECS["bicodec"] is BiCodec
    cfg = tiny_config()
    cfg["codec"] = "nope"
    with pytest.raises(UserError, match="codec 'nope' is unknown"):
        build_codec(cfg)


def test_tiny_forward_shapes_and_gradients(tiny_model):
    model = copy.deepcopy(tiny_model).train()
    wav = torch.from_numpy(np.stack([tone(1.0), tone(1.0, freq=150)]))
    ssl = model.ssl_extractor(wav)
    ref = torch.from_numpy(np.stack([tone(2.0, seed=1), tone(2.0, seed=2)]))
    out = model(wav, ssl, ref)
    assert isinstance(out, BiCodecOutput)
    b, t = 2, ssl.shape[1]
    assert out.recon.shape == (b, 1, 320 * t) and out.ssl_recon.shape == ssl.shape
    assert out.semantic_tokens.shape == (b, t) and out.semantic_tokens.dtype == torch.int64
    assert out.global_tokens.shape == (b, 1, 32) and out.global_tokens.max() < 4096
    assert out.x_vector.shape == out.d_vector.shape == (b, 64)
    assert out.commit_loss.dim() == 0 and out.codebook_loss.dim() == 0
    torch.testing.assert_close(out.codebook_loss, out.commit_loss * 2.0 / 0.25)  # same MSE, config weights
    (out.recon.abs().mean() + out.vq_loss + out.ssl_recon.pow(2).mean() + out.d_vector.pow(2).mean()).backward()
    for name in ("encoder", "quantizer", "speaker_encoder", "prenet", "postnet", "decoder"):
        grads = [p.grad for p in getattr(model, name).parameters() if p.requires_grad]
        assert any(g is not None and g.abs().sum() > 0 for g in grads), name


def test_use_d_vector_false_conditions_on_x_vector(tiny_model):
    model = copy.deepcopy(tiny_model).eval()
    wav = torch.from_numpy(tone(0.5))[None]
    ssl, ref = model.ssl_extractor(wav), torch.from_numpy(tone(1.0, seed=3))[None]
    with torch.no_grad():
        d = model(wav, ssl, ref, use_d_vector=True)
        x = model(wav, ssl, ref, use_d_vector=False)
        expected = model.decoder(model.prenet(model.quantizer(model.encoder(ssl.transpose(1, 2))).z_q, x.x_vector)
                                 + x.x_vector[..., None])
    assert not torch.allclose(d.recon, x.recon)
    torch.testing.assert_close(x.recon, expected)


def test_tokenize_detokenize_round_trip(tiny_model):
    wav = torch.from_numpy(np.stack([tone(1.3), tone(1.3, freq=300)]))
    semantic, glob = tiny_model.tokenize(wav)
    frames = tiny_model.ssl_extractor.num_frames(wav.shape[-1])
    assert semantic.shape == (2, frames) and semantic.dtype == torch.int64
    assert 0 <= semantic.min() and semantic.max() <= 8191
    assert glob.shape == (2, 1, 32) and glob.dtype == torch.int64 and 0 <= glob.min() and glob.max() <= 4095
    audio = tiny_model.detokenize(semantic, glob)
    assert audio.shape == (2, 1, 320 * frames) and audio.dtype == torch.float32
    assert torch.isfinite(audio).all() and audio.abs().max() <= 1
    # the same tokens decode identically with (B, 32) globals and after folding weight norm
    fused = copy.deepcopy(tiny_model).inference()
    torch.testing.assert_close(fused.detokenize(semantic, glob[:, 0]), audio, atol=1e-5, rtol=1e-4)
    assert torch.equal(fused.tokenize(wav)[0], semantic)


def test_tokenize_in_training_mode_keeps_mode_and_stats(tiny_model):
    model = copy.deepcopy(tiny_model).train()
    before = model.speaker_encoder.speaker_encoder.bn.running_mean.clone()
    model.tokenize(torch.from_numpy(tone(0.5))[None])
    assert model.training and torch.equal(before, model.speaker_encoder.speaker_encoder.bn.running_mean)


def test_reference_is_first_six_seconds_tiled(tiny_model):
    short = torch.from_numpy(tone(1.0, seed=5))[None]
    tiled = short.repeat(1, 7)[:, :96000]
    _, g_short = tiny_model.tokenize(short)
    _, g_tiled = tiny_model.tokenize(short, ref_wav=tiled)
    assert torch.equal(g_short, g_tiled)
    long = torch.from_numpy(tone(8.0, seed=6))[None]
    assert torch.equal(tiny_model.tokenize(long)[1], tiny_model.tokenize(long, ref_wav=long[:, :96000])[1])


def test_save_and_load_round_trip(tiny_model, tmp_path):
    model = copy.deepcopy(tiny_model)
    model.quantizer.cluster_size.fill_(0.5)
    model.inference()  # saved as (g, v) even after folding
    model.save_pretrained(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["config.yaml", "model.safetensors"]
    loaded = BiCodec.from_pretrained(tmp_path / "m")
    assert not loaded.training and loaded.config == tiny_model.config
    assert torch.equal(loaded.quantizer.cluster_size, model.quantizer.cluster_size)
    sem = torch.randint(0, 8192, (1, 20))
    glob = torch.randint(0, 4096, (1, 1, 32))
    torch.testing.assert_close(loaded.detokenize(sem, glob), model.detokenize(sem, glob), atol=1e-5, rtol=1e-4)


def test_config_errors_name_the_key():
    cfg = tiny_config()
    del cfg["codec_conf"]["prenet"]
    with pytest.raises(UserError, match="codec_conf.prenet"):
        build_codec(cfg)
    cfg = tiny_config()
    cfg["codec_conf"]["encoder"]["vocos_dims"] = 3
    with pytest.raises(UserError, match="codec_conf.encoder.vocos_dims"):
        build_codec(cfg)
    cfg = tiny_config()
    cfg["codec_conf"]["quantizer"]["input_dim"] = 32
    with pytest.raises(UserError, match="codec_conf.quantizer.input_dim"):
        build_codec(cfg)
    cfg = tiny_config()
    cfg["codec_conf"]["decoder"]["rates"] = [8, 5, 4, 4]
    with pytest.raises(UserError, match="latent_hop_length"):
        build_codec(cfg)


def test_ignored_official_keys_are_accepted_with_a_warning(caplog):
    cfg = tiny_config()
    cfg["codec_conf"]["quantizer"].update(use_l2_normlize=True, momentum=0.99)
    build_codec(cfg)
    assert "use_l2_normlize" in caplog.text and "momentum" in caplog.text
