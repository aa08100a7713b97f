"""A trained MARS6 directory: `config.yaml` (the resolved training config, which rebuilds the model),
`model.safetensors` (float, or int8 rows + scales in a dir packed with `--weights_dtype int8`) and the stage-4
tokenizer files; what stage 8 exports and inference loads."""
from __future__ import annotations

import shutil
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
    from tts_codec.codecs.bicodec.checkpoint import read_weights

    path = Path(path)
    if not (path / "config.yaml").is_file() or not (path / WEIGHTS).is_file():
        raise UserError(f"{path}: not a MARS6 model dir (needs config.yaml and {WEIGHTS}; stage 8 writes one)")
    config = load_config(path / "config.yaml")
    text = Mars6Text.load(path)
    model = Mars6(model_config(config, text))
    state = read_weights(path / WEIGHTS)[0]  # a truncated or corrupt file is refused by name
    if is_quantized(state):  # packed with --weights_dtype int8
        try:
            state = dequantize_state(state, str(path / WEIGHTS))
        except ValueError as err:
            raise UserError(str(err)) from None
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise UserError(f"{path / WEIGHTS}: does not fit config.yaml ({str(err).splitlines()[0]})") from None
    return model.eval(), text, config
