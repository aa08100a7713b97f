"""Test factories for the mars6 family's model dirs: a tiny random SNAC codec dir and a tiny random MARS6 dir that fit
each other (3 levels x 4096 codes), optionally with a tiny random WavLM-SV speaker extractor dir; all seeded."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

#: a MARS6 small enough for CPU tests; its codebook is the (tiny) SNAC's
TINY_LM_CONF: dict[str, Any] = {"dim": 32, "heads": 4, "ffn": 64, "encoder_layers": 1, "global_layers": 1,
                                "local_layers": 1, "text_vocab": None, "codebook_size": 4096, "levels": [1, 2, 4],
                                "style_dim": 0}


def make_snac_dir(path: str | Path, seed: int = 0) -> Path:
    """The tiny SNAC (conf/codec/snac_tiny.yaml) with seeded random weights, saved in our format."""
    from tts_codec.codecs import build_codec
    from tts_codec.testing.snac import tiny_config

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        build_codec(tiny_config()).save_pretrained(Path(path))
    return Path(path)


def make_wavlm_sv_dir(path: str | Path, seed: int = 0) -> Path:
    """A random WavLMForXVector (hidden 32, 512-d x-vectors, as wavlm-base-plus-sv gives) with its feature
    extractor config, saved like a downloaded copy."""
    from transformers import Wav2Vec2FeatureExtractor, WavLMConfig, WavLMForXVector

    config = WavLMConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=37,
                         conv_dim=(32, 32), conv_stride=(5, 4), conv_kernel=(10, 4), num_conv_pos_embeddings=16,
                         num_conv_pos_embedding_groups=2, tdnn_dim=(32, 32), tdnn_kernel=(3, 1),
                         tdnn_dilation=(1, 1), xvector_output_dim=512, num_buckets=16, max_bucket_distance=32)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        WavLMForXVector(config).save_pretrained(str(path), safe_serialization=True)
    Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True,
                             return_attention_mask=True).save_pretrained(str(path))
    return Path(path)


def make_mars6_dir(path: str | Path, tokenizer_dir: str | Path, seed: int = 0,
                   speaker: dict[str, Any] | None = None) -> Path:
    """A random tiny MARS6 dir over the tokenizer in `tokenizer_dir`; `speaker` is its `speaker_embedding` section
    (default resemblyzer, 256-d; wavlm gives 512-d)."""
    from tts_codec.lm.mars6.model import Mars6
    from tts_codec.lm.mars6.model_dir import model_config, save_model_dir
    from tts_codec.lm.mars6.speaker_embedding import DIMS
    from tts_codec.lm.mars6.text import Mars6Text

    speaker = speaker or {"extractor": "resemblyzer"}
    config = {"lm": "mars6", "lm_conf": {**TINY_LM_CONF, "speaker_dim": DIMS[speaker["extractor"]]},
              "speaker_embedding": speaker}
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = Mars6(model_config(config, Mars6Text.load(tokenizer_dir)))
    save_model_dir(model, config, tokenizer_dir, path)
    return Path(path)


def make_mars6_tts_dirs(root: str | Path, wavlm: bool = False) -> tuple[Path, Path]:
    """(SNAC dir, MARS6 dir) under `root`; `wavlm`: the MARS6 conditions on a local tiny WavLM-SV (`root/wavlm`)."""
    from tts_codec.testing.mars6 import make_mars6_tokenizer

    root = Path(root)
    speaker = {"extractor": "wavlm", "model_dir": str(make_wavlm_sv_dir(root / "wavlm"))} if wavlm else None
    tokenizer = make_mars6_tokenizer(root / "tokenizer")
    return make_snac_dir(root / "codec"), make_mars6_dir(root / "lm", tokenizer, speaker=speaker)
