"""Long text -> chunks the LM can speak: sentences packed up to `max_chars`, over-long sentences cut at clause
marks, then at spaces (bicodec_spark.md section 9: long inputs drift and hit the `max_new_tokens` cap)."""
from __future__ import annotations

import re

from tts_codec.errors import UserError
from tts_codec.lm.spark.prompts import is_cjk

# A sentence ends at . ! ? … (Latin, followed by a space or the end) or at CJK 。！？ (no space needed).
_SENTENCE_END = re.compile(r"(?:(?<=[.!?…])|(?<=[.!?…][\"')\]]))\s+|(?<=[。！？])")
_CLAUSE_END = re.compile(r"(?<=[,;:，；：、])\s*")


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`, stripped, empty ones dropped."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def _cut(piece: str, max_chars: int) -> list[str]:
    """A too-long sentence cut at clause marks, then at spaces, then hard (text without spaces)."""
    if len(piece) <= max_chars:
        return [piece]
    for pattern in (_CLAUSE_END, re.compile(r"\s+")):
        parts = [p.strip() for p in pattern.split(piece) if p.strip()]
        if len(parts) > 1:
            return [c for chunk in _pack(parts, max_chars) for c in _cut(chunk, max_chars)]
    return [piece[i:i + max_chars] for i in range(0, len(piece), max_chars)]


def _pack(parts: list[str], max_chars: int) -> list[str]:
    """Greedily join consecutive parts (a space between, none next to CJK) while they fit in max_chars."""
    chunks: list[str] = []
    for part in parts:
        glue = "" if chunks and (is_cjk(chunks[-1][-1]) or is_cjk(part[0])) else " "
        if chunks and len(chunks[-1]) + len(glue) + len(part) <= max_chars:
            chunks[-1] = chunks[-1] + glue + part
        else:
            chunks.append(part)
    return chunks


def split_text(text: str, max_chars: int = 300) -> list[str]:
    """Chunks of at most `max_chars` characters, sentence boundaries preferred; UserError for empty text.

    Args:
        text: the text to speak.
        max_chars: longest chunk; 0 keeps the text whole.
    """
    if not text or not text.strip():
        raise UserError("empty text: nothing to synthesise")
    if max_chars < 0:
        raise UserError(f"max_chars must be >= 0, got {max_chars}")
    text = " ".join(text.split())
    if max_chars == 0:
        return [text]
    pieces = [c for s in split_sentences(text) for c in _cut(s, max_chars)]
    return _pack(pieces, max_chars)
