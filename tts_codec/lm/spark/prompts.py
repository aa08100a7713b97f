"""Spark-TTS prompts and training targets (bicodec_spark.md section 5.2), as segments that render to the official
strings and encode to ids without re-tokenizing thousands of codec tokens.

A prompt is a list of segments: a `str` is text for the BPE, a `Tokens` is a run of added tokens. `render()` gives
the official string (everything concatenated with no separator); `encode()` gives the ids the tokenizer would
produce for that string, because added tokens split the text and each text segment is encoded on its own.

    A  zero-shot:       <|task_tts|><|start_content|>{text}<|end_content|><|start_global_token|>{32 globals}
                        <|end_global_token|>
    B  with transcript: A with {prompt_text}{join}{text} as content, then <|start_semantic_token|>{ref semantic}
    C  voice creation:  <|task_controllable_tts|><|start_content|>{text}<|end_content|><|start_style_label|>
                        <|gender_g|><|pitch_label_p|><|speed_label_s|><|end_style_label|>
"""
from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import NamedTuple, Union

import numpy as np

from tts_codec.attributes import GENDERS, LEVELS, parse_gender, parse_level
from tts_codec.errors import UserError
from tts_codec.lm.spark.vocab import EOS, SparkVocab

JOIN_MODES = ("none", "space", "auto")


class Tokens(NamedTuple):
    """A run of added tokens: `name` is a group (`bicodec_semantic`) with `values`, or a literal token list."""

    name: str | None
    values: tuple

    def render(self) -> str:
        if self.name is None:
            return "".join(self.values)
        return "".join(f"<|{self.name}_{int(v)}|>" for v in self.values)


Segment = Union[str, Tokens]


def literal(*tokens: str) -> Tokens:
    return Tokens(None, tuple(tokens))


def codes(name: str, values: Sequence[int] | np.ndarray) -> Tokens:
    return Tokens(name, tuple(int(v) for v in np.asarray(values).reshape(-1)))


def render(segments: Sequence[Segment]) -> str:
    """The prompt string exactly as the official code builds it."""
    return "".join(s if isinstance(s, str) else s.render() for s in segments)


def encode(segments: Sequence[Segment], vocab: SparkVocab) -> list[int]:
    """Token ids of `render(segments)` (the same ids, computed per segment)."""
    ids: list[int] = []
    for seg in segments:
        if isinstance(seg, str):
            ids.extend(vocab.encode_text(seg))
        elif seg.name is None:
            ids.extend(vocab.id(t) for t in seg.values)
        else:
            ids.extend(vocab.ranges[seg.name].ids(seg.values).tolist())
    return ids


def is_cjk(char: str) -> bool:
    """True for Han, Kana and Hangul characters (scripts written without spaces between words)."""
    name = unicodedata.name(char, "")
    return name.startswith(("CJK ", "HIRAGANA", "KATAKANA", "HANGUL", "IDEOGRAPHIC", "FULLWIDTH", "HALFWIDTH"))


def join_texts(prompt_text: str, text: str, mode: str = "auto") -> str:
    """Reference transcript + target text for prompt B.

    `none` glues them as the official code does (BPE may fuse across the join); `space` puts one space between;
    `auto` puts a space unless the join touches CJK text (bicodec_spark.md section 9).
    """
    if mode not in JOIN_MODES:
        raise UserError(f"prompt_join: {mode!r} is not one of {list(JOIN_MODES)}")
    if mode == "none":
        return prompt_text + text
    left, right = prompt_text.rstrip(), text.lstrip()
    if not left or not right:
        return left + right
    if mode == "auto" and (is_cjk(left[-1]) or is_cjk(right[0])):
        return left + right
    return f"{left} {right}"


def check_text(text: str) -> str:
    """Refuse empty text (the LM would only hallucinate)."""
    if not text or not text.strip():
        raise UserError("empty text: nothing to synthesise")
    return text


def tts_prompt(text: str, global_codes: Sequence[int] | np.ndarray, prompt_text: str | None = None,
               prompt_semantic: Sequence[int] | np.ndarray | None = None, join: str = "auto") -> list[Segment]:
    """Prompt A (no transcript) or B (`prompt_text` and the reference's `prompt_semantic` codes)."""
    check_text(text)
    if (prompt_text is None) != (prompt_semantic is None):
        raise UserError("prompt B needs both the reference transcript and its semantic tokens")
    content = text if prompt_text is None else join_texts(prompt_text, text, join)
    segments: list[Segment] = [
        literal("<|task_tts|>", "<|start_content|>"), content, literal("<|end_content|>", "<|start_global_token|>"),
        codes("bicodec_global", global_codes), literal("<|end_global_token|>"),
    ]
    if prompt_semantic is not None:
        segments += [literal("<|start_semantic_token|>"), codes("bicodec_semantic", prompt_semantic)]
    return segments


def level_id(label: str) -> int:
    return LEVELS.index(parse_level(label))


def gender_id(label: str) -> int:
    return GENDERS.index(parse_gender(label))


def control_prompt(text: str, gender: str, pitch: str, speed: str) -> list[Segment]:
    """Prompt C: voice creation from a gender and pitch/speed levels (names or 0..4)."""
    check_text(text)
    return [
        literal("<|task_controllable_tts|>", "<|start_content|>"), text,
        literal("<|end_content|>", "<|start_style_label|>"),
        codes("gender", [gender_id(gender)]), codes("pitch_label", [level_id(pitch)]),
        codes("speed_label", [level_id(speed)]), literal("<|end_style_label|>"),
    ]


def tts_target(semantic: Sequence[int] | np.ndarray) -> list[Segment]:
    """What the model learns to continue prompt A with: semantic tokens, then EOS."""
    return [literal("<|start_semantic_token|>"), codes("bicodec_semantic", semantic), literal(EOS)]


def acoustic_block(pitch_value: int, speed_value: int) -> list[Segment]:
    """The fine values of the chain of thought (pre-filled in the prompt for fine-grained control)."""
    return [literal("<|start_acoustic_token|>"), codes("pitch_value", [pitch_value]),
            codes("speed_value", [speed_value]), literal("<|end_acoustic_token|>")]


def control_target(pitch_value: int, speed_value: int, global_codes: Sequence[int] | np.ndarray,
                   semantic: Sequence[int] | np.ndarray) -> list[Segment]:
    """Prompt C's chain of thought: fine values -> 32 globals -> semantic tokens -> EOS."""
    return [
        *acoustic_block(pitch_value, speed_value),
        literal("<|start_global_token|>"), codes("bicodec_global", global_codes), literal("<|end_global_token|>"),
        *tts_target(semantic),
    ]
