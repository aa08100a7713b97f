"""Stages 4 and 8 end to end through `main(argv)`: train the tokenizer on a data dir's text, train a tiny LM on
its tokens, get an official-layout LLM dir; reruns are up to date or resume."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tts_codec.bin import train_lm, train_text_tokenizer
from tts_codec.errors import UserError
from tts_codec.testing.spark_lm import make_lm_corpus

REPO = Path(__file__).resolve().parents[2]


def test_stage4_then_stage8(tmp_path, caplog):
    train, codes = make_lm_corpus(tmp_path, "train", num_utts=12)
    dev, _ = make_lm_corpus(tmp_path, "dev", num_utts=4, seed=1)
    tok = tmp_path / "token_list" / "spark_bpe"
    assert train_text_tokenizer.main(["--text", str(train), "--vocab_size", "300", "--output_dir", str(tok)]) == 0
    stamp = (tok / "tokenizer.json").stat().st_mtime_ns
    assert train_text_tokenizer.main(["--text", str(train), "--vocab_size", "300", "--output_dir", str(tok)]) == 0
    assert (tok / "tokenizer.json").stat().st_mtime_ns == stamp  # up to date: not rebuilt
    with pytest.raises(UserError, match="overwrite"):
        train_text_tokenizer.main(["--text", str(train), "--vocab_size", "320", "--output_dir", str(tok)])

    exp = tmp_path / "exp" / "lm"
    args = ["--config", str(REPO / "conf" / "lm" / "spark_tiny.yaml"), "--train_data", str(train),
            "--valid_data", str(dev), "--codes_dir", str(codes), "--tokenizer_dir", str(tok), "--output_dir", str(exp),
            "--max_steps", "2"]
    assert train_lm.main(args) == 0
    saved = yaml.safe_load((exp / "config.yaml").read_text())
    assert saved["tokenizer_dir"] == str(tok) and saved["trainer"]["max_steps"] == 2
    assert (exp / "checkpoints" / "last.ckpt").is_file()
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {p.name for p in (exp / "model").iterdir()}
    assert train_lm.main(args[:-1] + ["3"]) == 0  # resumes for one more step

    # fine-tuning an official LLM dir: its tokenizer and weights are the starting point
    exp2 = tmp_path / "exp" / "lm_ft"
    assert train_lm.main(args[:-6] + ["--init_llm_dir", str(exp / "model"), "--output_dir", str(exp2),
                                       "--max_steps", "1"]) == 0
    assert (exp2 / "model" / "model.safetensors").is_file()
