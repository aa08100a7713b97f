"""Test factories for BiCodec: tiny configs (log-mel or random wav2vec2 SSL), an official-keys small config, audio."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tts_codec.config import load_config

CONF_DIR = Path(__file__).resolve().parents[2] / "conf" / "codec"

# A random wav2vec2 small enough for CPU tests; the conv stack keeps the real 400-sample / 320-hop framing.
TINY_WAV2VEC2 = dict(
    hidden_size=32, num_hidden_layers=3, num_attention_heads=2, intermediate_size=64,
    conv_dim=[16] * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4,
    do_stable_layer_norm=True, feat_extract_norm="layer", conv_bias=True,
)


def official_config() -> dict[str, Any]:
    """The full-size config (conf/codec/bicodec_official.yaml)."""
    return load_config(CONF_DIR / "bicodec_official.yaml")


def tiny_config(ssl: str = "logmel", stable_layer_norm: bool = True) -> dict[str, Any]:
    """conf/codec/bicodec_tiny.yaml; ssl="wav2vec2" swaps in a random 3-layer wav2vec2 (hidden 32, layers 1..3),
    "whisper_encoder" the bundled Whisper tiny.en encoder (384 channels)."""
    cfg = load_config(CONF_DIR / "bicodec_tiny.yaml")
    if ssl == "whisper_encoder":
        cfg["ssl_conf"] = {"type": "whisper_encoder"}
        set_ssl_dim(cfg, 384)
    if ssl == "wav2vec2":
        init = dict(TINY_WAV2VEC2, do_stable_layer_norm=stable_layer_norm,
                    feat_extract_norm="layer" if stable_layer_norm else "group")
        cfg["ssl_conf"] = {"type": "wav2vec2", "model_dir": None, "random_init": init, "layers": [1, 2, 3],
                           "seed": 0}
        set_ssl_dim(cfg, TINY_WAV2VEC2["hidden_size"])
    return cfg


def set_ssl_dim(cfg: dict[str, Any], dim: int) -> None:
    """Make the encoder input and postnet output match SSL features of width `dim`."""
    cfg["codec_conf"]["encoder"]["input_channels"] = dim
    cfg["codec_conf"]["postnet"]["out_channels"] = dim


def small_official_config() -> dict[str, Any]:
    """A small config that uses only official keys (exportable to the official layout; ECAPA stays c512)."""
    cfg = copy.deepcopy(tiny_config())
    conf = cfg["codec_conf"]
    for key in ("ecapa_channels", "ecapa_latent_dim", "perceiver_heads", "perceiver_dim_head"):
        conf["speaker_encoder"].pop(key)
    conf["quantizer"]["codebook_size"] = 512
    return cfg


def tone(seconds: float, sample_rate: int = 16000, freq: float = 220.0, amplitude: float = 0.3,
         seed: int = 0) -> np.ndarray:
    """A harmonic tone with a little noise, float32 (N,)."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    rng = np.random.default_rng(seed)
    wav = amplitude * (np.sin(2 * np.pi * freq * t) + 0.3 * np.sin(2 * np.pi * 3 * freq * t))
    return (wav + 0.01 * rng.standard_normal(t.shape)).astype(np.float32)


def seeded(fn, seed: int = 0):
    """Call `fn()` under a fixed torch seed without disturbing the global RNG."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return fn()
