"""Test factories for SNAC: the tiny codec config, and an official-layout directory (config.json +
pytorch_model.bin) written with the `snac` package's own class and random weights."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from tts_codec.config import load_config

TINY_CODEC_CONFIG = Path(__file__).resolve().parents[2] / "conf" / "codec" / "snac_tiny.yaml"


def tiny_config() -> dict[str, Any]:
    """The tiny SNAC codec config (conf/codec/snac_tiny.yaml), resolved."""
    return load_config(TINY_CODEC_CONFIG)


def write_official_dir(model_dir: str | os.PathLike, cfg: dict[str, Any] | None = None, seed: int = 0):
    """Build the package's `SNAC` from `cfg` (default: tiny) with seeded random weights (weight-norm gains
    randomised too) and save it as `SNAC.from_pretrained(local_dir)` reads it; returns the package model (eval)."""
    from snac import SNAC

    cfg = cfg or tiny_config()
    kwargs = {"sampling_rate": cfg["sample_rate"], **cfg["codec_conf"]}
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = SNAC(**kwargs)
        with torch.no_grad():  # alpha and the gains start at constants: make every tensor matter
            for name, param in model.named_parameters():
                if name.endswith(("alpha", "original0")):
                    param.mul_(0.5 + torch.rand_like(param))
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / "config.json").write_text(json.dumps(kwargs, indent=2) + "\n", encoding="utf-8")
    torch.save(model.state_dict(), model_dir / "pytorch_model.bin")
    return model.eval()
