"""Spark vocabulary: the official groups, counts, order and id layout; id <-> code mapping."""
from __future__ import annotations

import numpy as np
import pytest

from tts_codec.errors import UserError
from tts_codec.lm.spark.vocab import SparkVocab, grow_tokenizer, parse_codes, spark_added_tokens, token_groups


def test_groups_and_counts_match_the_spec():
    counts = {name: len(tokens) for name, tokens in token_groups()}
    assert counts["bicodec_global"] + counts["bicodec_semantic"] == 12_288
    fine = sum(counts[k] for k in ("pitch_value", "pitch_var_value", "loudness_value", "speed_value"))
    assert fine == 1_054
    assert sum(counts[k] for k in ("pitch_label", "pitch_var_label", "loudness_label", "speed_label")) == 20
    assert counts["age"] + counts["gender"] + counts["emotion"] == 109
    assert counts["task"] == 10 and counts["start"] + counts["end"] == 12
    tokens = spark_added_tokens()
    assert len(tokens) == 13_493 == len(set(tokens))
    assert tokens[:2] == ["<|bicodec_global_0|>", "<|bicodec_global_1|>"]
    assert tokens[-12:-6] == ["<|start_content|>", "<|start_style_label|>", "<|start_style_prompt|>",
                              "<|start_acoustic_token|>", "<|start_global_token|>", "<|start_semantic_token|>"]
    assert tokens[-1] == "<|end_semantic_token|>"


def test_growing_a_qwen_sized_tokenizer_gives_the_official_ids():
    from tts_codec.testing.spark_lm import official_style_tokenizer

    tokenizer = official_style_tokenizer(full_size=True)
    assert len(tokenizer) == 165_158
    ids = tokenizer.convert_tokens_to_ids(["<|im_end|>", "<|bicodec_global_0|>", "<|bicodec_global_4095|>",
                                           "<|bicodec_semantic_0|>", "<|bicodec_semantic_8191|>", "<|pitch_value_0|>",
                                           "<|task_tts|>", "<|end_semantic_token|>"])
    assert ids == [151_645, 151_665, 155_760, 155_761, 163_952, 163_953, 165_137, 165_157]
    vocab = SparkVocab(tokenizer)
    assert vocab.eos_id == 151_645
    assert vocab.semantic_ids([0, 8191]).tolist() == [155_761, 163_952]


def test_our_tokenizer_has_the_same_layout_after_its_bpe(spark_vocab):
    tok = spark_vocab.tokenizer
    first = tok.convert_tokens_to_ids("<|bicodec_global_0|>")
    assert tok.convert_tokens_to_ids(["<|endoftext|>", "<|im_start|>", "<|im_end|>"]) == [first - 3, first - 2,
                                                                                          first - 1]
    assert len(tok) == first + 13_493
    assert spark_vocab.eos_id == first - 1 and spark_vocab.pad_id == first - 3
    # ordinary added tokens: they survive skip_special_tokens decoding, as the official parser relies on
    ids = spark_vocab.semantic_ids([5, 17]).tolist() + [spark_vocab.eos_id]
    text = tok.decode(ids, skip_special_tokens=True)
    assert parse_codes(text, "semantic").tolist() == [5, 17]


def test_id_mapping_round_trips_and_skips_other_tokens(spark_vocab):
    codes = np.array([0, 1, 8191, 4000])
    ids = spark_vocab.semantic_ids(codes)
    mixed = np.concatenate([[spark_vocab.id("<|start_semantic_token|>")], ids, spark_vocab.global_ids([3]),
                            [spark_vocab.eos_id]])
    assert spark_vocab.parse_semantic(mixed).tolist() == codes.tolist()
    assert spark_vocab.parse_global(mixed).tolist() == [3]
    with pytest.raises(ValueError, match=r"\[0, 8192\)"):
        spark_vocab.semantic_ids([8192])
    with pytest.raises(ValueError):
        spark_vocab.global_ids([-1])


def test_a_tokenizer_without_spark_tokens_is_refused():
    from tts_codec.testing.spark_lm import qwen_style_tokenizer

    plain = qwen_style_tokenizer()
    with pytest.raises(UserError, match="lacks 13493 Spark token"):
        SparkVocab(plain)
    grow_tokenizer(plain)
    SparkVocab(plain)
    with pytest.raises(UserError, match="already holds Spark tokens"):
        grow_tokenizer(plain)
