"""Shared LM fixtures: our trained Spark tokenizer and an official-layout LLM dir (both built once per session)."""
from __future__ import annotations

import pytest

from tts_codec.testing.spark_lm import make_spark_tokenizer


@pytest.fixture(scope="session")
def spark_tokenizer_dir(tmp_path_factory):
    return make_spark_tokenizer(tmp_path_factory.mktemp("tok") / "spark_bpe")


@pytest.fixture(scope="session")
def spark_vocab(spark_tokenizer_dir):
    from tts_codec.lm.spark.vocab import SparkVocab
    from tts_codec.lm.text_tokenizer import load_tokenizer

    return SparkVocab(load_tokenizer(spark_tokenizer_dir))


@pytest.fixture(scope="session")
def official_llm_dir(tmp_path_factory):
    from tts_codec.testing.spark_lm import make_official_llm_dir

    return make_official_llm_dir(tmp_path_factory.mktemp("official") / "LLM")
