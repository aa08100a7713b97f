"""Official Spark-TTS BiCodec checkpoints (`BiCodec/config.yaml` + `model.safetensors`) <-> our format.

Our sub-module names are the official ones, so tensors map one to one except:
- weight norm: official old-style `<conv>.weight_g` / `.weight_v` <-> our `<conv>.parametrizations.weight.original0`
  / `.original1` (same shapes, g over dim 0);
- the speaker mel buffers: `mel_transformer.spectrogram.window` / `mel_transformer.mel_scale.fb` (torchaudio) <->
  `mel.window` / `mel.filterbank` (same layout, (n_fft // 2 + 1, n_mels)).
`resources/bicodec/official_manifest.json` lists the official names and shapes (instantiated from the official code).
"""
from __future__ import annotations

import copy
import dataclasses
import json
import logging
from importlib import resources
from pathlib import Path
from typing import Any

import torch
import yaml

from tts_codec.atomic import atomic_path, atomic_write
from tts_codec.codecs.bicodec import config as bc
from tts_codec.codecs.bicodec.checkpoint import (WN_G, WN_V, canonical_state_dict, load_state_dict_checked,
                                                 read_weights)
from tts_codec.data.safetensors_file import save_safetensors
from tts_codec.errors import UserError

log = logging.getLogger(__name__)

MEL_KEYS = {"mel_transformer.spectrogram.window": "mel.window", "mel_transformer.mel_scale.fb": "mel.filterbank"}
# Official tensors that are derived, not learned: a checkpoint may lack them and we then keep our computed values.
OPTIONAL_SUFFIXES = ("num_batches_tracked", "mel.window", "mel.filterbank")
SECTIONS = ("mel_params", "encoder", "decoder", "quantizer", "speaker_encoder", "prenet", "postnet")
# The keys the official constructors accept, per section (anything else of ours cannot be exported).
OFFICIAL_KEYS = {
    "mel_params": ["sample_rate", "n_fft", "win_length", "hop_length", "mel_fmin", "mel_fmax", "num_mels"],
    "encoder": ["input_channels", "vocos_dim", "vocos_intermediate_dim", "vocos_num_layers", "out_channels",
                "sample_ratios"],
    "decoder": ["input_channel", "channels", "rates", "kernel_sizes", "d_out"],
    "quantizer": ["input_dim", "codebook_size", "codebook_dim", "commitment", "codebook_loss_weight", "decay",
                  "threshold_ema_dead_code", "use_l2_normlize", "momentum"],
    "speaker_encoder": ["input_dim", "out_dim", "latent_dim", "token_num", "fsq_levels", "fsq_num_quantizers"],
    "prenet": ["input_channels", "vocos_dim", "vocos_intermediate_dim", "vocos_num_layers", "out_channels",
               "condition_dim", "sample_ratios", "use_tanh_at_final"],
}
OFFICIAL_KEYS["postnet"] = OFFICIAL_KEYS["prenet"]
TOP_LEVEL_KEYS = ("sample_rate", "highpass_cutoff_freq", "segment_duration", "max_val_duration",
                  "latent_hop_length", "ref_segment_duration", "volume_normalize")
SSL_DIR_NAME = "wav2vec2-large-xlsr-53"


def official_to_ours(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename official tensor names to ours (weight_g/weight_v -> parametrizations, mel buffers)."""
    out = {}
    for key, value in state.items():
        if key in MEL_KEYS:
            key = MEL_KEYS[key]
        elif key.endswith(".weight_g"):
            key = f"{key[: -len('.weight_g')]}.{WN_G}"
        elif key.endswith(".weight_v"):
            key = f"{key[: -len('.weight_v')]}.{WN_V}"
        out[key] = value
    return out


def ours_to_official(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Inverse of `official_to_ours`."""
    inverse_mel = {v: k for k, v in MEL_KEYS.items()}
    out = {}
    for key, value in state.items():
        if key in inverse_mel:
            key = inverse_mel[key]
        elif key.endswith(f".{WN_G}"):
            key = f"{key[: -len(WN_G) - 1]}.weight_g"
        elif key.endswith(f".{WN_V}"):
            key = f"{key[: -len(WN_V) - 1]}.weight_v"
        out[key] = value
    return out


def load_manifest() -> dict[str, Any]:
    """The committed manifest: {"tensors": {official name: {"shape": [...], "dtype": "float32"}}, ...}."""
    text = resources.files("tts_codec").joinpath("resources/bicodec/official_manifest.json").read_text()
    return json.loads(text)


def manifest_mismatches(state: dict[str, torch.Tensor], manifest: dict[str, Any] | None = None) -> list[str]:
    """Differences between an official-named state dict and the manifest (empty when they match exactly)."""
    tensors = (manifest or load_manifest())["tensors"]
    problems = [f"missing {k}" for k in tensors if k not in state]
    problems += [f"unexpected {k}" for k in state if k not in tensors]
    for key, spec in tensors.items():
        if key in state:
            shape, dtype = list(state[key].shape), str(state[key].dtype).replace("torch.", "")
            if shape != spec["shape"] or dtype != spec["dtype"]:
                problems.append(f"{key}: {shape} {dtype} != {spec['shape']} {spec['dtype']}")
    return problems


def _bicodec_dir(path: Path) -> Path:
    """The directory holding the official BiCodec config.yaml + model.safetensors (path itself or path/BiCodec)."""
    return path / "BiCodec" if (path / "BiCodec" / "config.yaml").is_file() else path


def is_official_dir(path: Path) -> bool:
    """True for an official `BiCodec/` dir or a Spark-TTS model root containing one."""
    config = _bicodec_dir(path) / "config.yaml"
    if not config.is_file():
        return False
    try:
        data = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError:
        return False
    return isinstance(data, dict) and "codec" not in data and ("audio_tokenizer" in data or "encoder" in data)


def official_config_to_ours(official: dict[str, Any], top_level: dict[str, Any] | None = None,
                            ssl_model_dir: str | None = None) -> dict[str, Any]:
    """Our full config from an official BiCodec config (`audio_tokenizer` mapping or its contents)."""
    tok = official.get("audio_tokenizer", official)
    missing = [s for s in SECTIONS if s not in tok]
    if missing:
        raise UserError(f"official config: section 'audio_tokenizer.{missing[0]}' is missing")
    top = {**(top_level or {}), **{k: official[k] for k in TOP_LEVEL_KEYS if k in official}}
    codec_conf = {
        "latent_hop_length": int(top.get("latent_hop_length", 320)),
        "ref_segment_duration": top.get("ref_segment_duration", 6),
        "volume_normalize": bool(top.get("volume_normalize", True)),
        "highpass_cutoff_freq": top.get("highpass_cutoff_freq", 40),
        "segment_duration": top.get("segment_duration", 2.4),
        "max_val_duration": top.get("max_val_duration", 12),
    }
    codec_conf.update({s: copy.deepcopy(dict(tok[s])) for s in SECTIONS})
    return {
        "codec": "bicodec",
        "sample_rate": int(top.get("sample_rate", tok["mel_params"].get("sample_rate", 16000))),
        "codec_conf": codec_conf,
        "ssl_conf": {"type": "wav2vec2", "model_dir": ssl_model_dir, "layers": [11, 14, 16]},
    }


def ours_config_to_official(cfg: dict[str, Any]) -> dict[str, Any]:
    """The official config.yaml mapping for our config; UserError if a setting has no official equivalent."""
    conf = cfg["codec_conf"]
    tok = {}
    for section in SECTIONS:
        values = dict(conf[section])
        extra = {k: v for k, v in values.items() if k not in OFFICIAL_KEYS[section]}
        for key, value in extra.items():
            default = _default_of(section, key)
            if value != default:
                raise UserError(f"config: codec_conf.{section}.{key} = {value!r} has no equivalent in the official "
                                f"BiCodec format (only the default {default!r} can be exported)")
        tok[section] = {k: v for k, v in values.items() if k in OFFICIAL_KEYS[section]}
    top = {k: conf[k] for k in TOP_LEVEL_KEYS if k in conf}
    top["sample_rate"] = cfg.get("sample_rate", 16000)
    return {**top, "audio_tokenizer": tok}


def _default_of(section: str, key: str) -> Any:
    """The dataclass default of one of our extra keys (a fresh sentinel when it has none)."""
    cls = {"speaker_encoder": bc.SpeakerEncoderConfig, "prenet": bc.FeatureDecoderConfig,
           "postnet": bc.FeatureDecoderConfig}.get(section)
    if cls is None:
        return object()  # no default: any value is non-exportable
    for field in dataclasses.fields(cls):
        if field.name == key:
            return field.default if field.default is not dataclasses.MISSING else field.default_factory()
    return object()


def load_official(path: Path) -> "BiCodec":  # noqa: F821
    """BiCodec from an official directory (the `BiCodec/` dir or the Spark-TTS-0.5B root); eval mode.

    The wav2vec2 dir is taken from the root's `wav2vec2-large-xlsr-53/` when present.
    """
    from tts_codec.codecs.bicodec.model import BiCodec

    bdir = _bicodec_dir(path)
    root = bdir.parent
    official = yaml.safe_load((bdir / "config.yaml").read_text(encoding="utf-8")) or {}
    top_file = root / "config.yaml"
    top = yaml.safe_load(top_file.read_text(encoding="utf-8")) if bdir != path and top_file.is_file() else {}
    ssl_dir = root / SSL_DIR_NAME
    cfg = official_config_to_ours(official, top or {}, str(ssl_dir) if ssl_dir.is_dir() else None)
    weights = bdir / "model.safetensors"
    if not weights.is_file():
        raise UserError(f"{bdir}: no model.safetensors")
    model = BiCodec(cfg)
    state = official_to_ours(read_weights(weights)[0])
    absent = [k for k in model.state_dict() if k not in state and k.endswith(OPTIONAL_SUFFIXES)]
    if absent:
        log.info("%s: %d derived buffers absent (kept as computed), e.g. %s", weights, len(absent), absent[0])
    load_state_dict_checked(model, state, str(weights), optional=OPTIONAL_SUFFIXES)
    return model.eval()


def export_official(model: "BiCodec", out_dir: Path) -> None:  # noqa: F821
    """Write `out_dir/config.yaml` (official layout) and `out_dir/model.safetensors` (official names)."""
    official_cfg = ours_config_to_official(model.config)
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / "model.safetensors") as tmp:
        save_safetensors(ours_to_official(canonical_state_dict(model)), tmp)
    with atomic_write(out_dir / "config.yaml") as handle:
        yaml.safe_dump(official_cfg, handle, sort_keys=False)
