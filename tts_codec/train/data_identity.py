"""Which tokens a training run learns from, kept beside its checkpoints so that a resume cannot silently continue
on the tokens of another codec (a new codec under an old experiment name re-runs stage 6, not the LM's stage 8).

`<output_dir>/data_identity.json` holds the identity of the training codes dir (codec, config hash, weights hash
from its `codes_info.json`); a resume with a different identity is refused.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tts_codec.atomic import atomic_write
from tts_codec.data.token_file import read_info
from tts_codec.errors import UserError

IDENTITY_FILE = "data_identity.json"
#: the codes_info.json fields that say which model made the tokens
CODES_KEYS = ("codec", "config_hash", "weights_hash")


def codes_identity(codes_dir: str | Path, train_data: str | Path) -> dict[str, Any]:
    """The identity of the training tokens `<codes_dir>/<train data dir name>/` (UserError if not tokenized)."""
    info = read_info(Path(codes_dir) / Path(train_data).name)
    return {"codes": {key: getattr(info, key) for key in CODES_KEYS}}


def check_identity(output_dir: str | Path, identity: dict[str, Any] | None) -> None:
    """Before a resume: refuse when `identity` differs from the recorded one, naming the field and both values.
    Runs without one (codec training) and old runs without the file are not checked."""
    path = Path(output_dir) / IDENTITY_FILE
    if identity is None or not path.is_file():
        return
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: not valid JSON ({err}); remove it to resume without the check") from None
    for section, fields in identity.items():
        for key, value in fields.items():
            before = (old.get(section) or {}).get(key) if isinstance(old, dict) else None
            if before != value:
                raise UserError(
                    f"{output_dir}: its checkpoints were trained on other tokens ({section}.{key} {before!r}, now "
                    f"{value!r}); pass --overwrite true to start again, or train into a new output dir (recipes: "
                    "--lm_tag)")


def record_identity(output_dir: str | Path, identity: dict[str, Any] | None) -> None:
    """Write `<output_dir>/data_identity.json` atomically (nothing when there is no identity)."""
    if identity is None:
        return
    with atomic_write(Path(output_dir) / IDENTITY_FILE) as handle:
        json.dump(identity, handle, indent=2)
        handle.write("\n")
