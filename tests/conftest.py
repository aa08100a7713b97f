"""Settings for the whole suite: offline hubs, and one torch thread per test (the 2 CI cores are shared, and
several threads per tiny model only contend: up to 8x slower measured)."""
from __future__ import annotations

import os
import time

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


def _process_gone(pid: int, timeout: float) -> bool:
    """True once `pid` has exited within `timeout` s; on Linux a zombie not yet reaped by init counts as gone."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        if _is_zombie(pid):
            return True
        time.sleep(0.05)
    return False


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:  # no /proc (not Linux), or the process went between the probe and the read
        return False


@pytest.fixture
def process_gone():
    """`process_gone(pid, timeout) -> bool`: waits for a process to exit."""
    return _process_gone
