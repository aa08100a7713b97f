"""Speaker embeddings for MARS6 conditioning (stage 3 `xvector.scp`, and reference clips at inference).

The extractor is configurable (`speaker_embedding: {extractor, model_dir}` in the LM config): `resemblyzer`
(256-d GE2E d-vectors; its weights ship in the pip wheel, so it works offline: the default) or `wavlm` (a local
copy of microsoft/wavlm-base-plus-sv through transformers' WavLMForXVector: 512-d, the official MARS6 choice).
Both embed 16 kHz audio and return L2-normalised float32 vectors; the eval suite's speaker models do the work.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tts_codec.data.dsp import prepare_audio
from tts_codec.errors import UserError
from tts_codec.eval.speaker import SPK_SR, ResemblyzerEncoder, SpeakerEncoder, WavLMEncoder

EXTRACTORS = ("resemblyzer", "wavlm")
DIMS = {"resemblyzer": 256, "wavlm": 512}


class SpeakerEmbedder:
    """One extractor; `embed(audio, sample_rate)` -> (D,) float32 unit vector."""

    def __init__(self, extractor: str = "resemblyzer", model_dir: str | None = None, device: str = "cpu"):
        if extractor not in EXTRACTORS:
            raise UserError(f"speaker_embedding extractor {extractor!r}: expected one of {list(EXTRACTORS)}")
        if extractor == "wavlm" and not model_dir:
            raise UserError("speaker_embedding extractor wavlm needs model_dir (a local wavlm-base-plus-sv copy)")
        self.name, self.dim = extractor, DIMS[extractor]
        self.encoder: SpeakerEncoder = WavLMEncoder(model_dir, device) if extractor == "wavlm" else \
            ResemblyzerEncoder(device, untrimmed_fallback=True)

    @classmethod
    def from_config(cls, conf: dict[str, Any], model_dir: str | None = None, device: str = "cpu") -> "SpeakerEmbedder":
        """From a `speaker_embedding:` section; `model_dir` (a CLI flag) overrides the section's and implies wavlm."""
        extractor = "wavlm" if model_dir else str(conf.get("extractor", "resemblyzer"))
        return cls(extractor, model_dir or conf.get("model_dir"), device)

    def embed(self, audio: np.ndarray, sample_rate: int, what: str = "audio") -> np.ndarray:
        wav = prepare_audio(audio, sample_rate, SPK_SR, volume_normalize=False, what=what)
        return np.asarray(self.encoder.embed(wav), dtype=np.float32)

    def version(self) -> str:
        return self.encoder.version()
