"""Built-in public-domain English sentences (the 720 Harvard sentences, IEEE 1969) for synthetic corpora."""
from __future__ import annotations

import functools
from importlib import resources

from tts_codec.errors import UserError

SENTENCE_LISTS = ("harvard",)


@functools.lru_cache(maxsize=None)
def load_sentences(name: str = "harvard") -> tuple[str, ...]:
    """The sentences of `tts_codec/resources/sentences/<name>.txt` in file order ('#' comments skipped).

    Raises:
        UserError: for an unknown list name.
    """
    if name not in SENTENCE_LISTS:
        raise UserError(f"unknown sentence list {name!r}; choose from {', '.join(SENTENCE_LISTS)}")
    path = resources.files("tts_codec") / "resources" / "sentences" / f"{name}.txt"
    text = path.read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))
