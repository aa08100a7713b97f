"""Guard of the shipped mini models (egs/mini/tts1/pretrained/spark_mini): they load by path, and codec resynthesis
and zero-shot TTS of fixed eSpeak utterances stay within the margins of the figures measured when they were packed
(`spark_mini.guard.json`, written by `python -m tts_codec.testing.shipped_models`). A change to the codec, the LM,
decoding or loading that breaks the models fails here."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tts_codec.testing import shipped_models

SHIPPED = Path(__file__).resolve().parents[2] / "egs" / "mini" / "tts1" / "pretrained" / "spark_mini"
GUARD = json.loads(SHIPPED.with_name("spark_mini.guard.json").read_text())


def test_shipped_models_fit_the_size_budget_and_load():
    from tts_codec.tts.model_dir import load_model_dir

    size = sum(p.stat().st_size for p in SHIPPED.rglob("*") if p.is_file())
    assert size <= 20 * 2**20, f"{size / 2**20:.2f} MiB"
    tts = load_model_dir(SHIPPED)
    assert tts.sample_rate == 16000 and tts.codec.codebook_size == 1024


@pytest.fixture(scope="module")
def figures(tmp_path_factory):
    return shipped_models.measure(SHIPPED, tmp_path_factory.mktemp("guard"))


@pytest.mark.parametrize("metric", ["codec_stoi", "codec_sim", "tts_sim_o"])
def test_higher_is_better_figures_stay_above_their_limits(figures, metric):
    assert figures[metric] >= GUARD["limits"][metric], (figures, GUARD["measured"])


@pytest.mark.parametrize("metric", ["codec_wer", "tts_wer"])
def test_word_error_rates_stay_below_their_limits(figures, metric):
    assert figures[metric] <= GUARD["limits"][metric], (figures, GUARD["measured"])
