"""The codec interface: audio <-> named token streams. Every stage (tokenize, decode, token files) sees only this.

A codec family is one subclass plus one line in `tts_codec.codecs.CODECS`. Streams are described by
`token_streams` (what `codes_info.json` records): BiCodec has `semantic` (T,) at 50 Hz and `global` (1, 32); a
multi-rate codec such as SNAC would list one (T_k,) stream per level with `StreamInfo.stride` = frames of the finest
stream per frame of that level.
"""
from __future__ import annotations

import abc
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from tts_codec.data.token_file import CodesInfo, StreamInfo, config_hash


class Codec(nn.Module, abc.ABC):
    """Abstract codec. Subclasses set `name` (the `codec:` key), and in `__init__` `config` (the full config they
    were built from), `sample_rate` (Hz of the audio they read and write) and `hop_length` (samples per frame of
    the finest time-varying stream)."""

    name: ClassVar[str]
    config: dict[str, Any]
    sample_rate: int
    hop_length: int

    # ------------------------------------------------------------------ description
    @property
    def frame_rate(self) -> float:
        """Frames per second of the finest time-varying stream."""
        return self.sample_rate / self.hop_length

    @property
    @abc.abstractmethod
    def token_streams(self) -> dict[str, StreamInfo]:
        """Stream name -> per-utterance shape (-1 = frames), vocabulary size; the order is the file order."""

    @property
    def min_samples(self) -> int:
        """The shortest prepared input (samples at `sample_rate`) that `encode` accepts."""
        return self.hop_length

    def num_frames(self, num_samples: int) -> int:
        """Frames of the finest time-varying stream for `num_samples` prepared samples (trims padded batches)."""
        return num_samples // self.hop_length

    def codes_info(self, model_dir: str | os.PathLike | None = None) -> CodesInfo:
        """The `codes_info.json` record of this model's tokens."""
        return CodesInfo(codec=self.name, sample_rate=int(self.sample_rate), hop_length=int(self.hop_length),
                         streams=dict(self.token_streams), config_hash=config_hash(self.config),
                         model_dir=None if model_dir is None else os.fspath(model_dir),
                         weights_hash=self.weights_hash())

    def weights_hash(self) -> str:
        """Short sha256 over every tensor of the state dict (names, dtypes, shapes, bytes), computed once and kept.

        It tells apart two models of one config (tokens decode only with the weights that made them), so it is
        taken as loaded: `prepare_for_inference` asks for it before folding weight norm changes the tensors.
        """
        cached = self.__dict__.get("_weights_hash")
        if cached is None:
            digest = hashlib.sha256()
            for name, tensor in sorted(self.state_dict().items()):
                data = tensor.detach().cpu().contiguous()
                digest.update(f"{name}|{data.dtype}|{tuple(data.shape)}|".encode())
                digest.update(data.reshape(-1).view(torch.uint8).numpy().tobytes())
            cached = self.__dict__["_weights_hash"] = digest.hexdigest()[:16]
        return cached

    # ------------------------------------------------------------------ audio <-> tokens
    @abc.abstractmethod
    def prepare(self, audio: np.ndarray, sample_rate: int, what: str = "audio") -> np.ndarray:
        """The codec's front end: raw audio -> what `encode` expects.

        Args:
            audio: (N,) mono or (N, C) samples, float or integer PCM, at `sample_rate`.
            what: names the input in error messages (a file or utterance id).

        Returns:
            (N',) float32 at `self.sample_rate`. Bad input (empty, NaN, wrong shape) raises UserError.
        """

    @abc.abstractmethod
    def encode(self, wav: torch.Tensor, lengths: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Tokens of prepared audio.

        Args:
            wav: (B, N) or (N,) float audio from `prepare` (zero-padded rows in a batch).
            lengths: (B,) true lengths of the rows, so per-utterance parts never see padding; None = N each.

        Returns:
            {stream: (B, *shape) int64} in `token_streams` order; frame axes cover the padded length.
        """

    @abc.abstractmethod
    def decode(self, codes: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Waveform from tokens: {stream: (B, *shape) ints} -> (B, 1, hop_length * T) float in [-1, 1]."""

    # ------------------------------------------------------------------ construction and files
    @classmethod
    @abc.abstractmethod
    def from_config(cls, cfg: dict[str, Any]) -> "Codec":
        """A randomly initialised codec from a full config (`codec: <name>` + `codec_conf`)."""

    @classmethod
    @abc.abstractmethod
    def from_pretrained(cls, model_dir: str | os.PathLike) -> "Codec":
        """Load a model directory written by `save_pretrained` (or the family's official layout)."""

    @abc.abstractmethod
    def save_pretrained(self, model_dir: str | os.PathLike) -> None:
        """Write config.yaml and the weights into `model_dir`, each atomically."""

    @classmethod
    def claims_dir(cls, model_dir: Path) -> bool:
        """True for a foreign (e.g. official) directory this family loads although its config names no codec."""
        return False

    def remove_weight_norm(self) -> int:
        """Fold weight norm into plain weights for inference; returns how many modules changed."""
        return 0
