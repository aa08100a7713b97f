"""Text normalisers applied to both reference and ASR hypothesis before WER (evaluation.md §4, §9.1).

- "seed-tts": the official Seed-TTS-eval rule (run_wer.py `process_one`): delete every character of
  `zhon.hanzi.punctuation + string.punctuation` except the ASCII apostrophe, replace double spaces by one (a single
  `str.replace` pass), then lowercase (English only). So "well-known" -> "wellknown", "$3.50" -> "350",
  "U.S." -> "us", "café" stays, and the typographic apostrophe ’ is deleted while ' is kept. The default of the
  `seed` protocol; for Chinese the same deletion without lowercasing, then one token per character (`zh_chars`).
- "simple": the toolkit's own rule: lowercase, drop apostrophes, map anything outside [a-z0-9 ] to a space, squeeze
  spaces ("well-known" -> "well known", "$3.50" -> "3 50", "café" -> "caf"). Kept as a named alternative.
- "whisper_en": whisper-normalizer's EnglishTextNormalizer (numbers to digits, British to American spelling,
  contractions expanded); it moves WER by about one point. Both are logged so the choice is auditable.
"""
from __future__ import annotations

import functools
import re
import string
from typing import Callable

from tts_codec.errors import UserError

_NON_ALNUM = re.compile(r"[^a-z0-9 ]+")
_SPACES = re.compile(r"\s+")


@functools.lru_cache(maxsize=1)
def _seed_deletions() -> dict[int, None]:
    """str.translate table deleting the official punctuation set (zhon's CJK set + ASCII) except `'`."""
    from zhon.hanzi import punctuation as cjk_punctuation

    return {ord(ch): None for ch in cjk_punctuation + string.punctuation if ch != "'"}


def seed_tts_strip(text: str) -> str:
    """The language-independent part of the official rule: delete punctuation but `'`, one double-space pass."""
    return text.translate(_seed_deletions()).replace("  ", " ")


def seed_tts_normalize(text: str) -> str:
    """The official Seed-TTS-eval English rule: `seed_tts_strip`, then lowercase (order as in run_wer.py)."""
    return seed_tts_strip(text).lower()


def zh_chars(text: str) -> str:
    """The official Chinese rule: `seed_tts_strip` (no lowercasing), then every character its own token.

    Blanks vanish (jiwer squeezes the blank runs that joining them creates), so "你好 世界" -> "你 好 世 界" and
    "2024年" -> "2 0 2 4 年".
    """
    return " ".join(ch for ch in seed_tts_strip(text) if not ch.isspace())


def simple_normalize(text: str) -> str:
    """Lowercase, drop `'`, replace every non-[a-z0-9 ] character by a space, squeeze spaces."""
    text = text.lower().replace("'", "").replace("\u2019", "")
    text = _NON_ALNUM.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


@functools.lru_cache(maxsize=1)
def _english_normalizer() -> Callable[[str], str]:
    from whisper_normalizer.english import EnglishTextNormalizer

    return EnglishTextNormalizer()


def whisper_en_normalize(text: str) -> str:
    """whisper-normalizer EnglishTextNormalizer, then the simple rule (so both share one alphabet)."""
    return simple_normalize(_english_normalizer()(text))


NORMALIZERS: dict[str, Callable[[str], str]] = {
    "seed-tts": seed_tts_normalize,
    "simple": simple_normalize,
    "whisper_en": whisper_en_normalize,
}


def get_normalizer(name: str) -> Callable[[str], str]:
    """Look a normaliser up by name; UserError listing the known names otherwise."""
    try:
        return NORMALIZERS[name]
    except KeyError:
        raise UserError(f"unknown text normaliser {name!r}; choose one of {sorted(NORMALIZERS)}") from None
