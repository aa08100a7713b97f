"""Codec fine-tuning (train.gan.finetune): start from a model dir, freeze the token-making submodules, train the
rest."""
import pytest
import torch

from tts_codec.codecs.bicodec import BiCodec
from tts_codec.errors import UserError
from tts_codec.train.registry import fit_from_config

FROZEN = ("encoder", "quantizer", "speaker_encoder")


def _codec_keys(config):
    return {k: config[k] for k in ("codec", "sample_rate", "codec_conf", "ssl_conf") if k in config}


@pytest.fixture
def start_dir(tmp_path, tiny_config):
    """A model dir whose weights differ from any seeded initialisation (so loading it is visible)."""
    torch.manual_seed(123)
    codec = BiCodec.from_config(_codec_keys(tiny_config))
    with torch.no_grad():
        for param in codec.parameters():
            param.add_(0.01 * torch.randn_like(param))
    codec.save_pretrained(tmp_path / "start")
    return tmp_path / "start"


def _state(module, prefix):
    return {k: v.clone() for k, v in module.state_dict().items() if k.split(".")[0] == prefix}


def test_frozen_parts_stay_exact_and_the_decoder_learns(tmp_path, corpus, tiny_config, start_dir):
    start = BiCodec.from_pretrained(start_dir)
    tiny_config.update(init_from=str(start_dir), freeze=list(FROZEN))
    task = fit_from_config(tiny_config, tmp_path / "exp", corpus[0], None, max_steps=3)
    trained = task.generator
    for name in FROZEN:
        before, after = _state(start, name), _state(trained, name)
        assert before.keys() == after.keys() and before
        for key in before:  # weights and buffers (codebook, batch-norm statistics) bit-identical
            assert torch.equal(before[key], after[key]), key
        assert not any(p.requires_grad for p in getattr(trained, name).parameters())
    changed = [k for k, v in _state(start, "decoder").items() if not torch.equal(v, _state(trained, "decoder")[k])]
    assert changed, "the decoder did not train"
    # The exported model keeps them too, so it makes the same tokens as the starting one.
    exported = BiCodec.from_pretrained(tmp_path / "exp" / "model")
    for name in FROZEN:
        before, after = _state(start, name), _state(exported, name)
        assert all(torch.equal(before[key], after[key]) for key in before), name


def test_without_init_from_the_weights_are_not_the_start_dir(tmp_path, corpus, tiny_config, start_dir):
    """Guards the test above: a plain run does not happen to start from the same weights."""
    start = BiCodec.from_pretrained(start_dir)
    tiny_config.update(freeze=list(FROZEN))
    task = fit_from_config(tiny_config, tmp_path / "exp", corpus[0], None, max_steps=1)
    before, after = _state(start, "encoder"), _state(task.generator, "encoder")
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_unknown_submodule_is_named(tmp_path, corpus, tiny_config):
    tiny_config["freeze"] = ["encoder", "quantiser"]
    with pytest.raises(UserError, match="freeze: BiCodec has no submodule 'quantiser'.*quantizer"):
        fit_from_config(tiny_config, tmp_path / "exp", corpus[0], None, max_steps=1)


def test_missing_or_mismatched_init_dir_is_named(tmp_path, corpus, tiny_config):
    tiny_config["init_from"] = str(tmp_path / "nowhere")
    with pytest.raises(UserError, match="init_from: .*nowhere is not a directory"):
        fit_from_config(tiny_config, tmp_path / "exp", corpus[0], None, max_steps=1)
    other = _codec_keys(tiny_config)
    quantizer = {**other["codec_conf"]["quantizer"], "codebook_size": 64}
    other["codec_conf"] = {**other["codec_conf"], "quantizer": quantizer}
    BiCodec.from_config(other).save_pretrained(tmp_path / "other")
    tiny_config["init_from"] = str(tmp_path / "other")
    with pytest.raises(UserError, match="init_from: .*other does not match the training config's codec"):
        fit_from_config(tiny_config, tmp_path / "exp2", corpus[0], None, max_steps=1)


@pytest.mark.parametrize("value", ["encoder", [""], [3]])
def test_freeze_must_be_a_list_of_names(tmp_path, corpus, tiny_config, value):
    tiny_config["freeze"] = value
    with pytest.raises(UserError, match="config freeze: expected a list of submodule names"):
        fit_from_config(tiny_config, tmp_path / "exp", corpus[0], None, max_steps=1)
