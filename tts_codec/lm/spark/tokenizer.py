"""Stage 4 for Spark-TTS: a text tokenizer with the Spark tokens, either trained here or taken unchanged from an
official `LLM/` directory; both end up as a transformers tokenizer directory that `SparkVocab` accepts."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Iterable

from tts_codec.atomic import replace_dir
from tts_codec.lm.spark.vocab import BASE_SPECIAL_TOKENS, SparkVocab, grow_tokenizer, load_spark_vocab
from tts_codec.lm.text_frontend import FRONTEND_FILE, TextFrontend, save_text_frontend
from tts_codec.lm.text_tokenizer import SPM_FILE, fast_tokenizer_from_spm, load_tokenizer, save_tokenizer, \
    train_sentencepiece

#: Files of a transformers tokenizer directory (whichever exist are copied from an official LLM dir).
TOKENIZER_FILE_NAMES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
                        "vocab.json", "merges.txt", "chat_template.jinja", SPM_FILE, FRONTEND_FILE)


def train_spark_tokenizer(texts: Iterable[str], vocab_size: int, out_dir: str | Path, overwrite: bool = False,
                          inputs: Iterable[str | Path] = (), frontend: TextFrontend | None = None) -> Any:
    """Train the BPE on `texts` (after `frontend`), add the Qwen control tokens and the 13,493 Spark tokens, save to
    `out_dir` with the front end's `text_frontend.json`.

    Ids: BPE pieces, then `<|endoftext|>` (pad), `<|im_start|>`, `<|im_end|>` (EOS), then the Spark groups in
    official order. Returns the tokenizer.
    """
    frontend = frontend or TextFrontend()
    model = train_sentencepiece([frontend(t) for t in texts], vocab_size)
    with replace_dir(out_dir, inputs=inputs, overwrite=overwrite, what="tokenizer dir") as tmp:
        (tmp / SPM_FILE).write_bytes(model)
        tokenizer = fast_tokenizer_from_spm(tmp / SPM_FILE, BASE_SPECIAL_TOKENS)
        grow_tokenizer(tokenizer)
        save_tokenizer(tokenizer, tmp)
        save_text_frontend(frontend, tmp)
        load_spark_vocab(tmp)  # what stage 8 will load must pass the checks
    return tokenizer


def copy_pretrained_tokenizer(llm_dir: str | Path, out_dir: str | Path, overwrite: bool = False) -> Any:
    """Register an official `LLM/` tokenizer: check it is a Spark tokenizer, copy its files byte for byte."""
    llm_dir = Path(llm_dir)
    tokenizer = load_tokenizer(llm_dir)
    SparkVocab(tokenizer)
    with replace_dir(out_dir, inputs=[llm_dir], overwrite=overwrite, what="tokenizer dir") as tmp:
        for name in TOKENIZER_FILE_NAMES:
            if (llm_dir / name).is_file():
                shutil.copy2(llm_dir / name, tmp / name)
        load_spark_vocab(tmp)
    return tokenizer
