"""Test factories for the Spark-TTS LM: a Qwen2-style tokenizer grown the way the official release was, and an
official-layout `LLM/` directory with random weights (nothing is downloaded)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from tts_codec.lm.spark.vocab import spark_added_tokens

#: Qwen2.5's 22 control tokens (ids 151,643..151,664 in the real tokenizer); `<|im_end|>` is the EOS.
QWEN_SPECIAL_TOKENS = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>",
    "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>",
    "<|image_pad|>", "<|video_pad|>", "<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>",
    "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>",
)
QWEN_BPE_SIZE = 151_643
SAMPLE_TEXTS = (
    "The quick brown fox jumps over the lazy dog.",
    "Actions speak louder than words, and words carry far.",
    "She sells sea shells by the sea shore on a sunny day.",
    "Speech synthesis turns written text into spoken audio.",
)
#: A Qwen2 small enough to build and train in a second on one CPU core.
TINY_LM_CONF = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
                "num_key_value_heads": 2, "max_position_embeddings": 4096}


def qwen_style_tokenizer(texts=SAMPLE_TEXTS, full_size: bool = False, bpe_size: int = 400) -> Any:
    """A byte-level BPE with Qwen2.5's control tokens after it; `full_size` pads the BPE to Qwen's 151,643 entries
    (filler pieces without merges) so ids match the real tokenizer's layout (len 151,665)."""
    from tokenizers import AddedToken, Tokenizer, decoders, pre_tokenizers
    from tokenizers.models import BPE
    from tokenizers.trainers import BpeTrainer
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = BpeTrainer(vocab_size=bpe_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    backend.train_from_iterator(list(texts), trainer)
    if full_size:
        vocab = backend.get_vocab()
        merges = [tuple(m.split(" ")) for m in _merges(backend)]
        filler = (f"filler{i}" for i in range(QWEN_BPE_SIZE))
        while len(vocab) < QWEN_BPE_SIZE:
            vocab[next(filler)] = len(vocab)
        padded = Tokenizer(BPE(vocab, merges))
        padded.pre_tokenizer, padded.decoder = backend.pre_tokenizer, backend.decoder
        backend = padded
    backend.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in QWEN_SPECIAL_TOKENS])
    return PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<|im_end|>", pad_token="<|endoftext|>")


def _merges(backend: Any) -> list[str]:
    import json

    merges = json.loads(backend.to_str())["model"]["merges"]
    return [m if isinstance(m, str) else " ".join(m) for m in merges]


def official_style_tokenizer(full_size: bool = False) -> Any:
    """`qwen_style_tokenizer` grown with the Spark tokens exactly as the official expand step does (`add_tokens`
    with plain strings)."""
    tokenizer = qwen_style_tokenizer(full_size=full_size)
    tokenizer.add_tokens(spark_added_tokens())
    return tokenizer


def make_official_llm_dir(path: str | Path, lm_conf: dict | None = None, seed: int = 0,
                          full_size: bool = False) -> Path:
    """An official-layout `LLM/` dir: Qwen2-style tokenizer files + a random `Qwen2ForCausalLM` (safetensors)."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    path = Path(path)
    tokenizer = official_style_tokenizer(full_size=full_size)
    tokenizer.save_pretrained(str(path))
    conf = {**TINY_LM_CONF, **(lm_conf or {})}
    vocab_size = 166_000 if full_size else -(-len(tokenizer) // 64) * 64
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(Qwen2Config(vocab_size=vocab_size, tie_word_embeddings=True, rope_theta=1e6,
                                         eos_token_id=tokenizer.eos_token_id, bos_token_id=None, **conf))
    model.save_pretrained(str(path), safe_serialization=True)
    return path


def make_lm_corpus(root: str | Path, name: str = "train", num_utts: int = 12, seed: int = 0,
                   unknown_every: int = 4) -> tuple[Path, Path]:
    """A data dir `<root>/data/<name>` (utt2spk, text, the five stage-3 label files) and BiCodec-style tokens in
    `<root>/codes/<name>` (semantic (T,), global (1, 32)), without audio. Semantic codes follow the text's
    characters (two frames each) and globals the speaker, so a tiny LM can learn them. Every `unknown_every`-th
    utterance has gender `unknown` (it yields no control example).

    Returns:
        (data dir, codes root) — pass the codes root as `--codes_dir`.
    """
    from tts_codec.attributes import GENDERS, LEVELS
    from tts_codec.data.table import write_table
    from tts_codec.data.token_file import CodesInfo, StreamInfo, TokenWriter

    root = Path(root)
    data, codes = root / "data" / name, root / "codes" / name
    data.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    info = CodesInfo(codec="bicodec", sample_rate=16000, hop_length=320, config_hash="test",
                     streams={"semantic": StreamInfo((-1,), 8192), "global": StreamInfo((1, 32), 4096)})
    tables: dict[str, dict[str, str]] = {k: {} for k in ("utt2spk", "text", "utt2gender", "utt2pitch", "utt2speed",
                                                          "utt2pitch_value", "utt2speed_value")}
    with TokenWriter(codes, info, overwrite=True) as writer:
        for i in range(num_utts):
            spk = f"spk{i % 3}"
            utt = f"{spk}_utt{i:03d}"
            text = SAMPLE_TEXTS[i % len(SAMPLE_TEXTS)]
            chars = np.array([ord(c) for c in text.lower()], dtype=np.int64)
            semantic = np.repeat((chars * 37 + i % 3) % 8192, 2)
            globals_ = ((np.arange(32) * 97 + 1000 * (i % 3)) % 4096).reshape(1, 32)
            writer.add(utt, {"semantic": semantic, "global": globals_})
            gender = "unknown" if unknown_every and i % unknown_every == unknown_every - 1 else GENDERS[i % 3 % 2]
            tables["utt2spk"][utt], tables["text"][utt], tables["utt2gender"][utt] = spk, text, gender
            tables["utt2pitch"][utt] = LEVELS[int(rng.integers(5))]
            tables["utt2speed"][utt] = LEVELS[int(rng.integers(5))]
            tables["utt2pitch_value"][utt] = str(int(rng.integers(150, 350)))
            tables["utt2speed_value"][utt] = str(int(rng.integers(2, 7)))
    for file, table in tables.items():
        write_table(data / file, table)
    return data, root / "codes"


def make_spark_tokenizer(out_dir: str | Path, vocab_size: int = 320) -> Path:
    """Our Spark tokenizer (sentencepiece BPE on SAMPLE_TEXTS + the Spark tokens) saved in `out_dir`."""
    from tts_codec.lm.spark.tokenizer import train_spark_tokenizer

    train_spark_tokenizer(list(SAMPLE_TEXTS) * 4, vocab_size, out_dir)
    return Path(out_dir)
