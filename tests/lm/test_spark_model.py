"""The Spark LM model: built from YAML (tiny and official shape), official LLM dirs loaded and exported."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tts_codec.config import load_config
from tts_codec.errors import UserError
from tts_codec.lm.spark.model import build_lm, count_parameters, export_llm_dir, load_llm_dir, qwen2_config

CONF = Path(__file__).resolve().parents[2] / "conf" / "lm"


def test_official_config_has_the_qwen2_5_0_5b_shape_and_official_vocab(spark_vocab):
    config = load_config(CONF / "spark_official.yaml")
    qwen = qwen2_config(config, spark_vocab)
    assert (qwen.vocab_size, qwen.hidden_size, qwen.num_hidden_layers, qwen.num_attention_heads,
            qwen.num_key_value_heads, qwen.intermediate_size, qwen.tie_word_embeddings) == \
        (166_000, 896, 24, 14, 2, 4864, True)
    with torch.device("meta"):
        model = build_lm(config, spark_vocab)
    # 166,000 x 896 tied embeddings + 24 layers of 14.9M: Qwen2.5-0.5B (494M) with 14,064 more rows
    assert count_parameters(model) == 506_634_112


def test_tiny_config_sizes_embeddings_to_the_tokenizer_and_runs(spark_vocab):
    config = load_config(CONF / "spark_tiny.yaml")
    model = build_lm(config, spark_vocab)
    rows = model.get_input_embeddings().weight.shape[0]
    assert rows % 64 == 0 and len(spark_vocab) <= rows < len(spark_vocab) + 64
    assert count_parameters(model) < 1_500_000
    logits = model(input_ids=torch.tensor([[1, 2, 3]])).logits
    assert logits.shape == (1, 3, rows)


def test_bad_lm_settings_fail_by_name(spark_vocab):
    config = load_config(CONF / "spark_tiny.yaml")
    with pytest.raises(UserError, match="unknown key.*hiden_size"):
        build_lm({**config, "lm_conf": {"hiden_size": 8}}, spark_vocab)
    with pytest.raises(UserError, match="smaller than the tokenizer"):
        build_lm({**config, "lm_conf": {**config["lm_conf"], "vocab_size": 100}}, spark_vocab)
    with pytest.raises(UserError, match="lm: spark"):
        build_lm({**config, "lm": "mars6"}, spark_vocab)


def test_official_llm_dir_loads_and_exports_to_the_same_layout(official_llm_dir, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model, vocab = load_llm_dir(official_llm_dir)
    assert vocab.ranges["bicodec_semantic"].size == 8192
    export_llm_dir(model, official_llm_dir, tmp_path / "LLM")
    config = json.loads((tmp_path / "LLM" / "config.json").read_text())
    assert config["architectures"] == ["Qwen2ForCausalLM"] and config["rope_theta"] == 1e6  # 4.x spelling too
    assert (tmp_path / "LLM" / "model.safetensors").is_file()
    # the official inference code's two calls
    again = AutoModelForCausalLM.from_pretrained(str(tmp_path / "LLM"))
    tokenizer = AutoTokenizer.from_pretrained(str(tmp_path / "LLM"))
    ids = tokenizer(["<|task_tts|><|start_content|>Hello<|end_content|>"], return_tensors="pt")["input_ids"]
    with torch.no_grad():
        assert torch.equal(model(input_ids=ids).logits, again(input_ids=ids).logits)
    with pytest.raises(UserError, match="not empty|exists|overwrite"):
        export_llm_dir(model, official_llm_dir, tmp_path / "LLM")


def test_our_tokenizer_and_model_export_as_an_official_dir(spark_tokenizer_dir, spark_vocab, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = build_lm(load_config(CONF / "spark_tiny.yaml"), spark_vocab)
    export_llm_dir(model, spark_tokenizer_dir, tmp_path / "LLM")
    tokenizer = AutoTokenizer.from_pretrained(str(tmp_path / "LLM"))
    assert tokenizer.convert_tokens_to_ids("<|bicodec_semantic_0|>") == spark_vocab.ranges["bicodec_semantic"].start
    loaded, vocab = load_llm_dir(tmp_path / "LLM")
    assert len(vocab) == len(spark_vocab)
    assert isinstance(AutoModelForCausalLM.from_pretrained(str(tmp_path / "LLM")), type(model))


def test_broken_llm_dirs_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="no config.json"):
        load_llm_dir(tmp_path)
