"""BiCodec: semantic tokens (50 Hz, one 8192-code VQ over SSL features) + 32 global speaker tokens (FSQ) -> waveform.

Sub-module names follow the official Spark-TTS `BiCodec` so checkpoints map by weight-norm renaming only
(`tts_codec.codecs.bicodec.official`). The frozen SSL extractor is not a sub-module: it is built lazily from
`ssl_conf` for `tokenize`/`encode` and never enters the state dict or an optimiser.
"""
from __future__ import annotations

import contextlib
import copy
import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Iterator, NamedTuple

import numpy as np
import torch
from torch import nn

from tts_codec.codecs.base import Codec
from tts_codec.codecs.bicodec import config as bc
from tts_codec.codecs.bicodec.decoder import FeatureDecoder
from tts_codec.codecs.bicodec.encoder import SemanticEncoder
from tts_codec.codecs.bicodec.generator import build_wave_generator
from tts_codec.codecs.bicodec.speaker import SpeakerEncoder
from tts_codec.codecs.bicodec.ssl import SSLFeatureExtractor
from tts_codec.config import require
from tts_codec.data.dsp import prepare_audio, reference_length
from tts_codec.data.token_file import StreamInfo
from tts_codec.errors import UserError
from tts_codec.nn.factorized_vq import FactorizedVectorQuantizer
from tts_codec.nn.mel import MelSpectrogram
from tts_codec.nn.weight_norm import remove_weight_norm

log = logging.getLogger(__name__)

CODEC_CONF_KEYS = {
    "mel_params", "encoder", "decoder", "quantizer", "speaker_encoder", "prenet", "postnet", "latent_hop_length",
    "ref_segment_duration", "volume_normalize", "highpass_cutoff_freq", "segment_duration", "max_val_duration",
}


class BiCodecOutput(NamedTuple):
    """Training forward result (B batch, T SSL frames, D SSL width, H = latent_hop_length).

    recon: (B, 1, H*T) waveform.        ssl_recon: (B, T, D) postnet prediction of the SSL features.
    semantic_tokens: (B, T) int64.      global_tokens: (B, 1, token_num) int64.
    commit_loss: () commitment * MSE(z_e, sg(z_q)).   codebook_loss: () codebook_loss_weight * MSE(z_q, sg(z_e)).
    x_vector: (B, out_dim) continuous ECAPA embedding.  d_vector: (B, out_dim) from the quantised global tokens.
    """

    recon: torch.Tensor
    ssl_recon: torch.Tensor
    semantic_tokens: torch.Tensor
    global_tokens: torch.Tensor
    commit_loss: torch.Tensor
    codebook_loss: torch.Tensor
    x_vector: torch.Tensor
    d_vector: torch.Tensor

    @property
    def vq_loss(self) -> torch.Tensor:
        """commit_loss + codebook_loss, both already weighted by the quantizer config."""
        return self.commit_loss + self.codebook_loss


class BiCodec(Codec):
    """The BiCodec codec. Build with `from_config(cfg)` or `from_pretrained(dir)`; the `Codec` interface
    (`prepare`, `encode`, `decode`) wraps `tokenize`/`detokenize`; `forward` is the training pass."""

    name = "bicodec"

    def __init__(self, cfg: dict[str, Any]):
        super().__init__()
        self.config = copy.deepcopy(cfg)
        conf = require(cfg, "codec_conf")
        for key in sorted(set(conf) - CODEC_CONF_KEYS):
            log.warning("config: codec_conf.%s is not a BiCodec key and is ignored", key)
        self.sample_rate = int(require(cfg, "sample_rate"))
        self.hop_length = int(require(cfg, "codec_conf.latent_hop_length"))
        self.ref_length = reference_length(self.sample_rate, float(conf.get("ref_segment_duration", 6)),
                                           self.hop_length)
        self.volume_normalize = bool(conf.get("volume_normalize", True))
        sub = {key: require(cfg, f"codec_conf.{key}") for key in
               ("mel_params", "encoder", "quantizer", "speaker_encoder", "prenet", "postnet", "decoder")}
        mel = bc.from_mapping(bc.MelConfig, sub["mel_params"], "codec_conf.mel_params")
        enc = bc.from_mapping(bc.EncoderConfig, sub["encoder"], "codec_conf.encoder")
        vq = bc.from_mapping(bc.QuantizerConfig, sub["quantizer"], "codec_conf.quantizer")
        spk = bc.from_mapping(bc.SpeakerEncoderConfig, sub["speaker_encoder"], "codec_conf.speaker_encoder")
        pre = bc.from_mapping(bc.FeatureDecoderConfig, sub["prenet"], "codec_conf.prenet")
        post = bc.from_mapping(bc.FeatureDecoderConfig, sub["postnet"], "codec_conf.postnet")
        gen = bc.from_mapping(bc.WaveGeneratorConfig, sub["decoder"], "codec_conf.decoder")
        _check_consistency(mel, enc, vq, spk, pre, post, gen, self.hop_length)
        self.ssl_dim = enc.input_channels
        self.encoder = SemanticEncoder(enc)
        self.quantizer = FactorizedVectorQuantizer(
            vq.input_dim, vq.codebook_size, vq.codebook_dim, vq.commitment, vq.codebook_loss_weight, vq.decay,
            vq.threshold_ema_dead_code, vq.dead_code_reset,
        )
        self.speaker_encoder = SpeakerEncoder(spk)
        self.prenet = FeatureDecoder(pre)
        self.postnet = FeatureDecoder(post)
        self.decoder = build_wave_generator(gen)
        self.mel = MelSpectrogram(mel.sample_rate, mel.n_fft, mel.win_length, mel.hop_length, mel.mel_fmin,
                                  mel.mel_fmax, mel.num_mels, power=1.0, center=True)
        self.weight_norm_modules = [name for name, m in self.named_modules() if hasattr(m, "parametrizations")]
        self.__dict__["_ssl"] = None  # not a sub-module on purpose

    # ------------------------------------------------------------------ construction and files
    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> "BiCodec":
        """Build a randomly initialised BiCodec from a full config (`codec: bicodec`, `codec_conf`, `ssl_conf`)."""
        return cls(cfg)

    @classmethod
    def from_pretrained(cls, model_dir: str | Path) -> "BiCodec":
        """Load our format (config.yaml + model.safetensors) or an official Spark-TTS `BiCodec/` directory."""
        from tts_codec.codecs.bicodec import checkpoint

        return checkpoint.load_pretrained(Path(model_dir))

    def save_pretrained(self, model_dir: str | Path) -> None:
        """Write config.yaml and model.safetensors (each atomically); weight norm is saved as (g, v) even if removed."""
        from tts_codec.codecs.bicodec import checkpoint

        checkpoint.save_pretrained(self, Path(model_dir))

    @classmethod
    def claims_dir(cls, model_dir: Path) -> bool:
        """An official Spark-TTS `BiCodec/` directory (its config.yaml names no codec)."""
        from tts_codec.codecs.bicodec import official

        return official.is_official_dir(model_dir)

    @property
    def token_streams(self) -> dict[str, StreamInfo]:
        """`semantic` (T,) over the VQ codebook at 50 Hz; `global` (1, token_num) over the FSQ codes."""
        return {"semantic": StreamInfo((-1,), int(self.codebook_size)),
                "global": StreamInfo((1, int(self.num_global_tokens)), int(self.global_codebook_size))}

    @property
    def min_samples(self) -> int:
        return self.ssl_extractor.min_samples

    def num_frames(self, num_samples: int) -> int:
        return self.ssl_extractor.num_frames(num_samples)

    @property
    def codebook_size(self) -> int:
        return self.quantizer.codebook_size

    @property
    def global_codebook_size(self) -> int:
        return self.speaker_encoder.codebook_size

    @property
    def num_global_tokens(self) -> int:
        return self.speaker_encoder.token_num

    @property
    def ssl_extractor(self) -> SSLFeatureExtractor:
        """The frozen SSL extractor of `ssl_conf`, built on first use (`set_ssl_extractor` to share one)."""
        if self.__dict__["_ssl"] is None:
            self.__dict__["_ssl"] = SSLFeatureExtractor.from_config(self.config)
        return self.__dict__["_ssl"]

    def set_ssl_extractor(self, extractor: SSLFeatureExtractor | None) -> None:
        self.__dict__["_ssl"] = extractor

    def inference(self) -> "BiCodec":
        """Switch to eval mode and fold weight norm into plain weights (faster); returns self."""
        self.eval()
        remove_weight_norm(self)
        return self

    def remove_weight_norm(self) -> int:
        return remove_weight_norm(self)

    # ------------------------------------------------------------------ training
    def forward(self, wav: torch.Tensor, ssl_feats: torch.Tensor, ref_wav: torch.Tensor,
                use_d_vector: bool = True) -> BiCodecOutput:
        """Reconstruct a segment from its SSL features and a reference clip.

        Args:
            wav: (B, N) target audio; only checked here (the trainer aligns it with `recon`, H*T samples).
            ssl_feats: (B, T, D) features of the segment (`ssl_extractor`, cropped to the segment).
            ref_wav: (B, N_ref) reference audio for the global path (6 s crops in training).
            use_d_vector: condition on the quantised d-vector; False uses the continuous x-vector (warm-up).

        Returns:
            `BiCodecOutput`.
        """
        self._check_ssl(ssl_feats)
        self._check_audio(ref_wav, "ref_wav", self.mel.n_fft // 2 + 1)
        if wav.shape[0] != ssl_feats.shape[0] or ref_wav.shape[0] != ssl_feats.shape[0]:
            raise ValueError(f"batch sizes differ: wav {tuple(wav.shape)}, ssl_feats {tuple(ssl_feats.shape)}, "
                             f"ref_wav {tuple(ref_wav.shape)}")
        vq = self.quantizer(self.encoder(ssl_feats.transpose(1, 2)))
        spk = self.speaker_encoder(self.mel(ref_wav))
        condition = spk.d_vector if use_d_vector else spk.x_vector
        x = self.prenet(vq.z_q, condition)
        ssl_recon = self.postnet(x).transpose(1, 2)
        recon = self.decoder(x + condition.unsqueeze(-1))
        return BiCodecOutput(recon, ssl_recon, vq.indices, spk.tokens, vq.commit_loss, vq.codebook_loss,
                             spk.x_vector, spk.d_vector)

    # ------------------------------------------------------------------ inference
    @torch.inference_mode()
    def tokenize(self, wav: torch.Tensor, ref_wav: torch.Tensor | None = None,
                 ssl_feats: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Semantic and global tokens of front-ended 16 kHz audio (see `encode` for raw arrays).

        Args:
            wav: (B, N) or (N,) float audio.
            ref_wav: (B, N_ref) reference; default `wav`. Its first 6 s are used, tiled if shorter.
            ssl_feats: (B, T, D) precomputed features; default `ssl_extractor(wav)`.

        Returns:
            semantic (B, T) int64 in [0, codebook_size); global (B, 1, token_num) int64 in [0, 4096).
        """
        wav = wav.unsqueeze(0) if wav.dim() == 1 else wav
        if ssl_feats is None:
            extractor = self.ssl_extractor.to(wav.device)
            self._check_audio(wav, "wav", extractor.min_samples)
            ssl_feats = extractor(wav)
        self._check_ssl(ssl_feats)
        ref = wav if ref_wav is None else (ref_wav.unsqueeze(0) if ref_wav.dim() == 1 else ref_wav)
        self._check_audio(ref, "ref_wav", 1)
        with self._eval_mode():
            semantic = self.quantizer.tokenize(self.encoder(ssl_feats.transpose(1, 2).float()))
            return semantic, self.speaker_encoder.tokenize(self.mel(self._reference(ref.float())))

    @torch.inference_mode()
    def detokenize(self, semantic_tokens: torch.Tensor, global_tokens: torch.Tensor) -> torch.Tensor:
        """Waveform from tokens.

        Args:
            semantic_tokens: (B, T) or (T,) ints in [0, codebook_size).
            global_tokens: (B, 1, token_num) or (B, token_num) ints in [0, 4096).

        Returns:
            (B, 1, H*T) float waveform in [-1, 1], H = latent_hop_length (320).
        """
        semantic, glob = self._check_tokens(semantic_tokens, global_tokens)
        with self._eval_mode():
            z_q = self.quantizer.detokenize(semantic)
            d_vector = self.speaker_encoder.detokenize(glob)
            return self.decoder(self.prenet(z_q, d_vector) + d_vector.unsqueeze(-1))

    def prepare(self, audio: np.ndarray, sample_rate: int, what: str = "audio") -> np.ndarray:
        """Downmix, resample to `sample_rate` (soxr VHQ) and volume-normalise, as official inference does."""
        return prepare_audio(audio, sample_rate, self.sample_rate, self.volume_normalize, what=what)

    def encode(self, wav: torch.Tensor, lengths: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """`tokenize` with each row's reference clip cut from its own `lengths[i]` samples (never from padding).

        Returns:
            {"semantic": (B, T) int64, "global": (B, 1, token_num) int64}.
        """
        wav = wav.unsqueeze(0) if wav.dim() == 1 else wav
        refs = None
        if lengths is not None:
            refs = torch.cat([self._reference(wav[i : i + 1, : int(n)]) for i, n in enumerate(lengths)])
        semantic, glob = self.tokenize(wav, refs)
        return {"semantic": semantic, "global": glob}

    def decode(self, codes: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """`detokenize` of {"semantic": (B, T), "global": (B, 1, token_num)}; returns (B, 1, hop_length * T)."""
        missing = sorted(set(self.token_streams) - set(codes))
        if missing:
            raise UserError(f"BiCodec decode: token stream(s) {missing} missing; got {sorted(codes)}")
        return self.detokenize(codes["semantic"], codes["global"])

    # ------------------------------------------------------------------ checks
    @contextlib.contextmanager
    def _eval_mode(self) -> Iterator[None]:
        """Inference uses BatchNorm running statistics even when called mid-training; the mode is restored."""
        was_training = self.training
        self.eval()
        try:
            yield
        finally:
            self.train(was_training)

    def _reference(self, ref: torch.Tensor) -> torch.Tensor:
        """First `ref_length` samples, tiled when shorter (official `get_ref_clip`)."""
        if ref.shape[-1] < self.ref_length:
            ref = ref.repeat(1, self.ref_length // ref.shape[-1] + 1)
        return ref[:, : self.ref_length]

    def _check_audio(self, wav: torch.Tensor, name: str, min_samples: int) -> None:
        if wav.dim() != 2:
            raise UserError(f"{name}: expected (batch, samples) audio, got shape {tuple(wav.shape)}")
        if wav.shape[-1] < min_samples:
            raise UserError(f"{name}: {wav.shape[-1]} samples ({wav.shape[-1] / self.sample_rate:.4f} s) is too "
                            f"short; at least {min_samples} samples are needed")
        if not torch.isfinite(wav).all():
            raise UserError(f"{name}: audio contains NaN or infinite samples")

    def _check_ssl(self, feats: torch.Tensor) -> None:
        if feats.dim() != 3 or feats.shape[-1] != self.ssl_dim or feats.shape[1] == 0:
            raise UserError(f"ssl_feats: expected (batch, frames >= 1, {self.ssl_dim}) (codec_conf.encoder."
                            f"input_channels), got shape {tuple(feats.shape)}")

    def _check_tokens(self, semantic: torch.Tensor, glob: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        semantic = semantic.unsqueeze(0) if semantic.dim() == 1 else semantic
        glob = glob.unsqueeze(1) if glob.dim() == 2 else glob
        if semantic.dim() != 2 or semantic.shape[1] == 0:
            raise UserError(f"semantic tokens: expected (batch, frames >= 1), got shape {tuple(semantic.shape)}")
        n_glob = self.num_global_tokens
        if glob.dim() != 3 or glob.shape[1:] != (1, n_glob) or glob.shape[0] != semantic.shape[0]:
            raise UserError(f"global tokens: expected ({semantic.shape[0]}, 1, {n_glob}), got {tuple(glob.shape)}")
        for name, tokens, size in (("semantic", semantic, self.codebook_size),
                                   ("global", glob, self.global_codebook_size)):
            if tokens.dtype.is_floating_point or tokens.min() < 0 or tokens.max() >= size:
                raise UserError(f"{name} tokens must be integers in [0, {size}), got {tokens.dtype} in "
                                f"[{tokens.min().item()}, {tokens.max().item()}]")
        return semantic.long(), glob.long()


def _check_consistency(mel, enc, vq, spk, pre, post, gen, hop_length: int) -> None:
    """Fail by key name when the sub-configs do not fit together."""
    pairs = [
        ("codec_conf.quantizer.input_dim", vq.input_dim, "codec_conf.encoder.out_channels", enc.out_channels),
        ("codec_conf.prenet.input_channels", pre.input_channels, "codec_conf.quantizer.input_dim", vq.input_dim),
        ("codec_conf.prenet.condition_dim", pre.condition_dim, "codec_conf.speaker_encoder.out_dim", spk.out_dim),
        ("codec_conf.postnet.input_channels", post.input_channels, "codec_conf.prenet.out_channels",
         pre.out_channels),
        ("codec_conf.postnet.out_channels", post.out_channels, "codec_conf.encoder.input_channels",
         enc.input_channels),
        ("codec_conf.decoder.input_channel", gen.input_channel, "codec_conf.prenet.out_channels", pre.out_channels),
        ("codec_conf.decoder.input_channel", gen.input_channel, "codec_conf.speaker_encoder.out_dim", spk.out_dim),
        ("codec_conf.speaker_encoder.input_dim", spk.input_dim, "codec_conf.mel_params.num_mels", mel.num_mels),
        ("product of codec_conf.decoder.rates", math.prod(gen.rates), "codec_conf.latent_hop_length", hop_length),
    ]
    for key_a, a, key_b, b in pairs:
        if a != b:
            raise UserError(f"config: {key_a} ({a}) must equal {key_b} ({b})")
