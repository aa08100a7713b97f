"""Official checkpoint compatibility: manifest match, name mapping, import/export round trips, the CLI."""

import pytest
import torch
import yaml
from safetensors.torch import load_file, save_file

from tts_codec.bin import convert_bicodec
from tts_codec.codecs import build_codec
from tts_codec.codecs.bicodec import BiCodec, official
from tts_codec.codecs.bicodec.checkpoint import canonical_state_dict
from tts_codec.errors import UserError
from tts_codec.testing.bicodec import official_config, seeded, small_official_config, tone


@pytest.fixture(scope="module")
def small_model():
    model = seeded(lambda: build_codec(small_official_config()))
    with torch.no_grad():
        for name, buf in model.named_buffers():
            if name.endswith("running_var"):
                buf.uniform_(0.5, 1.5)
    return model.eval()


def test_manifest_is_the_official_full_size_state_dict():
    manifest = official.load_manifest()
    tensors = manifest["tensors"]
    assert len(tensors) == 842
    assert tensors["decoder.model.0.weight_g"] == {"shape": [1536, 1, 1], "dtype": "float32"}
    assert tensors["quantizer.codebook.weight"]["shape"] == [8192, 8]
    assert tensors["speaker_encoder.project.weight"]["shape"] == [1024, 4096]
    n_params = sum(torch.Size(t["shape"]).numel() for k, t in tensors.items()
                   if not k.endswith(("running_mean", "running_var", "num_batches_tracked", "cluster_size"))
                   and not k.startswith("mel_transformer"))
    assert n_params == manifest["num_parameters"] == 156_330_380


def test_converted_full_size_state_dict_matches_manifest_exactly():
    with torch.device("meta"):
        model = build_codec(official_config())
    state = official.ours_to_official(model.state_dict())
    assert official.manifest_mismatches(state) == []
    state.pop("quantizer.cluster_size")
    state["extra.weight"] = torch.zeros(1)
    assert official.manifest_mismatches(state) == ["missing quantizer.cluster_size", "unexpected extra.weight"]


def test_name_mapping_is_an_identity_round_trip():
    gen = torch.Generator().manual_seed(0)
    state = {name: torch.randn(3, generator=gen) for name in official.load_manifest()["tensors"]}
    ours = official.official_to_ours(state)
    assert "decoder.model.0.parametrizations.weight.original0" in ours and "mel.filterbank" in ours
    assert not any(k.endswith(("weight_g", "weight_v")) for k in ours)
    back = official.ours_to_official(ours)
    assert list(back) == list(state) and all(torch.equal(back[k], state[k]) for k in state)


def test_export_import_round_trip_is_lossless(small_model, tmp_path):
    official.export_official(small_model, tmp_path / "BiCodec")
    data = yaml.safe_load((tmp_path / "BiCodec" / "config.yaml").read_text())
    assert data["audio_tokenizer"]["prenet"]["condition_dim"] == 64 and data["sample_rate"] == 16000
    exported = load_file(str(tmp_path / "BiCodec" / "model.safetensors"))
    assert "decoder.model.0.weight_v" in exported and "mel_transformer.mel_scale.fb" in exported
    assert official.is_official_dir(tmp_path) and official.is_official_dir(tmp_path / "BiCodec")
    loaded = BiCodec.from_pretrained(tmp_path)  # a model root holding BiCodec/
    a, b = canonical_state_dict(small_model), canonical_state_dict(loaded)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    wav = torch.from_numpy(tone(1.0))[None]
    feats = small_model.ssl_extractor(wav)  # the import sets wav2vec2 without a model_dir: features are given
    sem, glob = small_model.tokenize(wav, ssl_feats=feats)
    assert all(torch.equal(x, y) for x, y in zip(loaded.tokenize(wav, ssl_feats=feats), (sem, glob)))
    with pytest.raises(UserError, match="ssl_conf.model_dir"):
        loaded.tokenize(wav)
    torch.testing.assert_close(loaded.detokenize(sem, glob), small_model.detokenize(sem, glob))


def test_import_tolerates_missing_derived_buffers_only(small_model, tmp_path):
    official.export_official(small_model, tmp_path)
    path = tmp_path / "model.safetensors"
    state = load_file(str(path))
    derived = [k for k in state if k.endswith("num_batches_tracked") or k.startswith("mel_transformer")]
    save_file({k: v for k, v in state.items() if k not in derived}, str(path))
    loaded = BiCodec.from_pretrained(tmp_path)
    torch.testing.assert_close(loaded.mel.filterbank, small_model.mel.filterbank)
    save_file({k: v for k, v in state.items() if k != "prenet.linear.bias"}, str(path))
    with pytest.raises(UserError, match="missing.*prenet.linear.bias"):
        BiCodec.from_pretrained(tmp_path)


def test_export_refuses_settings_without_official_equivalent(tiny_model, tmp_path):
    with pytest.raises(UserError, match="codec_conf.speaker_encoder.ecapa_channels"):
        official.export_official(tiny_model, tmp_path)


def test_official_config_values_transfer_one_to_one():
    cfg = official_config()
    exported = official.ours_config_to_official(cfg)
    back = official.official_config_to_ours(exported)
    for section in official.SECTIONS:
        assert back["codec_conf"][section] == cfg["codec_conf"][section]
    assert back["ssl_conf"]["layers"] == [11, 14, 16]
    assert exported["audio_tokenizer"]["quantizer"]["codebook_loss_weight"] == 2.0


def test_convert_cli_import_and_export(small_model, tmp_path, capsys):
    official.export_official(small_model, tmp_path / "official")
    assert convert_bicodec.main(["--mode", "import", str(tmp_path / "official"), str(tmp_path / "ours")]) == 0
    ours = BiCodec.from_pretrained(tmp_path / "ours")
    assert yaml.safe_load((tmp_path / "ours" / "config.yaml").read_text())["codec"] == "bicodec"
    with pytest.raises(UserError, match="already exists"):
        convert_bicodec.main(["--mode", "import", str(tmp_path / "official"), str(tmp_path / "ours")])
    with pytest.raises(UserError, match="not an official BiCodec dir"):
        convert_bicodec.main(["--mode", "import", str(tmp_path / "ours"), str(tmp_path / "x")])
    assert convert_bicodec.main(["--mode", "export", str(tmp_path / "ours"), str(tmp_path / "back")]) == 0
    a = load_file(str(tmp_path / "official" / "model.safetensors"))
    b = load_file(str(tmp_path / "back" / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert convert_bicodec.cli.__name__ == "cli" and ours is not None
