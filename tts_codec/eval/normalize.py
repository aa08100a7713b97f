"""Text normalisers applied to both reference and ASR hypothesis before WER (evaluation.md §4, §9.1).

- "simple": lowercase, drop apostrophes, map anything outside [a-z0-9 ] to a space, squeeze spaces. This matches
  the Seed-TTS-eval English rule closely (its punctuation stripping keeps `'`; we drop it so "it's"/"its" agree).
- "whisper_en": whisper-normalizer's EnglishTextNormalizer (numbers to digits, British to American spelling,
  contractions expanded); it moves WER by about one point. Both are logged so the choice is auditable.
"""
from __future__ import annotations

import functools
import re
from typing import Callable

from tts_codec.errors import UserError

_NON_ALNUM = re.compile(r"[^a-z0-9 ]+")
_SPACES = re.compile(r"\s+")


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
    "simple": simple_normalize,
    "whisper_en": whisper_en_normalize,
}


def get_normalizer(name: str) -> Callable[[str], str]:
    """Look a normaliser up by name; UserError listing the known names otherwise."""
    try:
        return NORMALIZERS[name]
    except KeyError:
        raise UserError(f"unknown text normaliser {name!r}; choose one of {sorted(NORMALIZERS)}") from None
