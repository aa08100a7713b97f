"""What a Spark LM generated, checked before anything reaches the codec (bicodec_spark.md section 9: an empty
semantic output crashed the official decoder; control mode could yield other than 32 globals)."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from tts_codec.lm.spark.vocab import SparkVocab


class MalformedOutput(ValueError):
    """A generation the codec cannot decode; the reason says what was wrong (callers retry, then refuse)."""


class Generated(NamedTuple):
    """Parsed LM output.

    Attributes:
        semantic: (T,) semantic codes.
        global_codes: (N,) generated global codes (voice creation), else None.
        fine: generated fine values {"pitch_value", "speed_value"} when present.
        finished: the LM emitted EOS (else it stopped at max_new_tokens).
    """

    semantic: np.ndarray
    global_codes: np.ndarray | None
    fine: dict[str, int]
    finished: bool


def parse_output(ids: np.ndarray, finished: bool, vocab: SparkVocab, semantic_size: int,
                 num_globals: int | None = None, global_size: int = 0) -> Generated:
    """Semantic codes (and, when `num_globals` is set, exactly that many global codes) among generated ids.

    Other tokens are skipped, as the official regex parse does. Raises MalformedOutput when there is no semantic
    code, a code lies outside the codec's codebook, or the global count is wrong.
    """
    semantic = vocab.parse_semantic(ids)
    if semantic.size == 0:
        raise MalformedOutput(f"no semantic tokens among {len(ids)} generated tokens")
    if semantic.max() >= semantic_size:
        raise MalformedOutput(f"semantic code {int(semantic.max())} is outside the codec's {semantic_size} codes")
    globals_ = None
    if num_globals is not None:
        globals_ = vocab.parse_global(ids)
        if globals_.size != num_globals:
            raise MalformedOutput(f"{globals_.size} global tokens generated, the codec needs exactly {num_globals}")
        if globals_.max() >= global_size:
            raise MalformedOutput(f"global code {int(globals_.max())} is outside the codec's {global_size} codes")
    fine = {}
    for name in ("pitch_value", "speed_value"):
        values = vocab.ranges[name].values(ids)
        if values.size:
            fine[name] = int(values[0])
    return Generated(semantic, globals_, fine, finished)
