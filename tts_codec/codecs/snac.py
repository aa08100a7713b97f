"""SNAC (hubertsiuzdak/snac, MIT; mars6_snac.md §10): the `snac` package's multi-scale RVQ codec behind `Codec`.

Token streams (stream i is `snac_l{i}`, coarsest first; the 24 kHz model: hop 512, vq_strides [4, 2, 1]):

    snac_l0  (T/4,)  codes in [0, 4096)  11.71875 Hz  StreamInfo.stride 4   (coarse)
    snac_l1  (T/2,)  codes in [0, 4096)  23.4375 Hz   StreamInfo.stride 2
    snac_l2  (T,)    codes in [0, 4096)  46.875 Hz    StreamInfo.stride 1   (fine; `frame_rate`)

T is always a multiple of vq_strides[0] (4): `encode` right-pads the audio to a multiple of hop * lcm(vq_strides[0],
attn_window_size or 1) = 2048 samples as the package does, so every 12 Hz MARS6 patch (1 + 2 + 4 tokens) is whole
and `decode` returns hop * T samples (`num_frames` counts the padded frames). The model is the package's `SNAC` class;
only its Snake activations are swapped for `tts_codec.nn.snake.Snake1d` (same parameter `alpha`, same function) so
the project's inference speed-ups apply. Ours, off by default: `wave_decoder: {type: istft, ...}` replaces the
package's transposed-convolution decoder by a Vocos-style ConvNeXt + inverse-STFT generator at the latent frame rate
(`tts_codec.nn.istft_head.ISTFTGenerator`), for small codecs trained on CPU; `wave_encoder: {type: mel, ...}`
replaces the package's strided-convolution encoder by a log-mel ConvNeXt at the latent frame rate
(`tts_codec.nn.mel_encoder.MelConvNeXtEncoder`, same latent shape). The quantizers and the token streams stay
SNAC's either way, so MARS6 reads them unchanged. `decode` draws the NoiseBlock noise from a fixed seed
(`noise_seed`), so the same codes always give the same audio (the package draws fresh noise on every call).
"""
from __future__ import annotations

import copy
import inspect
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from snac import SNAC
from snac.layers import NoiseBlock, ResidualUnit
from snac.layers import Snake1d as PackageSnake1d
from torch import nn

from tts_codec.atomic import atomic_path
from tts_codec.codecs.base import Codec
from tts_codec.config import load_config, require, save_config
from tts_codec.data.dsp import prepare_audio
from tts_codec.data.token_file import StreamInfo
from tts_codec.errors import UserError
from tts_codec.nn.channels_last import conv_to_2d, register_channels_last
from tts_codec.nn.fast_inference import records_autograd, register_fast_stand_in
from tts_codec.nn.fast_residual import FastResidualUnit
from tts_codec.nn.istft_head import ISTFTGenerator
from tts_codec.nn.mel_encoder import MelConvNeXtEncoder
from tts_codec.nn.snake import Snake1d
from tts_codec.nn.weight_norm import remove_weight_norm

FORMAT, VERSION = "tts_codec.snac", "1"
#: the official directory layout read by `SNAC.from_pretrained(local_dir)`
OFFICIAL_CONFIG, OFFICIAL_WEIGHTS = "config.json", "pytorch_model.bin"
#: `SNAC.__init__` keyword -> required in codec_conf (the package defaults are the 44 kHz model: never rely on them)
CODEC_CONF_KEYS = {"encoder_dim": True, "encoder_rates": True, "latent_dim": False, "decoder_dim": True,
                   "decoder_rates": True, "attn_window_size": True, "codebook_size": True, "codebook_dim": True,
                   "vq_strides": True, "noise": True, "depthwise": True}
#: ours: `wave_decoder.type` -> the keys it reads (`snac` = the package's decoder, built from codec_conf)
WAVE_DECODER_KEYS = {"snac": set(), "istft": {"channels", "num_layers", "intermediate_dim", "n_fft"}}
#: ours: `wave_encoder.type` -> the keys it reads (`snac` = the package's encoder, built from codec_conf)
WAVE_ENCODER_KEYS = {"snac": set(), "mel": {"channels", "num_layers", "intermediate_dim", "n_fft", "n_mels"}}


class SNACOutput(NamedTuple):
    """Training forward result (B batch, N samples, T_i frames of level i).

    recon: (B, 1, N) waveform.  codes: [(B, T_0), (B, T_1), ...] int64, coarsest first.
    commit_loss: () mean over levels of MSE(z_e, sg(codeword)).  codebook_loss: () mean of MSE(codeword, sg(z_e)).
    levels: [(B, C, T), ...] each level's quantized contribution at the finest rate (their sum feeds the decoder).
    latents: [(B, d, T_i), ...] each level's projected latent z_e, which its codes were chosen from.
    """

    recon: torch.Tensor
    codes: list[torch.Tensor]
    commit_loss: torch.Tensor
    codebook_loss: torch.Tensor
    levels: list[torch.Tensor]
    latents: list[torch.Tensor]


class SNACCodec(Codec):
    """The SNAC codec. Build with `from_config(cfg)` (`codec: snac`, `sample_rate`, `codec_conf` = the package's
    `SNAC(...)` keywords but `sampling_rate`) or `from_pretrained(dir)` (ours or the official layout)."""

    name = "snac"

    def __init__(self, cfg: dict[str, Any]):
        super().__init__()
        self.config = copy.deepcopy(cfg)
        conf = dict(require(cfg, "codec_conf"))
        unknown = sorted(set(conf) - set(CODEC_CONF_KEYS))
        if unknown:
            raise UserError(f"config: codec_conf.{unknown[0]} is not a SNAC key; known: {sorted(CODEC_CONF_KEYS)}")
        for key, required in CODEC_CONF_KEYS.items():
            if required:
                require(cfg, f"codec_conf.{key}")
        self.sample_rate = int(require(cfg, "sample_rate"))
        _check_shapes(conf)
        self.model = SNAC(sampling_rate=self.sample_rate, **conf)
        _swap_snake(self.model)
        latent_dim, hop_length = int(self.model.latent_dim), int(self.model.hop_length)
        wave_encoder = _wave_encoder(cfg.get("wave_encoder"), self.sample_rate, latent_dim, hop_length)
        if wave_encoder is not None:
            self.model.encoder = wave_encoder
        wave_decoder = _wave_decoder(cfg.get("wave_decoder"), latent_dim, hop_length)
        if wave_decoder is not None:
            self.model.decoder = wave_decoder
        self.hop_length = int(self.model.hop_length)
        self.vq_strides = [int(s) for s in conf["vq_strides"]]
        self.pad_multiple = self.hop_length * math.lcm(self.vq_strides[0], conf["attn_window_size"] or 1)
        self.noise_seed = 0
        self.weight_norm_modules = [name for name, m in self.named_modules() if hasattr(m, "parametrizations")]

    # ------------------------------------------------------------------ construction and files
    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> "SNACCodec":
        """A randomly initialised SNAC from a full config (`codec: snac`, `sample_rate`, `codec_conf`)."""
        return cls(cfg)

    @classmethod
    def from_pretrained(cls, model_dir: str | os.PathLike) -> "SNACCodec":
        """Load our format (config.yaml + model.safetensors) or an official SNAC directory (config.json +
        pytorch_model.bin, e.g. a local copy of hubertsiuzdak/snac_24khz); never downloads. Eval mode."""
        from tts_codec.codecs.bicodec.checkpoint import load_state_dict_checked, read_weights

        model_dir = Path(model_dir)
        if not model_dir.is_dir():
            raise UserError(f"model directory {model_dir} does not exist")
        if cls.claims_dir(model_dir):
            return load_official(model_dir)
        weights = model_dir / "model.safetensors"
        if not weights.is_file():
            raise UserError(f"{model_dir}: no model.safetensors (expected config.yaml + model.safetensors, or an "
                            f"official SNAC {OFFICIAL_CONFIG} + {OFFICIAL_WEIGHTS})")
        cfg = load_config(model_dir / "config.yaml")
        if cfg.get("codec") != cls.name:
            raise UserError(f"{model_dir / 'config.yaml'}: 'codec' is {cfg.get('codec')!r}, expected {cls.name!r}")
        state, meta = read_weights(weights)
        if meta.get("format") != FORMAT or meta.get("version") != VERSION:
            raise UserError(f"{weights}: format {meta.get('format')!r} version {meta.get('version')!r}, expected "
                            f"{FORMAT!r} version {VERSION!r}")
        model = cls(cfg)
        load_state_dict_checked(model, state, str(weights))
        return model.eval()

    def save_pretrained(self, model_dir: str | os.PathLike) -> None:
        """Write model.safetensors (weight norm as g, v even after `remove_weight_norm`) then config.yaml."""
        from tts_codec.data.safetensors_file import save_safetensors

        from tts_codec.codecs.bicodec.checkpoint import canonical_state_dict

        model_dir = Path(model_dir)
        model_dir.mkdir(parents=True, exist_ok=True)
        with atomic_path(model_dir / "model.safetensors") as tmp:
            save_safetensors(canonical_state_dict(self), tmp, metadata={"format": FORMAT, "version": VERSION})
        save_config(self.config, model_dir / "config.yaml")

    @classmethod
    def claims_dir(cls, model_dir: Path) -> bool:
        """An official SNAC directory: config.json + pytorch_model.bin and no config.yaml of ours."""
        return ((model_dir / OFFICIAL_CONFIG).is_file() and (model_dir / OFFICIAL_WEIGHTS).is_file()
                and not (model_dir / "config.yaml").is_file())

    def remove_weight_norm(self) -> int:
        return remove_weight_norm(self)

    # ------------------------------------------------------------------ description
    @property
    def token_streams(self) -> dict[str, StreamInfo]:
        """`snac_l{i}` (T / stride_i,) over `codebook_size` codes, coarsest first (see the module docstring)."""
        finest = self.vq_strides[-1]
        size = int(self.model.codebook_size)
        return {f"snac_l{i}": StreamInfo((-1,), size, stride=s // finest) for i, s in enumerate(self.vq_strides)}

    def num_frames(self, num_samples: int) -> int:
        """Frames of the finest level for `num_samples`, counting the padding `encode` adds."""
        padded = -(-num_samples // self.pad_multiple) * self.pad_multiple
        return padded // self.hop_length // self.vq_strides[-1]

    # ------------------------------------------------------------------ audio <-> tokens
    def prepare(self, audio: np.ndarray, sample_rate: int, what: str = "audio") -> np.ndarray:
        """Downmix to mono and resample to `sample_rate` (soxr VHQ); no loudness change (SNAC has none)."""
        return prepare_audio(audio, sample_rate, self.sample_rate, volume_normalize=False, what=what)

    @torch.inference_mode()
    def encode(self, wav: torch.Tensor, lengths: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Codes of prepared audio; rows with `lengths` shorter than the batch are encoded alone (so their codes do
        not depend on the padding) and their frame axes zero-padded.

        Args:
            wav: (B, N) or (N,) float audio at `sample_rate`.
            lengths: (B,) true lengths, or None.

        Returns:
            {"snac_l{i}": (B, T / stride_i) int64}, T = `num_frames(N)`.
        """
        wav = wav.unsqueeze(0) if wav.dim() == 1 else wav
        self._check_audio(wav)
        if lengths is None or all(int(n) == wav.shape[-1] for n in lengths):
            codes = self.model.encode(wav.float().unsqueeze(1))
        else:
            if min(int(n) for n in lengths) < self.min_samples:
                raise UserError(f"SNAC encode: lengths {[int(n) for n in lengths]} include one below "
                                f"{self.min_samples} samples (too short)")
            rows = [self.model.encode(wav[i : i + 1, : int(n)].float().unsqueeze(1)) for i, n in enumerate(lengths)]
            frames = self.num_frames(wav.shape[-1])
            codes = [torch.cat([F.pad(r[level], (0, frames // spec.stride - r[level].shape[-1])) for r in rows])
                     for level, spec in enumerate(self.token_streams.values())]
        return {name: c.long() for name, c in zip(self.token_streams, codes)}

    @torch.inference_mode()
    def decode(self, codes: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Waveform from {"snac_l{i}": (B, T / stride_i) ints}; returns (B, 1, hop_length * T) in [-1, 1]."""
        levels = self._check_codes(codes)
        device = levels[0].device
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(self.noise_seed)
            return self.model.decode(levels)

    # ------------------------------------------------------------------ training
    def forward(self, wav: torch.Tensor) -> SNACOutput:
        """Reconstruct (B, 1, N) audio, N a multiple of `pad_multiple`, with the quantizer's training losses.

        The residual loop is the package's `ResidualVectorQuantize.forward` (same modules, same straight-through
        estimator), which returns no losses; DAC's commitment and codebook terms need each level's projection z_e.
        """
        if wav.dim() != 3 or wav.shape[1] != 1 or wav.shape[-1] % self.pad_multiple:
            raise ValueError(f"expected (B, 1, N) audio with N a multiple of {self.pad_multiple}, got "
                             f"{tuple(wav.shape)}")
        residual = self.model.encoder(wav)
        z_q = torch.zeros_like(residual)
        codes, commit, codebook, levels, latents = [], [], [], [], []
        for vq in self.model.quantizer.quantizers:
            x = F.avg_pool1d(residual, vq.stride, vq.stride) if vq.stride > 1 else residual
            z_e = vq.in_proj(x)
            codeword, indices = vq.decode_latents(z_e)
            commit.append(F.mse_loss(z_e, codeword.detach()))
            codebook.append(F.mse_loss(codeword, z_e.detach()))
            level = vq.out_proj(z_e + (codeword - z_e).detach())
            level = level.repeat_interleave(vq.stride, dim=-1) if vq.stride > 1 else level
            z_q, residual = z_q + level, residual - level
            codes.append(indices)
            levels.append(level)
            latents.append(z_e)
        recon = self.model.decoder(z_q)
        return SNACOutput(recon, codes, torch.stack(commit).mean(), torch.stack(codebook).mean(), levels,
                          latents)

    # ------------------------------------------------------------------ checks
    def _check_audio(self, wav: torch.Tensor) -> None:
        if wav.dim() != 2:
            raise UserError(f"SNAC encode: expected (batch, samples) audio, got shape {tuple(wav.shape)}")
        if wav.shape[-1] < self.min_samples:
            raise UserError(f"SNAC encode: {wav.shape[-1]} samples is too short; at least {self.min_samples} "
                            f"({self.min_samples / self.sample_rate * 1000:.1f} ms at {self.sample_rate} Hz)")
        if not torch.isfinite(wav).all():
            raise UserError("SNAC encode: audio contains NaN or infinite samples")

    def _check_codes(self, codes: Mapping[str, torch.Tensor]) -> list[torch.Tensor]:
        """The levels as (B, T_i) int64, coarsest first; UserError on missing streams, bad shapes or values."""
        streams = self.token_streams
        missing = sorted(set(streams) - set(codes))
        if missing:
            raise UserError(f"SNAC decode: token stream(s) {missing} missing; got {sorted(codes)}")
        levels = [codes[n].unsqueeze(0) if codes[n].dim() == 1 else codes[n] for n in streams]
        frames = levels[0].shape[-1] * streams["snac_l0"].stride if levels[0].dim() == 2 else 0
        for (name, spec), tokens in zip(streams.items(), levels):
            if tokens.dim() != 2 or tokens.shape[0] != levels[0].shape[0] or frames == 0 \
                    or tokens.shape[1] * spec.stride != frames:
                shapes = {n: tuple(t.shape) for n, t in zip(streams, levels)}
                raise UserError(f"SNAC decode: levels must be (batch, T / stride) with T >= 1 and strides "
                                f"{[s.stride for s in streams.values()]}; got {shapes}")
            if tokens.dtype.is_floating_point or tokens.min() < 0 or tokens.max() >= spec.codebook_size:
                raise UserError(f"SNAC decode: {name} tokens must be integers in [0, {spec.codebook_size}), got "
                                f"{tokens.dtype} in [{tokens.min().item()}, {tokens.max().item()}]")
        return [t.long() for t in levels]


def _check_shapes(conf: Mapping[str, Any]) -> None:
    """Fail by key name when the encoder, decoder and quantizer strides do not fit together."""
    strides = list(conf["vq_strides"])
    if not strides or any(int(s) < 1 or int(strides[0]) % int(s) for s in strides) or int(strides[-1]) != 1:
        raise UserError(f"config: codec_conf.vq_strides {strides} must be positive, each dividing the first, the "
                        "last 1 (e.g. [4, 2, 1])")
    if math.prod(conf["encoder_rates"]) != math.prod(conf["decoder_rates"]):
        raise UserError(f"config: the product of codec_conf.encoder_rates {list(conf['encoder_rates'])} must equal "
                        f"that of codec_conf.decoder_rates {list(conf['decoder_rates'])} (the hop length)")


def _generator_conf(conf: Any, key: str, kinds: Mapping[str, set[str]], hop_length: int) -> dict[str, Any] | None:
    """Validate an ours-only `wave_encoder` / `wave_decoder` mapping: None for the package's own module (absent or
    type `snac`), else the mapping with `n_fft` filled in; UserError naming the key."""
    if conf is None:
        return None
    if not isinstance(conf, Mapping) or conf.get("type", "snac") not in kinds:
        raise UserError(f"config: {key} must be a mapping with type one of {sorted(kinds)}, got {conf!r}")
    kind = conf.get("type", "snac")
    unknown = sorted(set(conf) - kinds[kind] - {"type"})
    if unknown:
        raise UserError(f"config: {key}.{unknown[0]} is not read by type {kind!r}; known: {sorted(kinds[kind])}")
    if kind == "snac":
        return None
    for name in sorted(kinds[kind]):
        value = conf.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise UserError(f"config: {key}.{name} must be a positive integer, got {value!r}")
    if conf.get("channels") is None:
        raise UserError(f"config: {key}.channels is required for type {kind!r}")
    n_fft = conf.get("n_fft") or 4 * hop_length
    if n_fft < hop_length:
        raise UserError(f"config: {key}.n_fft ({n_fft}) must be at least the hop length ({hop_length})")
    return {**conf, "n_fft": n_fft}


def _wave_decoder(conf: Any, latent_dim: int, hop_length: int) -> nn.Module | None:
    """Ours: the generator `wave_decoder` names (None for the package's own decoder); UserError naming the key."""
    conf = _generator_conf(conf, "wave_decoder", WAVE_DECODER_KEYS, hop_length)
    if conf is None:
        return None
    return ISTFTGenerator(latent_dim, conf["channels"], hop_length, conf.get("num_layers") or 4,
                          conf.get("intermediate_dim"), conf["n_fft"])


def _wave_encoder(conf: Any, sample_rate: int, latent_dim: int, hop_length: int) -> nn.Module | None:
    """Ours: the encoder `wave_encoder` names (None for the package's own); UserError naming the key."""
    conf = _generator_conf(conf, "wave_encoder", WAVE_ENCODER_KEYS, hop_length)
    if conf is None:
        return None
    return MelConvNeXtEncoder(sample_rate, hop_length, latent_dim, conf["channels"], conf.get("num_layers") or 4,
                              conf.get("intermediate_dim"), conf["n_fft"], conf.get("n_mels") or 80)


def hop_length_of(cfg: Mapping[str, Any]) -> int:
    """Samples per finest frame of a config, without building the model: the product of its encoder rates."""
    return int(math.prod(require(cfg, "codec_conf.encoder_rates")))


def _swap_snake(model: nn.Module) -> int:
    """Replace the package's Snake1d by ours, reusing each `alpha` parameter (same name, shape and function)."""
    count = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, PackageSnake1d):
                ours = Snake1d(child.alpha.shape[1])
                ours.alpha = child.alpha
                setattr(parent, name, ours)
                count += 1
    return count


class FastNoiseBlock(nn.Module):
    """The package's NoiseBlock, x + noise * conv1x1(x), for CPU inference: in float32 without autocast or autograd
    the bias-free 1x1 conv is one (C, C) @ (C, T) matmul per batch row (oneDNN runs it through a slow im2col path)
    and the noise term is added in place; otherwise it computes as the package does. Either way the same noise draws
    from the global RNG (`torch.randn((B, 1, T))` before the conv, as the package), the same module `linear`."""

    def __init__(self, block: NoiseBlock):
        super().__init__()
        self.linear = block.linear

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, steps = x.shape
        noise = torch.randn((batch, 1, steps), device=x.device, dtype=x.dtype)
        weight = self.linear.weight
        if records_autograd(x, weight) or x.dtype != torch.float32 or weight.dtype != torch.float32 \
                or torch.is_autocast_enabled(x.device.type):
            return x + noise * self.linear(x)
        matrix = weight.detach().squeeze(-1)
        h = torch.empty(x.shape, device=x.device, dtype=x.dtype)
        for row, out in zip(x, h):  # 2-d products: torch.matmul would transpose a 3-d x and copy the result back
            torch.mm(matrix, row, out=out)
        return torch.addcmul(x, noise, h, out=h)


class ChannelsLastNoiseBlock(nn.Module):
    """The package's NoiseBlock, x + noise * conv1x1(x), on channels-last (B, C, 1, T) tensors: the same noise
    draws from the global RNG (B * T values in the same order), so decoding with `channels_last` keeps the audio."""

    def __init__(self, block: NoiseBlock | FastNoiseBlock):
        super().__init__()
        self.linear = conv_to_2d(block.linear)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, _, steps = x.shape
        noise = torch.randn((batch, 1, 1, steps), device=x.device, dtype=x.dtype)
        return x + noise * self.linear(x)


def _fast_residual_unit(unit: ResidualUnit) -> FastResidualUnit | None:
    """The package's ResidualUnit (x + block(x), the block keeping the length) as a `FastResidualUnit`; None for a
    unit that is not depthwise (`depthwise: false`), which stays as it is."""
    return FastResidualUnit.from_block(unit.block)


register_channels_last(NoiseBlock, ChannelsLastNoiseBlock)
register_channels_last(FastNoiseBlock, ChannelsLastNoiseBlock)
register_fast_stand_in(NoiseBlock, FastNoiseBlock)
register_fast_stand_in(ResidualUnit, _fast_residual_unit)


def official_config(config_json: Path) -> dict[str, Any]:
    """Our config for an official `config.json` (keys it omits take the package's defaults, as `SNAC.from_config`
    does)."""
    try:
        official = json.loads(config_json.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise UserError(f"{config_json}: not a readable JSON file ({err})") from None
    if not isinstance(official, dict):
        raise UserError(f"{config_json}: expected a JSON object of SNAC(...) arguments")
    defaults = {k: p.default for k, p in inspect.signature(SNAC.__init__).parameters.items() if k != "self"}
    unknown = sorted(set(official) - set(defaults))
    if unknown:
        raise UserError(f"{config_json}: {unknown} are not SNAC(...) arguments of snac {_package_version()}")
    merged = {**defaults, **official}
    return {"codec": SNACCodec.name, "sample_rate": int(merged.pop("sampling_rate")), "codec_conf": merged}


def load_official(model_dir: Path) -> SNACCodec:
    """An official SNAC directory (config.json + pytorch_model.bin as `SNAC.from_pretrained` reads it); eval mode."""
    model = SNACCodec(official_config(model_dir / OFFICIAL_CONFIG))
    weights = model_dir / OFFICIAL_WEIGHTS
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises several types for truncated or foreign files
        raise UserError(f"{weights}: not a readable torch state dict ({type(err).__name__}); it may be truncated "
                        "or corrupt: copy it again") from None
    try:  # through the package module: its weight-norm hook also reads the older weight_g / weight_v names
        model.model.load_state_dict(state)
    except RuntimeError as err:
        raise UserError(f"{weights}: does not fit {model_dir / OFFICIAL_CONFIG}: "
                        f"{str(err).splitlines()[1].strip() if len(str(err).splitlines()) > 1 else err}") from None
    return model.eval()


def _package_version() -> str:
    from importlib.metadata import version

    return version("snac")
