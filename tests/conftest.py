"""Settings for the whole suite: offline hubs, and one torch thread per test (the 2 CI cores are shared, and
several threads per tiny model only contend: up to 8x slower measured)."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(autouse=True)
def one_torch_thread():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def espeak_engine():
    """The shared eSpeak NG engine; the test is skipped only when no engine is installed (a synthesis error fails)."""
    from tts_codec.data.synth.espeak import EngineUnavailable, get_engine

    try:
        return get_engine()
    except EngineUnavailable as err:
        pytest.skip(f"eSpeak NG not installed ({err})")
