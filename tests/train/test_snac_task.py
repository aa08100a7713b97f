"""SNAC GAN training on the tiny config: two batches log every loss, exact resume, the exported model loads, config
mistakes are named."""
import math
from pathlib import Path

import pytest
import torch

from tts_codec.codecs.snac import SNACCodec
from tts_codec.config import load_config
from tts_codec.errors import UserError
from tts_codec.train.registry import fit_from_config
from tts_codec.train.snac_task import SNACTask, build_datamodule
from tts_codec.train.trainer import CHECKPOINT_DIR, LAST

TINY = Path(__file__).resolve().parents[2] / "conf" / "train" / "snac_tiny.yaml"


@pytest.fixture
def snac_config() -> dict:
    torch.set_num_threads(1)
    cfg = load_config(TINY)
    cfg["data"]["batch_size"] = 2
    cfg["trainer"].update(checkpoint_every_n_steps=1, val_check_interval=2, limit_val_batches=1)
    return cfg


def test_two_batches_log_the_losses_and_export_a_loadable_codec(tmp_path, corpus, snac_config, recorder_cls):
    recorder = recorder_cls()
    task = fit_from_config(snac_config, tmp_path / "exp", corpus[0], corpus[1], max_steps=2, callbacks=[recorder])
    metrics = task.trainer.callback_metrics
    for name in ("gen/mel", "gen/adv", "gen/feat", "gen/commit", "gen/codebook", "gen/total", "gen/grad_norm",
                 "disc/loss", "codebook/perplexity", "codebook/l0/perplexity", "codebook/l2/perplexity"):
        assert math.isfinite(float(metrics[f"train/{name}"])), name
    assert math.isfinite(float(metrics["val/mel"]))
    assert task.batches_done == 2 and len(recorder.mel) == 2
    assert all(h.shape == (2, 16) for h in recorder.heads)
    assert recorder.heads[0].abs().sum() > 0  # real audio reached the generator (resampled to 24 kHz)
    task.export(tmp_path / "model")
    loaded = SNACCodec.from_pretrained(tmp_path / "model")
    for name, tensor in loaded.state_dict().items():
        assert torch.equal(tensor, task.generator.state_dict()[name]), name


def _load(path):
    return torch.load(path, map_location="cpu", weights_only=False)


def test_exact_resume(tmp_path, corpus, snac_config, recorder_cls):
    """2 batches in one go == 1 batch, stop, resume for 1 more: same weights, optimisers and RNG (the decoder's
    NoiseBlocks draw from the global RNG)."""
    train = corpus[0]
    snac_config["trainer"].update(val_check_interval=100)
    whole, first, second = recorder_cls(), recorder_cls(), recorder_cls()
    fit_from_config(snac_config, tmp_path / "whole", train, None, max_steps=2, callbacks=[whole])
    fit_from_config(snac_config, tmp_path / "split", train, None, max_steps=1, callbacks=[first])
    task = fit_from_config(snac_config, tmp_path / "split", train, None, max_steps=2, callbacks=[second])
    assert task.batches_done == 2
    a, b = (_load(tmp_path / run / CHECKPOINT_DIR / LAST) for run in ("whole", "split"))
    assert a["global_step"] == b["global_step"] == 4
    for name, tensor in a["state_dict"].items():
        assert torch.equal(tensor, b["state_dict"][name]), name
    for x, y in zip(a["optimizer_states"], b["optimizer_states"]):
        for key, state in x["state"].items():
            assert all(torch.equal(state[k], y["state"][key][k]) for k in state if torch.is_tensor(state[k]))
    assert whole.utts == first.utts + second.utts and whole.mel == first.mel + second.mel
    assert whole.draws == first.draws + second.draws


@pytest.mark.parametrize("change, match", [
    ({"data": {"frames_multiple": 2}}, "data.frames_multiple 2: .* 2048"),
    ({"data": {"volume_normalize": True}}, "data.volume_normalize"),
])
def test_config_mistakes_are_named(snac_config, change, match):
    for section, values in change.items():
        snac_config[section].update(values)
    with pytest.raises(UserError, match=match):
        SNACTask(snac_config)


def test_feats_dir_is_not_used(tmp_path, corpus, snac_config):
    """The recipe passes stage 3's feature dir whenever it exists; SNAC reads audio only."""
    module = build_datamodule(snac_config, corpus[0], corpus[1], feats_dir=tmp_path / "absent")
    item = module.train_set[0]
    assert "ssl_feats" not in item and item["wav"].shape == (40 * 512,) and item["ref_wav"].numel() == 0


def test_learning_curve_resynthesises_with_a_snac_checkpoint(tmp_path, corpus, snac_config):
    """`codec_learning_curve` loads any codec's checkpoint: the SNAC of batch 1 equals the run's export, and its
    resynthesis writes one wav per utterance and the three level streams (for the per-stream perplexity columns)."""
    from tts_codec.data.datadir import DataDir
    from tts_codec.eval.learning_curve import load_checkpoint_codec, resynthesize

    task = fit_from_config(snac_config, tmp_path / "exp", corpus[0], None, max_steps=1)
    task.export(tmp_path / "model")
    model = load_checkpoint_codec(tmp_path / "exp" / CHECKPOINT_DIR / "batch00000001.ckpt")
    assert isinstance(model, SNACCodec) and not model.training
    exported = SNACCodec.from_pretrained(tmp_path / "model").state_dict()
    assert all(torch.equal(t, exported[k]) for k, t in model.state_dict().items())
    tokens = resynthesize(model, corpus[1], tmp_path / "wav")
    utts = DataDir.load(corpus[1]).utt_ids
    assert sorted(tokens) == sorted(model.token_streams)
    assert all(len(codes) == len(utts) for codes in tokens.values())
    assert len((tmp_path / "wav" / "wav.scp").read_text().splitlines()) == len(utts)


def test_learning_curve_refuses_a_checkpoint_that_is_not_a_codec_run(tmp_path):
    from tts_codec.eval.learning_curve import load_checkpoint_codec

    torch.save({"hyper_parameters": {"config": {"lm": "mars6"}}, "state_dict": {}}, tmp_path / "lm.ckpt")
    with pytest.raises(UserError, match="lm.ckpt: not a checkpoint of a codec training run"):
        load_checkpoint_codec(tmp_path / "lm.ckpt")


def test_istft_decoder_and_mel_encoder_train_and_export(tmp_path, corpus, snac_config):
    """`wave_decoder` and `wave_encoder` reach the trained generator and the exported model dir (both are codec
    keys)."""
    snac_config["wave_decoder"] = {"type": "istft", "channels": 32, "num_layers": 1, "n_fft": 2048}
    snac_config["wave_encoder"] = {"type": "mel", "channels": 16, "num_layers": 1, "n_mels": 20}
    task = fit_from_config(snac_config, tmp_path / "exp", corpus[0], corpus[1], max_steps=1)
    assert math.isfinite(float(task.trainer.callback_metrics["train/gen/mel"]))
    task.export(tmp_path / "model")
    loaded = SNACCodec.from_pretrained(tmp_path / "model")
    assert loaded.config["wave_decoder"]["type"] == "istft" and loaded.config["wave_encoder"]["type"] == "mel"
    assert type(loaded.model.decoder).__name__ == "ISTFTGenerator"
    assert type(loaded.model.encoder).__name__ == "MelConvNeXtEncoder"
