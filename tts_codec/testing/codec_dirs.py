"""Test factories for codecs and their CLIs: a tiny config per registered codec, a saved tiny BiCodec, and a data
dir holding one too-short utterance."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from tts_codec.codecs import build_codec
from tts_codec.config import load_config
from tts_codec.data.audio import write_wav
from tts_codec.data.datadir import DataDir
from tts_codec.testing.bicodec import tiny_config
from tts_codec.testing.datadirs import make_data_dir
from tts_codec.testing.snac import tiny_config as snac_tiny_config

TINY_CONFIG = Path(__file__).resolve().parents[2] / "conf" / "codec" / "bicodec_tiny.yaml"
SHORT_UTT = "spk2-utt2"
#: codec name -> a config small enough for CPU tests (the contract test runs every registered codec through it).
TINY_CODEC_CONFIGS: dict[str, Callable[[], dict[str, Any]]] = {"bicodec": tiny_config, "snac": snac_tiny_config}


def save_tiny_model(model_dir: str | os.PathLike, seed: int = 0, **quantizer_overrides) -> Path:
    """Build the tiny BiCodec with a fixed seed (optionally changing codec_conf.quantizer keys) and save it."""
    cfg = load_config(TINY_CONFIG)
    cfg["codec_conf"]["quantizer"].update(quantizer_overrides)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        build_codec(cfg).save_pretrained(Path(model_dir))
    return Path(model_dir)


def make_codec_data_dir(root: str | os.PathLike, name: str = "test", duration: float = 0.5) -> Path:
    """2 speakers x 2 utterances of `duration` s; SHORT_UTT is cut to 100 samples (below the 400-sample frame)."""
    data = make_data_dir(root, name, num_speakers=2, utts_per_speaker=2, duration=duration)
    write_wav(DataDir.load(data).wav_scp[SHORT_UTT], np.zeros(100, dtype=np.float32), 16000)
    return data
