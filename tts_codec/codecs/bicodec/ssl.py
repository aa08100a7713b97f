"""Frozen self-supervised features for the semantic path: averaged wav2vec 2.0 hidden states, or for tiny runs log-mel
or the Whisper encoder's outputs (`whisper_features.py`).

Nothing is ever downloaded: wav2vec2 comes from a local directory (`ssl_conf.model_dir`) or, for tests, from a random
`ssl_conf.random_init` config. Only the transformer layers up to the deepest requested one are built and run.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tts_codec.config import require
from tts_codec.errors import UserError
from tts_codec.nn.mel import MelSpectrogram

log = logging.getLogger(__name__)

LOGMEL_WIN, LOGMEL_HOP = 400, 320  # the same framing as wav2vec2's conv stack: floor((N - 400) / 320) + 1 frames


class SSLFeatureExtractor(nn.Module):
    """(B, N) 16 kHz waveform -> (B, T, D) features at 50 Hz; frozen (no parameters train, always eval mode).

    Build with `SSLFeatureExtractor.from_config(cfg)`; `num_frames(N)` gives T and `min_samples` the shortest input.
    """

    def __init__(self, kind: str, backbone: nn.Module, layers: list[int], normalize: bool, dim: int,
                 conv_kernels: list[int], conv_strides: list[int]):
        super().__init__()
        self.kind, self.backbone, self.layers, self.normalize, self.dim = kind, backbone, layers, normalize, dim
        self.conv_kernels, self.conv_strides = conv_kernels, conv_strides
        self.requires_grad_(False)
        self.eval()

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> "SSLFeatureExtractor":
        """Build from the full config (`ssl_conf`: type, model_dir, layers, normalize, random_init, n_mels)."""
        conf = require(cfg, "ssl_conf")
        kind = require(cfg, "ssl_conf.type")
        if kind == "logmel":
            n_mels = int(require(cfg, "ssl_conf.n_mels"))
            mel = MelSpectrogram(int(require(cfg, "sample_rate")), LOGMEL_WIN, LOGMEL_WIN, LOGMEL_HOP, n_mels=n_mels,
                                 power=1.0, center=False)
            return cls("logmel", mel, [], False, n_mels, [LOGMEL_WIN], [LOGMEL_HOP])
        if kind == "whisper_encoder":
            from tts_codec.codecs.bicodec.whisper_features import WhisperEncoderFeatures

            whisper = WhisperEncoderFeatures(conf.get("model_dir"), str(conf.get("compute_type", "int8")))
            return cls("whisper_encoder", whisper, [], False, whisper.dim, [LOGMEL_WIN], [LOGMEL_HOP])
        if kind != "wav2vec2":
            raise UserError(f"config: ssl_conf.type must be 'wav2vec2', 'logmel' or 'whisper_encoder', not {kind!r}")
        layers = [int(i) for i in require(cfg, "ssl_conf.layers")]
        if not layers or min(layers) < 0:
            raise UserError(f"config: ssl_conf.layers must be non-empty hidden-state indices >= 0, got {layers}")
        model, normalize = _load_wav2vec2(conf, max(layers))
        mcfg = model.config
        return cls("wav2vec2", model, layers, normalize, int(mcfg.hidden_size), list(mcfg.conv_kernel),
                   list(mcfg.conv_stride))

    def train(self, mode: bool = True) -> "SSLFeatureExtractor":
        return super().train(False)  # frozen: dropout, masking and layer drop stay off

    def num_frames(self, num_samples: int) -> int:
        """Feature frames T for `num_samples` input samples (<= 0 when the input is too short)."""
        n = num_samples
        for kernel, stride in zip(self.conv_kernels, self.conv_strides):
            n = (n - kernel) // stride + 1
            if n <= 0:
                return 0
        return n

    @property
    def min_samples(self) -> int:
        """Shortest input that gives one frame (the conv stack's receptive field, 400 for wav2vec2)."""
        n = 1
        for kernel, stride in reversed(list(zip(self.conv_kernels, self.conv_strides))):
            n = (n - 1) * stride + kernel
        return n

    @torch.no_grad()
    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        """Args: wav (B, N) float at 16 kHz. Returns (B, T, D), T = `num_frames(N)`."""
        if wav.dim() != 2:
            raise ValueError(f"SSLFeatureExtractor expects (B, N) audio, got shape {tuple(wav.shape)}")
        if wav.shape[-1] < self.min_samples:
            raise UserError(
                f"audio of {wav.shape[-1]} samples is shorter than the {self.min_samples}-sample receptive field "
                f"of the {self.kind} features"
            )
        wav = wav.float()
        if self.kind == "logmel":
            return torch.log(self.backbone(wav).clamp(min=1e-5)).transpose(1, 2)
        if self.kind == "whisper_encoder":
            return self.backbone(wav)[:, :self.num_frames(wav.shape[-1])]
        if self.normalize:  # Wav2Vec2FeatureExtractor's zero-mean unit-variance, per utterance
            wav = (wav - wav.mean(-1, keepdim=True)) / torch.sqrt(wav.var(-1, keepdim=True, unbiased=False) + 1e-7)
        states = _wav2vec2_hidden_states(self.backbone, wav)
        return sum(states[i] for i in self.layers) / len(self.layers)


def set_ssl_model_dir(config: dict[str, Any], model_dir: str | None, option: str = "--ssl_model_dir") -> None:
    """Point `ssl_conf.model_dir` of `config` at `model_dir` (given on the command line; None: keep the config's).

    Raises:
        UserError: naming `option` when `model_dir` is not a directory (also for SSL types that would ignore it).
    """
    if model_dir is None:
        return
    if not Path(model_dir).is_dir():
        raise UserError(f"{option} {model_dir}: no such directory")
    config.setdefault("ssl_conf", {})["model_dir"] = str(model_dir)


def _load_wav2vec2(conf: dict, num_layers: int) -> tuple[nn.Module, bool]:
    """The wav2vec2 model truncated to `num_layers` transformer layers, and whether to normalise the input."""
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    model_dir, random_init = conf.get("model_dir"), conf.get("random_init")
    if model_dir:
        path = Path(model_dir)
        if not (path / "config.json").is_file():
            raise UserError(f"config: ssl_conf.model_dir {path} has no config.json (a local wav2vec2 directory "
                            "is needed; nothing is downloaded)")
        full_layers = Wav2Vec2Config.from_pretrained(path, local_files_only=True).num_hidden_layers
        _check_layers(num_layers, full_layers)
        model = Wav2Vec2Model.from_pretrained(path, num_hidden_layers=num_layers, local_files_only=True)
        normalize = conf.get("normalize")
        if normalize is None:
            pre = path / "preprocessor_config.json"
            normalize = json.loads(pre.read_text()).get("do_normalize", True) if pre.is_file() else True
    elif random_init:
        mcfg = Wav2Vec2Config(**random_init)
        _check_layers(num_layers, mcfg.num_hidden_layers)
        mcfg.num_hidden_layers = num_layers
        with torch.random.fork_rng():
            torch.manual_seed(int(conf.get("seed", 0)))
            model = Wav2Vec2Model(mcfg)
        normalize = conf.get("normalize", True)
    else:
        raise UserError("config: ssl_conf.model_dir is not set; point it at a local wav2vec2 directory (e.g. "
                        "Spark-TTS-0.5B/wav2vec2-large-xlsr-53): nothing is downloaded")
    return model.eval(), bool(normalize)


def _check_layers(needed: int, available: int) -> None:
    if needed > available:
        raise UserError(f"config: ssl_conf.layers asks for hidden state {needed} but the model has {available} layers")


def _wav2vec2_hidden_states(model: nn.Module, wav: torch.Tensor) -> list[torch.Tensor]:
    """hidden_states[0..L] as transformers 4.x defines them: index 0 is the transformer input, index i the raw
    output of layer i. Run by hand so the stable-layer-norm final LayerNorm (applied after the last layer only)
    never leaks into a truncated model's last state."""
    features = model.feature_extractor(wav).transpose(1, 2)
    hidden, _ = model.feature_projection(features)
    encoder = model.encoder
    hidden = hidden + encoder.pos_conv_embed(hidden)
    if not model.config.do_stable_layer_norm:
        hidden = encoder.layer_norm(hidden)
    states = [hidden]
    for layer in encoder.layers:
        out = layer(hidden, attention_mask=None)
        hidden = out[0] if isinstance(out, tuple) else out
        states.append(hidden)
    return states
