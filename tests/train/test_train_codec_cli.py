"""Stage 3 (extract_ssl_feats) and stage 5 (train_codec) end to end via main(argv)."""
import logging
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from tts_codec.bin import extract_ssl_feats, train_codec
from tts_codec.cli import run_main
from tts_codec.codecs.bicodec import BiCodec
from tts_codec.config import load_config
from tts_codec.data.ark import load_scp_dict
from tts_codec.data.datadir import DataDir

REPO = Path(__file__).resolve().parents[2]
TINY_CONFIG = REPO / "conf" / "train" / "bicodec_tiny.yaml"
OFFICIAL_CONFIG = REPO / "conf" / "train" / "bicodec_official.yaml"


@pytest.fixture
def test_config(tmp_path):
    """The tiny config with validation (and audio logging) every 2 batches."""
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump({
        "base": str(TINY_CONFIG),
        "trainer": {"val_check_interval": 2, "limit_val_batches": 1, "checkpoint_every_n_steps": 2,
                    "log_every_n_steps": 1},
    }))
    return path


def _scalars_and_tags(tb_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(tb_dir), size_guidance={"audio": 0, "images": 0, "scalars": 0})
    acc.Reload()
    return acc.Tags()


def test_extract_features(tmp_path, corpus, test_config, capsys, caplog):
    train, dev = corpus
    out = tmp_path / "feats" / "train"
    assert run_main(extract_ssl_feats.main, ["--config", str(test_config), "--data_dir", str(train),
                                             "--out_dir", str(out), "--job", "1"]) == 0
    feats = load_scp_dict(out / "ssl_feats.1.scp")
    data = DataDir.load(train)
    assert sorted(feats) == data.utt_ids
    arr = feats[data.utt_ids[0]]
    assert arr.dtype == np.float32 and arr.shape == (2.5 * 16000 // 320, 64)  # about N / hop frames, 64 log-mels
    # A rerun is a no-op; other settings are refused without --overwrite.
    args = ["--config", str(test_config), "--data_dir", str(train), "--out_dir", str(out), "--job", "1"]
    with caplog.at_level(logging.INFO):
        assert run_main(extract_ssl_feats.main, args) == 0
    assert "already holds all 6 utterances" in caplog.text
    assert run_main(extract_ssl_feats.main, args + ["--dtype", "float16"]) == 2
    err = capsys.readouterr().err
    assert "other SSL settings" in err and "--overwrite true" in err
    assert run_main(extract_ssl_feats.main, args + ["--dtype", "float16", "--overwrite", "true"]) == 0
    assert load_scp_dict(out / "ssl_feats.1.scp")[data.utt_ids[0]].dtype == np.float16


def test_train_codec_end_to_end_with_stage3_features(tmp_path, corpus, test_config, capsys):
    train, dev = corpus
    feats = tmp_path / "feats"
    for data, job in ((train, ["--job", "1"]), (dev, [])):
        assert run_main(extract_ssl_feats.main, ["--config", str(test_config), "--data_dir", str(data),
                                                 "--out_dir", str(feats / data.name), *job]) == 0
    exp = tmp_path / "exp"
    argv = ["--config", str(test_config), "--train_data", str(train), "--valid_data", str(dev),
            "--feats_dir", str(feats), "--output_dir", str(exp), "--max_steps", "2", "--seed", "7"]
    assert run_main(train_codec.main, argv) == 0

    saved = load_config(exp / "config.yaml")
    assert saved["seed"] == 7 and saved["trainer"]["max_steps"] == 2 and saved["codec"] == "bicodec"
    ckpt = torch.load(exp / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert ckpt["hyper_parameters"]["config"] == saved  # the resolved config travels in the checkpoint
    assert ckpt["global_step"] == 4  # 2 batches x (discriminator + generator)
    assert (exp / "checkpoints" / "batch00000002.ckpt").is_file()
    tags = _scalars_and_tags(exp / "tensorboard")
    for tag in ("train/gen/mel", "train/disc/loss", "train/lr/gen", "train/codebook/perplexity", "val/mel",
                "val/codebook/used_share"):
        assert tag in tags["scalars"], tag
    assert any(t.startswith("val/audio/") and t.endswith("/recon") for t in tags["audio"])
    assert any(t.startswith("val/mel/") for t in tags["images"])
    model = BiCodec.from_pretrained(exp / "model")
    assert torch.equal(model.state_dict()["quantizer.codebook.weight"],
                       ckpt["state_dict"]["generator.quantizer.codebook.weight"])

    # Rerun: resumes from last.ckpt and trains one more batch.
    assert run_main(train_codec.main, argv[:-4] + ["--max_steps", "3"]) == 0
    ckpt = torch.load(exp / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert ckpt["global_step"] == 6
    # Starting again over existing checkpoints needs --overwrite.
    capsys.readouterr()
    assert run_main(train_codec.main, argv + ["--resume", "false"]) == 2
    assert "already holds checkpoints" in capsys.readouterr().err


@pytest.mark.parametrize("bad, message", [
    (["--train_data", "/nonexistent/train"], "no such directory"),
    (["--feats_dir", "/nonexistent/feats"], "run stage 3"),
    (["--ngpu", "99"], "--ngpu 99: this machine cannot provide 99 GPU(s)"),
    (["--ssl_model_dir", "/nonexistent/wav2vec2"], "--ssl_model_dir /nonexistent/wav2vec2: no such directory"),
    (["--batch_size", "1"], "data.batch_size is 1"),
])
def test_train_codec_user_errors(tmp_path, corpus, test_config, capsys, bad, message):
    train, _ = corpus
    argv = ["--config", str(test_config), "--train_data", str(train), "--output_dir", str(tmp_path / "exp"),
            "--max_steps", "1"]
    for i in range(0, len(bad), 2):  # replace or add the bad flag
        if bad[i] in argv:
            argv[argv.index(bad[i]) + 1] = bad[i + 1]
        else:
            argv += bad[i:i + 2]
    assert run_main(train_codec.main, argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_official_config_builds_its_training_parts():
    """The released training config resolves and its discriminator/loss/scheduler build (no full model: 156 M)."""
    from tts_codec.train.gan import MultiScaleMelLoss, WaveDiscriminator

    config = load_config(OFFICIAL_CONFIG)
    disc = WaveDiscriminator.from_config(config["discriminator"])
    assert len(disc.discriminators) == 8 and disc.mrd_compat
    assert [d.win_length for d in disc.discriminators[5:]] == [512, 256, 128]
    assert len(MultiScaleMelLoss.from_config(config["mel_loss"]).window_lengths) == 7
    assert config["loss_weights"] == {"mel": 15.0, "adv": 1.0, "feat": 1.0, "commit": 1.0, "codebook": 1.0,
                                      "speaker": 1.0, "ssl_recon": 0.0}
    assert config["codec_conf"]["quantizer"]["codebook_loss_weight"] == 2.0
    assert math.isclose(config["scheduler_conf"]["max_lr"], 1e-4)
