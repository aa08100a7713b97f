"""The Spark-TTS LM: a decoder-only Qwen2 (transformers `Qwen2ForCausalLM`) built from `lm_conf`, loaded from and
exported to the layout of an official Spark-TTS `LLM/` directory (config.json, model.safetensors, tokenizer files),
which the official inference code opens with `AutoModelForCausalLM.from_pretrained` / `AutoTokenizer`.

Defaults are the Qwen2.5-0.5B shape (24 layers, hidden 896, 14 heads / 2 KV heads, FFN 4864, tied embeddings,
RoPE base 1e6); `vocab_size: null` sizes the embeddings to the tokenizer rounded up to `pad_vocab_to`.
"""
from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import torch

from tts_codec.atomic import replace_dir
from tts_codec.errors import UserError
from tts_codec.lm.spark.tokenizer import TOKENIZER_FILE_NAMES
from tts_codec.lm.spark.vocab import SparkVocab, load_spark_vocab

log = logging.getLogger(__name__)

QWEN2_0_5B = {
    "hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24, "num_attention_heads": 14,
    "num_key_value_heads": 2, "max_position_embeddings": 32768, "rope_theta": 1_000_000.0, "rms_norm_eps": 1e-6,
    "tie_word_embeddings": True, "hidden_act": "silu", "attention_dropout": 0.0, "initializer_range": 0.02,
}
LM_KEYS = set(QWEN2_0_5B) | {"vocab_size", "pad_vocab_to", "attn_implementation"}
OFFICIAL_VOCAB_SIZE = 166_000


def lm_settings(config: dict[str, Any]) -> dict[str, Any]:
    """`lm_conf` over the Qwen2.5-0.5B defaults; `lm:` must be `spark`; unknown keys fail by name."""
    if config.get("lm") != "spark":
        raise UserError(f"config lm: {config.get('lm')!r}; this model is `lm: spark`")
    conf = dict(config.get("lm_conf") or {})
    unknown = sorted(set(conf) - LM_KEYS)
    if unknown:
        raise UserError(f"config lm_conf: unknown key(s) {unknown}; known: {sorted(LM_KEYS)}")
    return {**QWEN2_0_5B, "vocab_size": None, "pad_vocab_to": 64, "attn_implementation": "sdpa", **conf}


def model_vocab_size(conf: dict[str, Any], num_tokens: int) -> int:
    """Embedding rows: `vocab_size`, or the tokenizer size rounded up to `pad_vocab_to`; never below the tokenizer."""
    size = conf.get("vocab_size")
    if size is None:
        step = max(1, int(conf.get("pad_vocab_to") or 1))
        size = -(-num_tokens // step) * step
    if int(size) < num_tokens:
        raise UserError(f"config lm_conf.vocab_size {size} is smaller than the tokenizer ({num_tokens} tokens)")
    return int(size)


def qwen2_config(config: dict[str, Any], vocab: SparkVocab):
    """The transformers `Qwen2Config` of a training config and a vocabulary."""
    from transformers import Qwen2Config

    conf = lm_settings(config)
    extra = {k: conf[k] for k in QWEN2_0_5B}
    qwen = Qwen2Config(vocab_size=model_vocab_size(conf, len(vocab)), bos_token_id=None, eos_token_id=vocab.eos_id,
                       pad_token_id=vocab.pad_id, use_sliding_window=False, **extra)
    qwen._attn_implementation = conf["attn_implementation"]
    return qwen


def build_lm(config: dict[str, Any], vocab: SparkVocab) -> torch.nn.Module:
    """A randomly initialised `Qwen2ForCausalLM` for `config` (use `torch.device("meta")` to only count)."""
    from transformers import Qwen2ForCausalLM

    return Qwen2ForCausalLM(qwen2_config(config, vocab))


def load_llm_dir(llm_dir: str | Path, dtype: torch.dtype | None = None):
    """Model and tokenizer of a local official-layout `LLM/` directory (Spark-TTS release or our export).

    Returns:
        (model in eval mode, SparkVocab)
    """
    from transformers import AutoModelForCausalLM

    llm_dir = Path(llm_dir)
    if not (llm_dir / "config.json").is_file():
        raise UserError(f"{llm_dir}: no config.json; not an LLM directory")
    vocab = load_spark_vocab(llm_dir)
    try:
        model = AutoModelForCausalLM.from_pretrained(str(llm_dir), local_files_only=True, dtype=dtype)
    except (OSError, ValueError, json.JSONDecodeError) as err:
        raise UserError(f"{llm_dir}: cannot load the model ({type(err).__name__}: {err})") from None
    rows = model.get_input_embeddings().weight.shape[0]
    if rows < len(vocab):
        raise UserError(f"{llm_dir}: the model has {rows} embeddings for a {len(vocab)}-token tokenizer")
    return model.eval(), vocab


def export_llm_dir(model: torch.nn.Module, tokenizer_dir: str | Path, out_dir: str | Path,
                   overwrite: bool = False) -> None:
    """Write `out_dir` in the official `LLM/` layout: config.json, model.safetensors and the tokenizer files.

    config.json also gets the transformers-4.x spellings (`rope_theta`, `torch_dtype`) that the official code's
    pinned transformers 4.46 reads; transformers 5 reads the same file unchanged.
    """
    tokenizer_dir = Path(tokenizer_dir)
    with replace_dir(out_dir, inputs=[tokenizer_dir], overwrite=overwrite, what="LLM dir") as tmp:
        model.save_pretrained(str(tmp), safe_serialization=True)
        for name in TOKENIZER_FILE_NAMES:
            if (tokenizer_dir / name).is_file():
                shutil.copy2(tokenizer_dir / name, tmp / name)
        add_legacy_config_keys(tmp / "config.json")


def add_legacy_config_keys(path: Path) -> None:
    """Add the transformers-4.x names of the RoPE base and dtype to a config.json written by transformers 5."""
    config = json.loads(path.read_text(encoding="utf-8"))
    rope = config.get("rope_parameters") or {}
    if "rope_theta" not in config and "rope_theta" in rope:
        config["rope_theta"] = rope["rope_theta"]
    if "torch_dtype" not in config and "dtype" in config:
        config["torch_dtype"] = config["dtype"]
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def count_parameters(model: torch.nn.Module) -> int:
    """Distinct parameters (tied embeddings counted once)."""
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
