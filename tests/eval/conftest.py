"""Fixtures of the evaluation tests: the eSpeak NG engine that synthesises their speech."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def espeak_engine():
    """The shared eSpeak NG engine; the test is skipped only when no engine is installed (a synthesis error fails)."""
    from tts_codec.data.synth.espeak import EngineUnavailable, get_engine

    try:
        return get_engine()
    except EngineUnavailable as err:
        pytest.skip(f"eSpeak NG not installed ({err})")
