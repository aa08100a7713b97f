"""The Spark-TTS vocabulary: text BPE plus 13,493 added tokens (codec, fine values, labels, attributes, tasks,
markers) in the official order, so that a tokenizer grown here gets the ids of the released `LLM/` tokenizer
(bicodec_spark.md section 5.1: Qwen2.5's 151,665 -> 165,158; `<|bicodec_global_0|>` = 151,665).

`SparkVocab` wraps any transformers tokenizer that holds these tokens (the official one unchanged, or ours) and
maps codec tokens to ids and back without string round trips: each numbered group occupies consecutive ids.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tts_codec.errors import UserError
from tts_codec.lm.text_frontend import TextFrontend, load_text_frontend
from tts_codec.lm.text_tokenizer import load_tokenizer

NUM_GLOBAL = 4096  # BiCodec FSQ global vocabulary
NUM_SEMANTIC = 8192  # BiCodec semantic codebook
EOS = "<|im_end|>"
#: The Qwen2.5 control tokens our own tokenizer carries too (pad/document end, chat start, EOS).
BASE_SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", EOS)
TASKS = ("vc", "tts", "asr", "s2s", "t2s", "cap", "understand", "controllable_tts", "prompt_tts", "edit")
MARKERS = ("content", "style_label", "style_prompt", "acoustic_token", "global_token", "semantic_token")
SEMANTIC_RE = re.compile(r"bicodec_semantic_(\d+)")
GLOBAL_RE = re.compile(r"bicodec_global_(\d+)")


def numbered(name: str, count: int) -> list[str]:
    """`<|name_0|>` .. `<|name_{count-1}|>`."""
    return [f"<|{name}_{i}|>" for i in range(count)]


#: (group name, tokens) in the order the official expand_tokenizer step adds them.
def token_groups() -> list[tuple[str, list[str]]]:
    """The added-token groups of section 5.1, in the official order (ids follow this order)."""
    return [
        ("bicodec_global", numbered("bicodec_global", NUM_GLOBAL)),
        ("bicodec_semantic", numbered("bicodec_semantic", NUM_SEMANTIC)),
        ("pitch_value", numbered("pitch_value", 1001)),
        ("pitch_var_value", numbered("pitch_var_value", 11)),
        ("pitch_label", numbered("pitch_label", 5)),
        ("pitch_var_label", numbered("pitch_var_label", 5)),
        ("speed_value", numbered("speed_value", 11)),
        ("speed_label", numbered("speed_label", 5)),
        ("loudness_value", numbered("loudness_value", 31)),
        ("loudness_label", numbered("loudness_label", 5)),
        ("age", numbered("age", 5)),
        ("gender", numbered("gender", 3)),
        ("emotion", numbered("emotion", 101)),
        ("task", [f"<|task_{t}|>" for t in TASKS]),
        ("start", [f"<|start_{m}|>" for m in MARKERS]),
        ("end", [f"<|end_{m}|>" for m in MARKERS]),
    ]


def spark_added_tokens() -> list[str]:
    """All 13,493 Spark tokens in official order."""
    return [token for _, group in token_groups() for token in group]


def grow_tokenizer(tokenizer: Any) -> int:
    """Add the Spark tokens to a transformers tokenizer as ordinary (non-special) added tokens; return how many.

    They are matched on the raw text (normalized=False), so a text segment between two of them is encoded exactly
    as it would be alone. A tokenizer that already holds some of them is refused (ids would not follow the order).
    """
    from tokenizers import AddedToken

    tokens = spark_added_tokens()
    present = [t for t in (tokens[0], tokens[-1]) if t in tokenizer.get_vocab()]
    if present:
        raise UserError(f"tokenizer already holds Spark tokens ({present[0]}); grow a plain text tokenizer")
    added = tokenizer.add_tokens([AddedToken(t, normalized=False, special=False) for t in tokens])
    if added != len(tokens):
        raise UserError(f"tokenizer accepted {added} of {len(tokens)} Spark tokens (some clash with its vocabulary)")
    return added


@dataclass(frozen=True)
class TokenRange:
    """A numbered token group stored at consecutive ids: `name_i` has id `start + i`."""

    name: str
    start: int
    size: int

    def ids(self, values: Sequence[int] | np.ndarray) -> np.ndarray:
        """Values (0..size-1) -> token ids (int64); out-of-range values are a ValueError."""
        values = np.asarray(values, dtype=np.int64).reshape(-1)
        if values.size and (values.min() < 0 or values.max() >= self.size):
            raise ValueError(f"{self.name} values must lie in [0, {self.size}), got {values.min()}..{values.max()}")
        return values + self.start

    def values(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """The values of those ids that belong to this group, in order (others are skipped)."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        inside = (ids >= self.start) & (ids < self.start + self.size)
        return ids[inside] - self.start


class SparkVocab:
    """Id lookups over a tokenizer that carries the Spark tokens (the official LLM tokenizer or ours).

    Args:
        tokenizer: a transformers tokenizer; every Spark token must be present and each numbered group contiguous.
        frontend: what a transcript becomes before the BPE (the tokenizer dir's `text_frontend.json`).
    """

    def __init__(self, tokenizer: Any, frontend: TextFrontend | None = None):
        self.tokenizer = tokenizer
        self.frontend = frontend or TextFrontend()
        vocab = tokenizer.get_vocab()
        missing = [t for t in (*spark_added_tokens(), EOS) if t not in vocab]
        if missing:
            raise UserError(f"tokenizer lacks {len(missing)} Spark token(s), e.g. {missing[0]}; it is not a Spark-TTS "
                            "tokenizer (train one with tts_codec.bin.train_text_tokenizer)")
        self._vocab = vocab
        self.ranges: dict[str, TokenRange] = {}
        for name, tokens in token_groups():
            ids = np.array([vocab[t] for t in tokens])
            if name in ("task", "start", "end"):
                continue
            if not np.array_equal(ids, ids[0] + np.arange(len(ids))):
                raise UserError(f"tokenizer: the {name} tokens do not have consecutive ids")
            self.ranges[name] = TokenRange(name, int(ids[0]), len(ids))
        self.eos_id = int(vocab[EOS])
        pad = getattr(tokenizer, "pad_token_id", None)
        self.pad_id = int(pad) if pad is not None else self.eos_id

    def __len__(self) -> int:
        return len(self.tokenizer)

    def id(self, token: str) -> int:
        """The id of one token string (e.g. `<|task_tts|>`); KeyError naming it if absent."""
        try:
            return int(self._vocab[token])
        except KeyError:
            raise KeyError(f"token {token!r} is not in the vocabulary") from None

    def encode_text(self, text: str) -> list[int]:
        """BPE ids of plain text after the front end, no BOS/EOS added (Spark prompts carry none)."""
        return list(self.tokenizer.encode(self.frontend(text), add_special_tokens=False))

    def semantic_ids(self, codes: Sequence[int] | np.ndarray) -> np.ndarray:
        return self.ranges["bicodec_semantic"].ids(codes)

    def global_ids(self, codes: Sequence[int] | np.ndarray) -> np.ndarray:
        return self.ranges["bicodec_global"].ids(codes)

    def parse_semantic(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Semantic codes among generated ids (other tokens skipped), as the official regex parse does."""
        return self.ranges["bicodec_semantic"].values(ids)

    def parse_global(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        return self.ranges["bicodec_global"].values(ids)


def load_spark_vocab(tokenizer_dir: str | Path) -> SparkVocab:
    """The SparkVocab of a tokenizer dir (stage 4's, an LLM dir or a packed model's): tokenizer + text front end."""
    return SparkVocab(load_tokenizer(tokenizer_dir), load_text_frontend(tokenizer_dir))


def parse_codes(text: str, kind: str = "semantic") -> np.ndarray:
    """Codes named in decoded text (`bicodec_semantic_(\\d+)` / `bicodec_global_(\\d+)`), in order."""
    pattern = {"semantic": SEMANTIC_RE, "global": GLOBAL_RE}[kind]
    return np.array([int(m) for m in pattern.findall(text)], dtype=np.int64)
