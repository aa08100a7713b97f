"""Fixtures for training tests: small data dirs, the tiny BiCodec config, a metric recorder."""
from pathlib import Path

import pytest
import torch
from lightning.pytorch.callbacks import Callback

from tts_codec.config import load_config
from tts_codec.testing.datadirs import make_data_dir

REPO = Path(__file__).resolve().parents[2]
TINY_CONFIG = REPO / "conf" / "train" / "bicodec_tiny.yaml"
OFFICIAL_CONFIG = REPO / "conf" / "train" / "bicodec_official.yaml"


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> tuple[Path, Path]:
    """(train, dev) data dirs: 6 tone+noise utterances of 2.5 s, and 2 of 1.5 s."""
    root = tmp_path_factory.mktemp("corpus")
    train = make_data_dir(root, "train", num_speakers=2, utts_per_speaker=3, duration=2.5)
    dev = make_data_dir(root, "dev", num_speakers=1, utts_per_speaker=2, duration=1.5)
    return train, dev


@pytest.fixture
def tiny_config() -> dict:
    return load_config(TINY_CONFIG)


class Recorder(Callback):
    """Per training batch: the generator's mel loss, the utterance ids, the first samples of each segment and one
    draw from the global torch RNG (as dropout would make), so an exact resume must restore the RNG too."""

    def __init__(self):
        self.mel, self.utts, self.heads, self.draws = [], [], [], []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.mel.append(float(trainer.callback_metrics["train/gen/mel"]))
        self.utts.append(list(batch["utt_ids"]))
        self.heads.append(batch["wav"][:, :16].clone())
        self.draws.append(torch.rand(1).item())


@pytest.fixture
def recorder_cls():
    """The Recorder callback class (conftest modules cannot be imported under importlib mode)."""
    return Recorder
