"""Codec registry: `codec:` in a config names an entry of `CODECS`, built by `build_codec(cfg)`."""
from __future__ import annotations

from typing import Any

from torch import nn

from tts_codec.codecs.bicodec import BiCodec
from tts_codec.config import require
from tts_codec.errors import UserError

CODECS: dict[str, type[nn.Module]] = {"bicodec": BiCodec}


def build_codec(cfg: dict[str, Any]) -> nn.Module:
    """Build the codec named by `cfg["codec"]` from the full config (randomly initialised)."""
    name = require(cfg, "codec")
    if name not in CODECS:
        raise UserError(f"config: codec {name!r} is unknown; choose one of {sorted(CODECS)}")
    return CODECS[name].from_config(cfg)
