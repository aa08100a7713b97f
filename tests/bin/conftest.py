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

