"""Our BiCodec directory format: config.yaml (the full resolved config) + model.safetensors (weight norm as g, v)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file

from tts_codec.atomic import atomic_path
from tts_codec.config import load_config, save_config
from tts_codec.data.safetensors_file import save_safetensors
from tts_codec.errors import UserError
from tts_codec.nn.weight_norm import weight_to_g_v

if TYPE_CHECKING:
    from tts_codec.codecs.bicodec.model import BiCodec

FORMAT, VERSION = "tts_codec.bicodec", "1"
WN_G, WN_V = "parametrizations.weight.original0", "parametrizations.weight.original1"


def canonical_state_dict(model: "BiCodec") -> dict[str, torch.Tensor]:
    """CPU state dict with every weight-normed conv as (g, v), also after `remove_weight_norm()`."""
    state = {k: v.detach() for k, v in model.state_dict().items()}
    for name in model.weight_norm_modules:
        weight = state.pop(f"{name}.weight", None)
        if weight is not None:  # folded by remove_weight_norm: split back exactly (g = ||w||, v = w)
            state[f"{name}.{WN_G}"], state[f"{name}.{WN_V}"] = weight_to_g_v(weight)
    return {k: v.cpu().contiguous() for k, v in state.items()}


def save_pretrained(model: "BiCodec", model_dir: Path) -> None:
    """Write model.safetensors then config.yaml, each atomically."""
    model_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(model_dir / "model.safetensors") as tmp:
        save_safetensors(canonical_state_dict(model), tmp, metadata={"format": FORMAT, "version": VERSION})
    save_config(model.config, model_dir / "config.yaml")


def read_weights(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """(tensors, metadata) of a safetensors file; a truncated or corrupt file is a UserError naming it."""
    try:
        with safe_open(str(path), "pt") as handle:
            meta = handle.metadata() or {}
        return load_file(str(path)), meta
    except (SafetensorError, OSError, ValueError) as err:
        raise UserError(f"{path}: not a readable safetensors file ({err}); it may be truncated or corrupt: "
                        "copy or export it again") from None


def load_state_dict_checked(model: torch.nn.Module, state: dict[str, torch.Tensor], where: str,
                            optional: tuple[str, ...] = ()) -> None:
    """Strict load that names missing, unexpected and mis-shaped tensors; keys ending in `optional` may be absent."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state and not k.endswith(optional)]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        raise UserError(f"{where}: tensors do not match the config: missing {missing[:5]}"
                        f"{' ...' if len(missing) > 5 else ''}, unexpected {unexpected[:5]}"
                        f"{' ...' if len(unexpected) > 5 else ''}")
    for key, value in state.items():
        if value.shape != expected[key].shape:
            raise UserError(f"{where}: tensor {key} has shape {tuple(value.shape)}, the config needs "
                            f"{tuple(expected[key].shape)}")
    broken = [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if broken:
        raise UserError(f"{where}: {len(broken)} tensors hold NaN or infinite values (e.g. {broken[0]}); these "
                        "weights are broken (a diverged training run?)")
    model.load_state_dict(state, strict=False)


def load_pretrained(model_dir: Path) -> "BiCodec":
    """Load our format, or hand an official Spark-TTS directory to `official.load_official`; eval mode."""
    from tts_codec.codecs.bicodec import official
    from tts_codec.codecs.bicodec.model import BiCodec

    if not model_dir.is_dir():
        raise UserError(f"model directory {model_dir} does not exist")
    if official.is_official_dir(model_dir):
        return official.load_official(model_dir)
    weights = model_dir / "model.safetensors"
    if not weights.is_file():
        raise UserError(f"{model_dir}: no model.safetensors (expected config.yaml + model.safetensors)")
    cfg = load_config(model_dir / "config.yaml")
    if cfg.get("codec") != "bicodec":
        raise UserError(f"{model_dir / 'config.yaml'}: 'codec' is {cfg.get('codec')!r}, expected 'bicodec'")
    state, meta = read_weights(weights)
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise UserError(f"{weights}: format {meta.get('format')!r} version {meta.get('version')!r}, expected "
                        f"{FORMAT!r} version {VERSION!r}")
    model = BiCodec(cfg)
    load_state_dict_checked(model, state, str(weights))
    return model.eval()
