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


@pytest.mark.slow
def test_two_process_ddp_trains_and_resumes(tmp_path):
    """DDP over gloo on CPU through torchrun: the code path of N GPUs or N nodes."""
    import os
    import signal
    import subprocess
    import sys

    import torch

    train, codes = make_lm_corpus(tmp_path, "train", num_utts=12)
    tok = tmp_path / "tok"
    assert train_text_tokenizer.main(["--text", str(train), "--vocab_size", "300", "--output_dir", str(tok)]) == 0
    exp = tmp_path / "exp"
    config = tmp_path / "lm.yaml"  # small micro-batches, so that both processes get steps from 12 utterances
    config.write_text(f"base: {REPO / 'conf' / 'lm' / 'spark_tiny.yaml'}\ndata: {{max_tokens: 600}}\n")
    args = ["--config", str(config), "--train_data", str(train), "--codes_dir",
            str(codes), "--tokenizer_dir", str(tok), "--output_dir", str(exp), "--max_steps", "2"]

    def torchrun(argv):
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m",
               "tts_codec.bin.train_lm", *argv]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
        proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=400)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail("torchrun did not finish in 400 s")
        assert proc.returncode == 0, out[-3000:]
        return out

    assert "Starting with 2 processes" in torchrun(args)
    assert "resuming from" in torchrun(args[:-1] + ["3"])
    ckpt = torch.load(exp / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert ckpt["global_step"] == 3 and (exp / "model" / "model.safetensors").is_file()
