"""Speaker similarity: an embedding model (WavLM x-vector from a local dir, or resemblyzer offline) and SIM scorers.

SIM is the cosine of two utterance embeddings. Which pair is compared depends on the metric:
- `sim`: generated vs the ground-truth audio of the same utterance (codec resynthesis, evaluation.md §9.2);
- `sim_o`: generated vs the original prompt wav (Seed-TTS-eval SIM, §9.1);
- `sim_r`: generated vs the prompt after codec resynthesis (VALL-E style SIM-r; needs `prompt_recon`).
resemblyzer (GE2E) numbers are a proxy, not comparable with WavLM-large-SV paper tables.
"""
from __future__ import annotations

import functools
import os
from abc import ABC, abstractmethod
from importlib import metadata
from pathlib import Path

import numpy as np

from tts_codec.errors import UserError
from tts_codec.eval.scoring import EvalItem, GenFailure, Scorer, ScoreFailure, UttResult, cache_key

SPK_SR = 16000
WAVLM_MIN_SAMPLES = 400  # WavLM's conv front end needs one 25 ms window at 16 kHz


def check_wavlm_input(wav: np.ndarray) -> None:
    """ScoreFailure for audio WavLM cannot take (the official verification skips such a pair on its exception)."""
    if np.asarray(wav).size < WAVLM_MIN_SAMPLES:
        raise ScoreFailure(f"too short for WavLM: {np.asarray(wav).size} samples (needs {WAVLM_MIN_SAMPLES})")


class SpeakerEncoder(ABC):
    """Maps 16 kHz mono audio to an L2-normalised embedding."""

    @abstractmethod
    def embed(self, wav: np.ndarray) -> np.ndarray:
        """Args: wav (N,) float32 at 16 kHz. Returns: (D,) unit-norm embedding."""

    @abstractmethod
    def version(self) -> str:
        """Model identity for summary.json."""


class ResemblyzerEncoder(SpeakerEncoder):
    """GE2E d-vector from the resemblyzer wheel (256-d; 16 kHz, volume normalisation and VAD trim inside).

    Args:
        untrimmed_fallback: embed the raw audio when the VAD trim leaves no speech (the seed rules: the official
            verification embeds every readable wav, silence included) instead of failing.
    """

    def __init__(self, device: str = "cpu", untrimmed_fallback: bool = False):
        self.device = device
        self.untrimmed_fallback = untrimmed_fallback

    def embed(self, wav: np.ndarray) -> np.ndarray:
        from resemblyzer import preprocess_wav

        wav = np.array(wav, dtype=np.float32)
        with np.errstate(divide="ignore", invalid="ignore"):  # silence: resemblyzer's dBFS of zero energy
            pre = preprocess_wav(wav) if wav.size else wav
        if pre.size < SPK_SR // 10 or not np.isfinite(pre).all():
            if not self.untrimmed_fallback:
                raise ScoreFailure("no speech left after resemblyzer's VAD trim")
            pre = np.pad(wav, (0, max(0, SPK_SR // 10 - wav.size)))
        return _unit(_resemblyzer(self.device).embed_utterance(pre))

    def version(self) -> str:
        return f"resemblyzer {metadata.version('resemblyzer')} GE2E pretrained.pt (proxy for WavLM-large SV)"


class WavLMEncoder(SpeakerEncoder):
    """transformers WavLMForXVector loaded from a local directory (e.g. microsoft/wavlm-base-plus-sv)."""

    def __init__(self, model_dir: str, device: str = "cpu"):
        if not Path(model_dir).is_dir():
            raise UserError(f"--speaker_model_dir {model_dir}: no such directory")
        self.model_dir = str(model_dir)
        self.device = device

    def embed(self, wav: np.ndarray) -> np.ndarray:
        import torch

        check_wavlm_input(wav)
        extractor, model = _wavlm(self.model_dir, self.device)
        inputs = extractor(np.asarray(wav, dtype=np.float32), sampling_rate=SPK_SR, return_tensors="pt")
        with torch.inference_mode():
            emb = model(**inputs.to(self.device)).embeddings[0]  # (D,)
        return _unit(emb.cpu().numpy())

    def version(self) -> str:
        return f"transformers {metadata.version('transformers')} WavLMForXVector from {self.model_dir}"


def build_speaker_encoder(model_dir: str | None, device: str = "cpu", seed_rules: bool = False) -> SpeakerEncoder:
    """The speaker model of `model_dir` (a transformers WavLMForXVector dir, or the official Seed-TTS-eval
    `wavlm_large_finetune.pth` file), resemblyzer when None; `device` a resolved torch device."""
    if model_dir and Path(model_dir).is_file():
        from tts_codec.eval.official_sv import OfficialSvEncoder

        return OfficialSvEncoder(model_dir, device)
    return WavLMEncoder(model_dir, device) if model_dir else ResemblyzerEncoder(device, untrimmed_fallback=seed_rules)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two vectors."""
    return float(np.dot(_unit(a), _unit(b)))


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    norm = np.linalg.norm(x)
    if not norm > 0:
        raise ScoreFailure("speaker embedding has zero norm")
    return x / norm


@functools.lru_cache(maxsize=1)
def _resemblyzer(device: str = "cpu"):
    from resemblyzer import VoiceEncoder

    return VoiceEncoder(device, verbose=False)


@functools.lru_cache(maxsize=1)
def _wavlm(model_dir: str, device: str = "cpu"):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoFeatureExtractor, WavLMForXVector

    extractor = AutoFeatureExtractor.from_pretrained(model_dir, local_files_only=True)
    model = WavLMForXVector.from_pretrained(model_dir, local_files_only=True).eval().to(device)
    return extractor, model


class _SimScorer(Scorer):
    """Cosine between the generated audio and the `other` audio of the same item."""

    other: str

    def __init__(self, options=None) -> None:
        super().__init__(options)
        self.encoder = build_speaker_encoder(self.options.speaker_model_dir, self.options.device,
                                             self.options.seed_rules)
        self._cache: dict[tuple, np.ndarray] = {}  # prompts are shared by many targets (EARS pairs)

    def model_version(self) -> str:
        return self.encoder.version()

    def _embed(self, item: EvalItem, role: str) -> np.ndarray:
        spec = getattr(item, role)
        key = cache_key(spec) if spec is not None else None
        if key is None or key not in self._cache:
            emb = self.encoder.embed(item.audio(role, SPK_SR))
            if len(self._cache) > 512:
                self._cache.clear()
            self._cache[key] = emb
        return self._cache[key]

    def score_one(self, item: EvalItem) -> UttResult:
        try:  # the audio under test is checked first; no speech in it is a failure of the system
            gen = self.encoder.embed(self.gen_audio(item, SPK_SR))
        except ScoreFailure as err:
            raise GenFailure(str(err)) from None
        other = self._embed(item, self.other)
        return UttResult(values={self.name: cosine(gen, other)})


class SimScorer(_SimScorer):
    """`sim`: generated vs ground truth of the same utterance (resynthesis)."""

    name, other = "sim", "ref"
    columns = {"sim": True}


class SimOScorer(_SimScorer):
    """`sim_o`: generated vs the original prompt."""

    name, other = "sim_o", "prompt"
    columns = {"sim_o": True}
    worst = {"sim_o": 0.0}


class SimRScorer(_SimScorer):
    """`sim_r`: generated vs the codec-reconstructed prompt."""

    name, other = "sim_r", "prompt_recon"
    columns = {"sim_r": True}
    worst = {"sim_r": 0.0}
