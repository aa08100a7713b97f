"""Spark-TTS training examples (bicodec_spark.md section 5.4): two per utterance, loss on the continuation only.

    tts      prompt A (text, the utterance's own 32 globals)   -> <|start_semantic_token|> semantic <|im_end|>
    control  prompt C (text, gender, pitch and speed levels)   -> fine values, globals, semantic, <|im_end|>

The control example needs the stage-3 labels (`utt2gender`, `utt2pitch`, `utt2speed`, `utt2pitch_value`,
`utt2speed_value`); an utterance with any of them unknown yields the tts example only.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tts_codec.data.lm_dataset import UNKNOWN, Example, make_example
from tts_codec.data.token_file import CodesInfo
from tts_codec.errors import UserError
from tts_codec.lm.spark import prompts as P
from tts_codec.lm.spark.vocab import SparkVocab

OBJECTIVES = ("tts", "control")
ATTR_FILES = ("utt2gender", "utt2pitch", "utt2speed", "utt2pitch_value", "utt2speed_value")
STREAMS = {"semantic": "bicodec_semantic", "global": "bicodec_global"}  # token stream -> vocabulary group


def check_codes(info: CodesInfo, vocab: SparkVocab, where: str) -> None:
    """The codec's streams must be BiCodec-like and fit the Spark vocabulary."""
    for stream, group in STREAMS.items():
        if stream not in info.streams:
            raise UserError(f"{where}: no {stream!r} token stream (codec {info.codec!r}); the Spark LM needs "
                            f"BiCodec tokens ({sorted(STREAMS)})")
        size, room = info.streams[stream].codebook_size, vocab.ranges[group].size
        if size > room:
            raise UserError(f"{where}: {stream} codebook of {size} codes exceeds the {room} {group} tokens")


class SparkExamples:
    """The example builder of `tts_codec.data.lm_dataset.LMDataset` for Spark-TTS.

    Args:
        vocab: the Spark vocabulary.
        objectives: subset of ("tts", "control").
    """

    def __init__(self, vocab: SparkVocab, objectives: Sequence[str] = OBJECTIVES):
        unknown = sorted(set(objectives) - set(OBJECTIVES))
        if unknown or not objectives:
            raise UserError(f"config data.objectives: {list(objectives)}; choose from {list(OBJECTIVES)}")
        self.vocab, self.objectives = vocab, tuple(objectives)

    def __call__(self, record: Mapping[str, Any]) -> list[Example]:
        text = record["text"]
        semantic = np.asarray(record["semantic"]).reshape(-1)
        globals_ = np.asarray(record["global"]).reshape(-1)
        out = []
        if "tts" in self.objectives:
            out.append(make_example(self._ids(P.tts_prompt(text, globals_)), self._ids(P.tts_target(semantic)), "tts"))
        if "control" in self.objectives and all(record.get(f[4:], UNKNOWN) != UNKNOWN for f in ATTR_FILES):
            prompt = P.control_prompt(text, record["gender"], record["pitch"], record["speed"])
            target = P.control_target(clip(record["pitch_value"], 1000), clip(record["speed_value"], 10), globals_,
                                      semantic)
            out.append(make_example(self._ids(prompt), self._ids(target), "control"))
        return out

    def _ids(self, segments: list[P.Segment]) -> list[int]:
        return P.encode(segments, self.vocab)


def clip(value: Any, high: int) -> int:
    """A label file's integer value clipped to 0..high (the token range)."""
    try:
        return min(max(int(value), 0), high)
    except (TypeError, ValueError):
        raise UserError(f"attribute value {value!r} is not an integer") from None
