"""The LM's text front end: what a transcript becomes before the BPE sees it (ESPnet's `--g2p`).

`none` keeps the text (the official Spark-TTS and MARS6 way: BPE over characters). `espeak_ipa` turns it into eSpeak
NG's IPA phonemes (words separated by spaces, stress marks kept, punctuation dropped), so a small LM trained on a
few hundred sentences meets every sound many times instead of learning English spelling from them. The choice is
saved in the tokenizer directory (`text_frontend.json`), so training, decoding and a packed model dir apply the
same one; a directory without the file (an official `LLM/` dir) means `none`.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tts_codec.atomic import atomic_write
from tts_codec.errors import UserError

FRONTEND_FILE = "text_frontend.json"
G2P_CHOICES = ("none", "espeak_ipa")


@dataclass(frozen=True)
class TextFrontend:
    """A transcript -> LM text mapping, `g2p` one of G2P_CHOICES; `language` is the eSpeak voice of `espeak_ipa`."""

    g2p: str = "none"
    language: str = "en-us"
    _cache: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.g2p not in G2P_CHOICES:
            raise UserError(f"--g2p must be one of {', '.join(G2P_CHOICES)}, got {self.g2p!r}")

    def __call__(self, text: str) -> str:
        """The text the BPE tokenizes; phonemes are cached per text (a training epoch sees each one many times)."""
        if self.g2p == "none":
            return text
        out = self._cache.get(text)
        if out is None:
            out = self._cache[text] = _engine().phonemize(text, self.language)
        return out

    def to_dict(self) -> dict[str, Any]:
        """The JSON form saved beside the tokenizer."""
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}


def _engine() -> Any:
    from tts_codec.data.synth.espeak import EngineUnavailable, get_engine

    try:
        return get_engine()
    except EngineUnavailable as err:
        raise UserError(f"the tokenizer's text front end (g2p espeak_ipa) needs eSpeak NG: {err}") from None


def save_text_frontend(frontend: TextFrontend, tokenizer_dir: str | Path) -> None:
    """Write `text_frontend.json` into `tokenizer_dir` (only for a front end other than `none`)."""
    if frontend.g2p == "none":
        return
    with atomic_write(Path(tokenizer_dir) / FRONTEND_FILE) as handle:
        json.dump(frontend.to_dict(), handle, indent=2)
        handle.write("\n")


def load_text_frontend(tokenizer_dir: str | Path) -> TextFrontend:
    """The front end saved in `tokenizer_dir`; `none` when it has no `text_frontend.json`."""
    path = Path(tokenizer_dir) / FRONTEND_FILE
    if not path.is_file():
        return TextFrontend()
    try:
        fields = json.loads(path.read_text(encoding="utf-8"))
        return TextFrontend(g2p=str(fields["g2p"]), language=str(fields.get("language", "en-us")))
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as err:
        raise UserError(f"{path}: not a text front end file ({type(err).__name__}: {err})") from None
