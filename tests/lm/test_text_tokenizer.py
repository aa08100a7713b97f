"""The sentencepiece BPE served through transformers: identical ids, saved in an LLM-dir layout, clear errors."""
from __future__ import annotations

import json

import pytest

from tts_codec.errors import UserError
from tts_codec.lm.text_tokenizer import SPM_FILE, load_tokenizer
from tts_codec.testing.spark_lm import SAMPLE_TEXTS

PROBES = ["The quick brown fox.", "  two  spaces ", "ünïcödé 漢字 emoji 😀", "Actions speak 12345", " lead",
          "x"]


def test_fast_tokenizer_reproduces_sentencepiece_ids(spark_tokenizer_dir):
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(spark_tokenizer_dir / SPM_FILE))
    tokenizer = load_tokenizer(spark_tokenizer_dir)
    for text in PROBES:
        assert tokenizer.encode(text, add_special_tokens=False) == sp.encode(text), text
        # text between added tokens is encoded as if alone
        ids = tokenizer.encode(f"<|task_tts|>{text}<|im_end|>", add_special_tokens=False)
        assert ids[1:-1] == sp.encode(text)
    assert tokenizer.decode(sp.encode("Actions speak 12345")) == "Actions speak 12345"


def test_saved_layout_loads_as_a_plain_fast_tokenizer(spark_tokenizer_dir):
    config = json.loads((spark_tokenizer_dir / "tokenizer_config.json").read_text())
    assert config["tokenizer_class"] == "PreTrainedTokenizerFast"  # a class transformers 4.x knows too
    assert (spark_tokenizer_dir / "tokenizer.json").is_file()


def test_training_is_deterministic_and_refuses_bad_sizes(tmp_path):
    from tts_codec.lm.spark.tokenizer import train_spark_tokenizer

    texts = list(SAMPLE_TEXTS) * 4
    train_spark_tokenizer(texts, 300, tmp_path / "a")
    train_spark_tokenizer(texts, 300, tmp_path / "b")
    assert (tmp_path / "a" / "tokenizer.json").read_bytes() == (tmp_path / "b" / "tokenizer.json").read_bytes()
    with pytest.raises(UserError, match="--vocab_size 100"):
        train_spark_tokenizer(texts, 100, tmp_path / "c")
    with pytest.raises(UserError, match="no training text"):
        train_spark_tokenizer(["", "  "], 300, tmp_path / "d")
    with pytest.raises(UserError, match="already exists|not empty|overwrite"):
        train_spark_tokenizer(texts, 300, tmp_path / "a")
    assert not (tmp_path / "c").exists()


def test_official_tokenizer_is_registered_unchanged(official_llm_dir, tmp_path):
    from tts_codec.lm.spark.tokenizer import copy_pretrained_tokenizer

    copy_pretrained_tokenizer(official_llm_dir, tmp_path / "tok")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        assert (tmp_path / "tok" / name).read_bytes() == (official_llm_dir / name).read_bytes()
    with pytest.raises(UserError, match="not a tokenizer directory"):
        copy_pretrained_tokenizer(tmp_path / "nowhere", tmp_path / "tok2")


def test_exported_llm_dir_tokenizes_like_the_training_tokenizer(spark_tokenizer_dir, tmp_path):
    """Regression: beside a Qwen2 config.json, transformers 5's AutoTokenizer built a Qwen2Tokenizer from our files,
    which dropped the word boundaries ("The birch" -> T, he, b, ir) and all non-ASCII characters, so a trained LM
    read other ids at synthesis than in training."""
    from tts_codec.lm.spark.model import build_lm, export_llm_dir, load_llm_dir
    from tts_codec.lm.spark.vocab import load_spark_vocab
    from tts_codec.testing.spark_lm import TINY_LM_CONF

    vocab = load_spark_vocab(spark_tokenizer_dir)
    export_llm_dir(build_lm({"lm": "spark", "lm_conf": TINY_LM_CONF}, vocab), spark_tokenizer_dir, tmp_path / "LLM")
    _, loaded = load_llm_dir(tmp_path / "LLM")
    for text in PROBES:
        assert loaded.encode_text(text) == vocab.encode_text(text), text
    assert loaded.tokenizer.decode(loaded.encode_text("The quick brown fox.")) == "The quick brown fox."
