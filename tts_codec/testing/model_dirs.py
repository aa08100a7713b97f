"""Test factories for packed model dirs: a tiny random wav2vec2 dir, a tiny BiCodec that reads it (our layers, or
the official hidden states 11/14/16 so that it can be exported to the official Spark-TTS layout), a packed dir."""
from __future__ import annotations

from pathlib import Path

import torch

from tts_codec.codecs import build_codec
from tts_codec.testing.bicodec import TINY_WAV2VEC2, set_ssl_dim, small_official_config, tiny_config
from tts_codec.testing.spark_lm import make_official_llm_dir


def make_wav2vec2_dir(path: str | Path, num_layers: int = 3, seed: int = 0) -> Path:
    """A random wav2vec2 (hidden 32) saved like a downloaded one: config.json + model.safetensors."""
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        Wav2Vec2Model(Wav2Vec2Config(**{**TINY_WAV2VEC2, "num_hidden_layers": num_layers})).save_pretrained(
            str(path), safe_serialization=True)
    return Path(path)


def make_wav2vec2_codec_dir(path: str | Path, ssl_dir: str | Path, official: bool = False, seed: int = 0) -> Path:
    """A tiny BiCodec whose SSL is the wav2vec2 in `ssl_dir`; `official`: official keys only and hidden states
    11, 14, 16 (`ssl_dir` needs 16 layers), so it can be packed in the official layout."""
    cfg = small_official_config() if official else tiny_config()
    cfg["ssl_conf"] = {"type": "wav2vec2", "model_dir": str(ssl_dir), "layers": [11, 14, 16] if official else [1, 2, 3]}
    set_ssl_dim(cfg, TINY_WAV2VEC2["hidden_size"])
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        build_codec(cfg).save_pretrained(Path(path))
    return Path(path)


def make_wav2vec2_tts_dirs(root: str | Path, official: bool = False) -> tuple[Path, Path, Path]:
    """(codec dir, LLM dir, wav2vec2 dir) under `root`: a Spark pair whose codec reads a local wav2vec2."""
    root = Path(root)
    ssl = make_wav2vec2_dir(root / "wav2vec2", num_layers=16 if official else 3)
    return make_wav2vec2_codec_dir(root / "codec", ssl, official), make_official_llm_dir(root / "LLM"), ssl


def make_packed_dir(root: str | Path) -> Path:
    """`root/packed`: the tiny codec + LM of `make_tts_dirs` packed in our layout."""
    from tts_codec.testing.spark_tts import make_tts_dirs
    from tts_codec.tts.packing import pack_spark

    codec, lm = make_tts_dirs(Path(root) / "src")
    pack_spark(codec, lm, Path(root) / "packed")
    return Path(root) / "packed"
