"""Broken training data is named by utterance: NaN audio and non-finite stage-3 SSL features stop training with the
utterance's id (not a NaN loss or a bare file error deep in a data loader worker); a non-finite loss names the
batch's utterances."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from tts_codec.data.codec_dataset import CodecSegmentDataset
from tts_codec.data.datadir import DataDir
from tts_codec.errors import UserError
from tts_codec.testing.datadirs import make_data_dir
from tts_codec.testing.hostile import replace_audio
from tts_codec.train.bicodec_task import BiCodecTask, segment_config


def _dataset(tmp_path, tiny_config, feats=None) -> tuple[CodecSegmentDataset, list[str]]:
    data = DataDir.load(make_data_dir(tmp_path, "train", num_speakers=1, utts_per_speaker=2, duration=1.0))
    return CodecSegmentDataset(data, segment_config(tiny_config), train=True, ssl_feats=feats), data.utt_ids


def test_nan_audio_names_the_utterance(tmp_path, tiny_config):
    dataset, utts = _dataset(tmp_path, tiny_config)
    replace_audio(tmp_path / "train", "nan", line=2)
    assert dataset[0]["wav"].isfinite().all()
    with pytest.raises(UserError, match=f"training utterance {utts[1]}: audio .* non-finite"):
        dataset[1]


def test_non_finite_ssl_features_name_the_utterance(tmp_path, tiny_config):
    feats = {"spk1-utt1": np.zeros((50, 64), np.float32), "spk1-utt2": np.full((50, 64), np.inf, np.float32)}
    dataset, _ = _dataset(tmp_path, tiny_config, feats)
    assert dataset[0]["ssl_feats"].isfinite().all()
    with pytest.raises(UserError, match="training utterance spk1-utt2: its SSL features hold NaN or infinite"):
        dataset[1]


def test_non_finite_loss_warning_names_the_batch(tiny_config, caplog):
    task = BiCodecTask(tiny_config)
    task._trainer = SimpleNamespace(global_step=8, strategy=SimpleNamespace(
        reduce_boolean_decision=lambda decision, all: decision))  # a one-process trainer, 4 batches done
    weight = torch.nn.Parameter(torch.ones(1))
    optimizer = torch.optim.SGD([weight], lr=0.1)
    norm = task._update(optimizer, None, weight.sum() * float("nan"), 1.0, ["spk1-utt1", "spk2-utt3"])
    assert torch.isnan(norm) and float(weight.detach()) == 1.0  # skipped
    assert "non-finite loss at batch 4 (utterances spk1-utt1 spk2-utt3): update skipped" in caplog.text
