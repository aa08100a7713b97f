"""Fixtures for the codec CLIs (factories in tts_codec.testing.codec_dirs)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tts_codec.testing.codec_dirs import make_codec_data_dir, save_tiny_model


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("codec") / "model")


@pytest.fixture()
def data_dir(tmp_path) -> Path:
    return make_codec_data_dir(tmp_path)


@pytest.fixture(autouse=True)
def one_thread():
    """The tiny model gains nothing from threads, and the test machine's cores are shared."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
