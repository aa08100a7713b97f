"""Codec registry: `codec:` in a config names an entry of `CODECS`; every codec implements `base.Codec`.

Adding a codec family = one module with a `Codec` subclass + one line here.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from tts_codec.codecs.base import Codec
from tts_codec.codecs.bicodec import BiCodec
from tts_codec.codecs.snac import SNACCodec
from tts_codec.config import load_config, require
from tts_codec.errors import UserError

CODECS: dict[str, type[Codec]] = {"bicodec": BiCodec, "snac": SNACCodec}


def codec_class(name: Any, where: str = "config") -> type[Codec]:
    """The class registered as `name`; UserError naming `where` and the known codecs otherwise."""
    if name not in CODECS:
        raise UserError(f"{where}: codec {name!r} is unknown; choose one of {sorted(CODECS)}")
    return CODECS[name]


def build_codec(cfg: dict[str, Any]) -> Codec:
    """Build the codec named by `cfg["codec"]` from the full config (randomly initialised)."""
    return codec_class(require(cfg, "codec")).from_config(cfg)


def codec_class_for_dir(model_dir: Path) -> type[Codec]:
    """The class of a model directory: `codec:` of its config.yaml, else the one family that claims the directory
    (an official checkpoint layout)."""
    cfg_path = model_dir / "config.yaml"
    name = load_config(cfg_path).get("codec") if cfg_path.is_file() else None
    if name is not None:
        return codec_class(name, str(cfg_path))
    claimed = [cls for cls in CODECS.values() if cls.claims_dir(model_dir)]
    if len(claimed) != 1:
        raise UserError(f"{model_dir}: no 'codec:' in {cfg_path.name} and not an official layout of a known codec "
                        f"({sorted(CODECS)})")
    return claimed[0]
