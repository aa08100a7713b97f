"""A trained MARS6 directory: `config.yaml` (the resolved training config, which rebuilds the model),
`model.safetensors` (float, or int8 rows + scales in a dir packed with `--weights_dtype int8`) and the stage-4
tokenizer files; what stage 8 exports and inference loads."""
from __future__ import annotations

import filecmp
import shutil
from dataclasses import fields
from pathlib import Path
from typing import Any

from tts_codec.atomic import replace_dir
from tts_codec.config import load_config, save_config
from tts_codec.errors import UserError
from tts_codec.lm.mars6.config import Mars6Config
from tts_codec.lm.mars6.model import Mars6
from tts_codec.lm.mars6.text import Mars6Text
from tts_codec.lm.text_frontend import FRONTEND_FILE
from tts_codec.nn.int8_storage import dequantize_state, is_quantized

WEIGHTS = "model.safetensors"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "bpe.model", FRONTEND_FILE)
#: lm_conf keys that act in training only: a run fine-tuning a model dir may set its own
TRAINING_ONLY_KEYS = ("cond_dropout", "dropout")


def model_config(config: dict[str, Any], text: Mars6Text) -> Mars6Config:
    """The `lm_conf` of a run, `text_vocab: null` sized to the tokenizer; a too small vocabulary fails."""
    if config.get("lm", "mars6") != "mars6":
        raise UserError(f"config lm: {config.get('lm')!r}; this loader builds lm: mars6")
    conf = dict(config.get("lm_conf") or {})
    if conf.get("text_vocab") is None:
        conf["text_vocab"] = len(text)
    cfg = Mars6Config.from_dict(conf)
    if cfg.text_vocab < len(text):
        raise UserError(f"lm_conf.text_vocab {cfg.text_vocab} < {len(text)} tokenizer ids")
    return cfg


def save_model_dir(model: Mars6, config: dict[str, Any], tokenizer_dir: str | Path, out_dir: str | Path) -> None:
    """Write (or replace) a model dir."""
    from tts_codec.data.safetensors_file import save_safetensors

    with replace_dir(out_dir, inputs=[tokenizer_dir], overwrite=True, what="MARS6 model dir") as tmp:
        save_config({**config, "lm_conf": {**(config.get("lm_conf") or {}), "text_vocab": model.cfg.text_vocab,
                                           "levels": list(model.cfg.levels)}}, tmp / "config.yaml")
        save_safetensors({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, tmp / WEIGHTS)
        for name in TOKENIZER_FILES:
            if (Path(tokenizer_dir) / name).is_file():
                shutil.copy2(Path(tokenizer_dir) / name, tmp / name)


def load_model_dir(path: str | Path) -> tuple[Mars6, Mars6Text, dict[str, Any]]:
    """(model in eval mode, text front-end, config) of a model dir."""
    path = Path(path)
    config = _dir_config(path, "")
    text = Mars6Text.load(path)
    model = Mars6(model_config(config, text))
    load_weights(model, path)
    return model.eval(), text, config


def load_weights(model: Mars6, path: str | Path) -> None:
    """Load the weights of the model dir `path` into `model`: float, or int8 rows (`pack_model --weights_dtype
    int8`) dequantized to float; a corrupt file or weights of another shape are refused by file name."""
    from tts_codec.codecs.bicodec.checkpoint import read_weights

    weights = Path(path) / WEIGHTS
    state = read_weights(weights)[0]  # a truncated or corrupt file is refused by name
    if is_quantized(state):
        try:
            state = dequantize_state(state, str(weights))
        except ValueError as err:
            raise UserError(str(err)) from None
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise UserError(f"{weights}: does not fit config.yaml ({str(err).splitlines()[0]})") from None


def fine_tuning_config(config: dict[str, Any], init_dir: str | Path, key: str = "init_llm_dir") -> dict[str, Any]:
    """`config` set up to fine-tune the MARS6 model dir `init_dir` (named `key` in messages): the dir's tokenizer
    and architecture. An lm_conf value the run sets must equal the dir's, except the training-only ones
    (`TRAINING_ONLY_KEYS`); a tokenizer_dir the run sets must hold the dir's tokenizer files."""
    init = Path(init_dir)
    base = _dir_config(init, f"{key} ")
    own = {k: v for k, v in (config.get("lm_conf") or {}).items() if v is not None}
    merged = {**(base.get("lm_conf") or {}), **own}
    model_cfg, run_cfg = Mars6Config.from_dict(base.get("lm_conf") or {}), Mars6Config.from_dict(merged)
    clash = [f.name for f in fields(Mars6Config)
             if f.name not in TRAINING_ONLY_KEYS and getattr(model_cfg, f.name) != getattr(run_cfg, f.name)]
    if clash:
        raise UserError(f"{key} {init}: the config's lm_conf differs from the model's in "
                        + ", ".join(f"{k} ({getattr(run_cfg, k)} against {getattr(model_cfg, k)})" for k in clash)
                        + f"; fine-tuning keeps the model's architecture (only {', '.join(TRAINING_ONLY_KEYS)} may "
                          "change)")
    tokenizer = config.get("tokenizer_dir")
    if tokenizer and Path(tokenizer).resolve() != init.resolve():
        for name in TOKENIZER_FILES:
            ours, theirs = Path(tokenizer) / name, init / name
            if ours.is_file() != theirs.is_file() or (ours.is_file() and not filecmp.cmp(ours, theirs, shallow=False)):
                raise UserError(f"tokenizer_dir {tokenizer}: its {name} is not that of {key} {init}; the model reads "
                                "its own tokenizer's ids (leave tokenizer_dir unset to use the model's)")
    return {**config, "lm_conf": merged, "tokenizer_dir": str(init)}


def _dir_config(path: Path, what: str) -> dict[str, Any]:
    """The config.yaml of the model dir `path` (`what` prefixes the error: e.g. the option that named it)."""
    if not (path / "config.yaml").is_file() or not (path / WEIGHTS).is_file():
        raise UserError(f"{what}{path}: not a MARS6 model dir (needs config.yaml and {WEIGHTS}; stage 8 writes one "
                        "in exp/lm_<tag>/model, pack_model in <name>/lm)")
    config = load_config(path / "config.yaml")
    if config.get("lm", "mars6") != "mars6":
        raise UserError(f"{what}{path}: a model dir of lm: {config.get('lm')}, not mars6")
    return config
