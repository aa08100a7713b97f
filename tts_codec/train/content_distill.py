"""Semantic distillation for codec training (`content_distill:`, ours): the quantized latent must predict a frozen
recognition encoder's features, so the tokens carry the words and not only the sound.

Why: a tiny SNAC trained from scratch on the mel loss reconstructs the voice (SIM 0.74) while Whisper cannot read it
(WER about 1.0 against 0.41 for the ground truth; egs/mini/tts1/RESULTS.md). SpeechTokenizer and Mimi add the same
kind of term (HuBERT / WavLM teachers, cosine similarity after a linear projection); the teacher here is the Whisper
tiny.en encoder the evaluation suite ships, the one offline content model on these machines. Inference never runs
the teacher: the projection is a training-only module and is not exported with the codec.

Loss per frame: 1 - cos(W z_q(t), norm(teacher(t'))), t' the teacher frame (50 Hz) at the centre time of student frame
t, linearly interpolated; averaged over frames and batch. Its weight is `loss_weights.content`. `norm` standardises
each teacher channel (batch statistics in training, running ones in validation; a BatchNorm without affine): on raw
Whisper features of 0.85 s segments the mean vector alone already scores 1 - cos = 0.37, so the raw loss mostly
rewarded predicting it (measured on 24 dev utterances: the first run's loss sat at 0.33-0.38 for 250 batches).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import soxr
import torch
import torch.nn.functional as F
from torch import nn

from tts_codec.errors import UserError

TEACHER_RATE, TEACHER_FRAME_RATE = 16000, 50.0
KEYS = {"teacher", "model_dir", "compute_type", "levels"}
TEACHERS = ("whisper_encoder",)

#: (B, N) 16 kHz audio -> (B, F, D) features at 50 Hz
Teacher = Callable[[torch.Tensor], torch.Tensor]


class ContentDistillation(nn.Module):
    """Cosine distillation of a frozen teacher's 50 Hz features into a codec latent (B, C, T) at `frame_rate`.

    Args:
        latent_dim: C, the student's channels.
        teacher: the frozen feature extractor; `teacher.dim` is its feature width D.
        sample_rate: the codec's audio rate (the teacher reads 16 kHz; audio is resampled with soxr).
        frame_rate: the student's frames per second.
        levels: how many quantizer levels (coarsest first) make the student; read by the codec task.
    """

    def __init__(self, latent_dim: int, teacher: Teacher, sample_rate: int, frame_rate: float, levels: int):
        super().__init__()
        self.teacher, self.sample_rate, self.frame_rate, self.levels = teacher, sample_rate, frame_rate, levels
        self.proj = nn.Conv1d(latent_dim, int(teacher.dim), 1)
        self.norm = nn.BatchNorm1d(int(teacher.dim), affine=False, momentum=0.01)

    @classmethod
    def from_config(cls, conf: Mapping[str, Any], latent_dim: int, sample_rate: int, frame_rate: float,
                    num_levels: int, teacher: Teacher | None = None) -> "ContentDistillation":
        """Build from the `content_distill:` section (keys teacher, model_dir, compute_type, levels).

        Raises:
            UserError: naming the key for an unknown key, teacher or level count.
        """
        if not isinstance(conf, Mapping):
            raise UserError(f"config content_distill must be a mapping, not {conf!r}")
        unknown = sorted(set(conf) - KEYS)
        if unknown:
            raise UserError(f"config content_distill.{unknown[0]} is not a key; known: {sorted(KEYS)}")
        kind = conf.get("teacher", "whisper_encoder")
        if kind not in TEACHERS:
            raise UserError(f"config content_distill.teacher must be one of {list(TEACHERS)}, not {kind!r}")
        levels = conf.get("levels", num_levels)
        if isinstance(levels, bool) or not isinstance(levels, int) or not 1 <= levels <= num_levels:
            raise UserError(f"config content_distill.levels must be an integer in [1, {num_levels}] (the "
                            f"quantizer levels summed, coarsest first), not {levels!r}")
        model_dir = conf.get("model_dir")
        if model_dir is not None and not (Path(str(model_dir)) / "model.bin").is_file():
            raise UserError(f"config content_distill.model_dir {model_dir} has no model.bin (a CTranslate2 Whisper "
                            "directory is needed; nothing is downloaded)")
        if teacher is None:
            from tts_codec.codecs.bicodec.whisper_features import WhisperEncoderFeatures

            teacher = WhisperEncoderFeatures(model_dir, str(conf.get("compute_type", "int8")))
        return cls(latent_dim, teacher, sample_rate, frame_rate, levels)

    @torch.no_grad()
    def targets(self, wav: torch.Tensor, num_frames: int) -> torch.Tensor:
        """(B, N) audio at the codec's rate -> (B, D, num_frames) teacher features at the student's frame times."""
        audio = wav.detach().float().cpu().numpy()
        if self.sample_rate != TEACHER_RATE:
            audio = np.stack([soxr.resample(row, self.sample_rate, TEACHER_RATE, quality="HQ") for row in audio])
        feats = self.teacher(torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))).float()  # (B, F, D)
        centres = (torch.arange(num_frames, dtype=torch.float64) + 0.5) / self.frame_rate
        position = (centres * TEACHER_FRAME_RATE - 0.5).clamp(0, feats.shape[1] - 1)
        lo = position.floor().long()
        hi = (lo + 1).clamp(max=feats.shape[1] - 1)
        weight = (position - lo).float()[None, :, None]
        aligned = feats[:, lo] * (1 - weight) + feats[:, hi] * weight
        return aligned.transpose(1, 2).to(wav.device)

    def forward(self, latent: torch.Tensor, wav: torch.Tensor) -> torch.Tensor:
        """Mean over batch and frames of 1 - cos(proj(latent), standardised teacher features of `wav`).

        Args:
            latent: (B, C, T) student latent.  wav: (B, N) or (B, 1, N) the audio it encodes.
        """
        target = self.targets(wav.reshape(wav.shape[0], -1), latent.shape[-1])
        return (1 - F.cosine_similarity(self.proj(latent), self.norm(target), dim=1)).mean()
