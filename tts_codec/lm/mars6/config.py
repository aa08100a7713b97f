"""The MARS6 model configuration (`lm: mars6` + `lm_conf:` in YAML); defaults are the official ~67 M model (§4)."""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from tts_codec.errors import UserError


@dataclass(frozen=True)
class Mars6Config:
    """Sizes of every block.

    Attributes:
        dim, heads, ffn: transformer width, attention heads, feed-forward width (all blocks).
        encoder_layers, global_layers, local_layers: depths of the text encoder, 12 Hz decoder, patch decoder.
        text_vocab: BPE vocabulary size (specials included).
        codebook_size: codes per SNAC level; levels: tokens per patch of each level, coarsest first (1, 2, 4).
        speaker_dim: size of the speaker embedding (xvector.scp); style_dim: the optional second slot (0 = off).
        num_langs: language embeddings (1: English only).
        cond_dropout: training probability of replacing the speaker (and style) by the learned null embedding.
        dropout: residual dropout in every transformer block during training (0: none, as in §4; small corpora
            that the model learns by heart want some, see the mini recipe's RESULTS.md).
        max_text_len: longest encoder input accepted (text tokens).
    """

    dim: int = 512
    heads: int = 8
    ffn: int = 1024
    encoder_layers: int = 8
    global_layers: int = 8
    local_layers: int = 4
    text_vocab: int = 512
    codebook_size: int = 4096
    levels: tuple[int, ...] = (1, 2, 4)
    speaker_dim: int = 512
    style_dim: int = 1024
    num_langs: int = 1
    cond_dropout: float = 0.1
    dropout: float = 0.0
    max_text_len: int = 2048

    def __post_init__(self) -> None:
        object.__setattr__(self, "levels", tuple(int(n) for n in self.levels))
        if self.dim % self.heads or self.dim <= 0:
            raise UserError(f"lm_conf: dim {self.dim} must be a positive multiple of heads {self.heads}")
        if min(self.encoder_layers, self.global_layers, self.local_layers, self.text_vocab, self.speaker_dim) < 1:
            raise UserError("lm_conf: layer counts, text_vocab and speaker_dim must be >= 1")
        if not self.levels or min(self.levels) < 1 or not 0 <= self.cond_dropout < 1 or self.style_dim < 0:
            raise UserError("lm_conf: levels must be positive, 0 <= cond_dropout < 1, style_dim >= 0")
        if not 0 <= self.dropout < 1:
            raise UserError(f"lm_conf: dropout {self.dropout} must be in [0, 1)")

    @property
    def patch_size(self) -> int:
        """Tokens per patch (7 for SNAC 24 kHz)."""
        return sum(self.levels)

    @property
    def eos_id(self) -> int:
        """The EOS / padding id, after every level's codes."""
        return self.codebook_size * len(self.levels)

    @property
    def vocab_size(self) -> int:
        """Output vocabulary: every level's codes + EOS (12289)."""
        return self.eos_id + 1

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> "Mars6Config":
        values = dict(values or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise UserError(f"lm_conf: unknown key(s) {unknown}; known: {sorted(known)}")
        for f in fields(cls):  # the range checks compare numbers: a string there would fail without naming its key
            value = values.get(f.name)
            if f.name in values and isinstance(f.default, (int, float)) and not _same_number_type(f.default, value):
                raise UserError(f"lm_conf.{f.name}: expected {type(f.default).__name__}, got {value!r}")
        try:
            return cls(**values)
        except TypeError as err:
            raise UserError(f"lm_conf: {err}") from None


def _same_number_type(default: int | float, value: Any) -> bool:
    """True if `value` is a number of `default`'s kind: an int for an int, an int or float for a float (never a
    bool, and never a string such as YAML's `1e-3`)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, (int, float)) if isinstance(default, float) else isinstance(value, int)
