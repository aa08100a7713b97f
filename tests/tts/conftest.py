"""Shared fixtures: a tiny codec + tiny random LM pair (built once), and a fresh pipeline over it per test."""
from __future__ import annotations

import pytest

from tts_codec.testing.spark_tts import make_tts_dirs


@pytest.fixture(scope="session")
def tts_dirs(tmp_path_factory):
    return make_tts_dirs(tmp_path_factory.mktemp("tts"))


@pytest.fixture(scope="session")
def shared_tts(tts_dirs):
    from tts_codec.tts.spark import SparkTTS

    return SparkTTS.from_dirs(*tts_dirs)


@pytest.fixture()
def tts(shared_tts):
    """The shared pipeline with its real LM restored after the test (tests may swap in a ScriptedLM)."""
    lm = shared_tts.lm
    yield shared_tts
    shared_tts.lm = lm
