"""Fixtures for the BiCodec tests: seeded tiny models (built once per module)."""
import pytest
import torch

from tts_codec.codecs import build_codec
from tts_codec.testing.bicodec import seeded, tiny_config


@pytest.fixture(scope="module")
def tiny_model():
    torch.set_num_threads(1)
    return seeded(lambda: build_codec(tiny_config()))
