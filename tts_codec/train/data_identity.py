"""Which tokens a training run learns from, kept beside its checkpoints so that a resume cannot silently continue
on the tokens of another codec (a new codec under an old experiment name re-runs stage 6, not the LM's stage 8).

`<output_dir>/data_identity.json` holds the training codes dir's `codes_info.json` record; a resume on tokens that
are not `CodesInfo.same_codes` is refused.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tts_codec.atomic import atomic_write
from tts_codec.data.token_file import CodesInfo, read_info
from tts_codec.errors import UserError

IDENTITY_FILE = "data_identity.json"


def codes_identity(codes_dir: str | Path, train_data: str | Path) -> CodesInfo:
    """The record of the training tokens `<codes_dir>/<train data dir name>/` (UserError if not tokenized)."""
    return read_info(Path(codes_dir) / Path(train_data).name)


def check_identity(output_dir: str | Path, identity: CodesInfo | None) -> None:
    """Before a resume: refuse tokens of another model than the recorded ones, naming the first differing field and
    both values. Runs without tokens (codec training) and old runs without the file are not checked."""
    path = Path(output_dir) / IDENTITY_FILE
    if identity is None or not path.is_file():
        return
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: not valid JSON ({err}); remove it to resume without the check") from None
    if not isinstance(data, dict) or not isinstance(data.get("codes"), dict):
        raise UserError(f"{path}: expected {{\"codes\": <codes_info.json record>}}; remove it to resume without the "
                        "check")
    recorded = CodesInfo.from_dict(data["codes"], str(path))
    differences = recorded.differences(identity)
    if differences:
        key = differences[0]
        raise UserError(
            f"{output_dir}: its checkpoints were trained on other tokens (codes.{key} {getattr(recorded, key)!r}, now "
            f"{getattr(identity, key)!r}); pass --overwrite true to start again, or train into a new output dir "
            "(recipes: --lm_tag)")


def record_identity(output_dir: str | Path, identity: CodesInfo | None) -> None:
    """Write `<output_dir>/data_identity.json` atomically (nothing when there is no identity)."""
    if identity is None:
        return
    with atomic_write(Path(output_dir) / IDENTITY_FILE) as handle:
        json.dump({"codes": identity.to_dict()}, handle, indent=2)
        handle.write("\n")
