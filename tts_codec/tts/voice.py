"""A saved voice: the codec's global (speaker) tokens plus the attributes it was made from, in a small JSON file,
so a voice cloned from a reference or created from attributes can speak any later text (Spark prompt A)."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tts_codec.atomic import atomic_write
from tts_codec.errors import UserError

FORMAT = "tts_codec.voice"
VERSION = 1
ATTRIBUTE_KEYS = ("gender", "pitch", "speed", "pitch_value", "speed_value")


@dataclass
class Voice:
    """Global tokens (num_tokens,) int64 and what is known about them.

    Attributes:
        global_codes: the speaker tokens, e.g. BiCodec's 32 FSQ codes.
        attributes: subset of gender, pitch, speed (levels) and pitch_value, speed_value (fine values).
        source: where the voice came from (a reference wav, "create", ...).
        codec: the codec family and config hash the tokens belong to ({"name", "config_hash"}).
    """

    global_codes: np.ndarray
    attributes: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    codec: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.global_codes = np.asarray(self.global_codes, dtype=np.int64).reshape(-1)
        unknown = sorted(set(self.attributes) - set(ATTRIBUTE_KEYS))
        if unknown:
            raise UserError(f"voice attributes: unknown key(s) {unknown}; known: {list(ATTRIBUTE_KEYS)}")

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, "global_codes": self.global_codes.tolist(),
                "attributes": self.attributes, "source": self.source, "codec": self.codec}

    def save(self, path: str | os.PathLike) -> Path:
        """Write the voice file atomically; returns its path."""
        with atomic_write(path, "w") as handle:
            json.dump(self.to_json(), handle, indent=1, sort_keys=True)
            handle.write("\n")
        return Path(path)


def load_voice(path: str | os.PathLike) -> Voice:
    """Read a voice file written by `Voice.save`; UserError naming the file for anything else."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"voice file {path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UserError(f"voice file {path}: not a voice file ({type(err).__name__}: {err})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UserError(f"voice file {path}: not a {FORMAT} file (no \"format\": \"{FORMAT}\")")
    if data.get("version") != VERSION:
        raise UserError(f"voice file {path}: version {data.get('version')!r}, this toolkit reads {VERSION}")
    codes = data.get("global_codes")
    if not isinstance(codes, list) or not codes or not all(isinstance(c, int) and c >= 0 for c in codes):
        raise UserError(f"voice file {path}: global_codes must be a non-empty list of non-negative integers")
    attributes, codec = data.get("attributes") or {}, data.get("codec") or {}
    if not isinstance(attributes, dict) or not isinstance(codec, dict):
        raise UserError(f"voice file {path}: attributes and codec must be JSON objects")
    try:
        return Voice(np.array(codes), attributes, str(data.get("source", "")), codec)
    except UserError as err:
        raise UserError(f"voice file {path}: {err}") from None
