"""Spark prompts: the exact strings of bicodec_spark.md section 5.2, and ids equal to tokenizing those strings."""
from __future__ import annotations

import numpy as np
import pytest

from tts_codec.errors import UserError
from tts_codec.lm.spark import prompts as P

GLOBALS = np.arange(100, 132)


def g(values):
    return "".join(f"<|bicodec_global_{v}|>" for v in values)


def s(values):
    return "".join(f"<|bicodec_semantic_{v}|>" for v in values)


def test_prompt_a_zero_shot_without_transcript():
    text = P.render(P.tts_prompt("Hello there.", GLOBALS))
    assert text == ("<|task_tts|><|start_content|>Hello there.<|end_content|><|start_global_token|>" + g(GLOBALS)
                    + "<|end_global_token|>")
    assert text.count("bicodec_global_") == 32


def test_prompt_b_continuation_with_transcript_and_join_modes():
    sem = [7, 8191, 0]
    tail = ("<|end_content|><|start_global_token|>" + g(GLOBALS) + "<|end_global_token|><|start_semantic_token|>"
            + s(sem))
    glued = P.render(P.tts_prompt("Words.", GLOBALS, "Actions", sem, join="none"))
    assert glued == "<|task_tts|><|start_content|>ActionsWords." + tail
    spaced = P.render(P.tts_prompt("Words.", GLOBALS, "Actions ", sem, join="space"))
    assert spaced == "<|task_tts|><|start_content|>Actions Words." + tail
    assert P.render(P.tts_prompt("Words.", GLOBALS, "Actions", sem, join="auto")) == spaced
    assert P.join_texts("你好。", "世界", "auto") == "你好。世界"
    assert P.join_texts("Hello", "世界", "auto") == "Hello世界"
    assert P.join_texts("你好，", "world", "auto") == "你好，world"  # fullwidth punctuation counts as CJK
    assert P.join_texts("Hello", "world", "space") == "Hello world"
    with pytest.raises(UserError, match="prompt_join"):
        P.join_texts("a", "b", "tab")
    with pytest.raises(UserError, match="both"):
        P.tts_prompt("Words.", GLOBALS, "Actions", None)


def test_prompt_c_voice_creation_and_its_chain_of_thought():
    prompt = P.render(P.control_prompt("Hi.", "female", "very_high", "low"))
    assert prompt == ("<|task_controllable_tts|><|start_content|>Hi.<|end_content|><|start_style_label|>"
                      "<|gender_0|><|pitch_label_4|><|speed_label_1|><|end_style_label|>")
    labels = "<|gender_1|><|pitch_label_2|><|speed_label_2|>"
    assert labels in P.render(P.control_prompt("Hi.", "m", "2", "moderate"))
    target = P.render(P.control_target(254, 3, GLOBALS, [1, 2]))
    assert target == ("<|start_acoustic_token|><|pitch_value_254|><|speed_value_3|><|end_acoustic_token|>"
                      "<|start_global_token|>" + g(GLOBALS) + "<|end_global_token|><|start_semantic_token|>"
                      + s([1, 2]) + "<|im_end|>")
    assert P.render(P.tts_target([4])) == "<|start_semantic_token|><|bicodec_semantic_4|><|im_end|>"
    with pytest.raises(UserError, match="gender"):
        P.control_prompt("Hi.", "robot", "low", "low")
    with pytest.raises(UserError, match="level"):
        P.control_prompt("Hi.", "male", "loud", "low")
    with pytest.raises(UserError, match="empty text"):
        P.control_prompt("  ", "male", "low", "low")


def _all_prompts():
    return [
        P.tts_prompt("The quick brown fox.", GLOBALS) + P.tts_target([1, 2, 3]),
        P.tts_prompt("sea shore", GLOBALS, "She sells", [5, 6], join="space"),
        P.tts_prompt("ünïcode 漢字 😀 words", GLOBALS, "Actions", [5], join="none"),
        P.control_prompt("  two  spaces ", "male", "low", "high") + P.control_target(1000, 10, GLOBALS, [8191]),
    ]


@pytest.mark.parametrize("which", ["ours", "official"])
def test_segment_ids_equal_tokenizing_the_rendered_string(which, spark_vocab, official_llm_dir):
    from tts_codec.lm.spark.vocab import SparkVocab
    from tts_codec.lm.text_tokenizer import load_tokenizer

    vocab = spark_vocab if which == "ours" else SparkVocab(load_tokenizer(official_llm_dir))
    for segments in _all_prompts():
        expected = vocab.tokenizer(P.render(segments))["input_ids"]  # the official call: no BOS is added
        assert P.encode(segments, vocab) == list(expected)
