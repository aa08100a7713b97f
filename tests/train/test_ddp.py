"""Multi-process training (DDP over gloo on CPU) through torchrun: the same code path as N GPUs or N nodes."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
TINY_CONFIG = REPO / "conf" / "train" / "bicodec_tiny.yaml"


def _torchrun(args, cwd, timeout=300):
    """Run train_codec under torchrun (2 local processes) in its own process group, killed as a whole on timeout."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "tts_codec.bin.train_codec", *args]
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"torchrun did not finish in {timeout} s:\n{out[-3000:]}")
    return proc.returncode, out


@pytest.mark.slow
def test_two_process_ddp_trains_and_resumes(tmp_path, corpus):
    train, _ = corpus
    exp = tmp_path / "exp"
    args = ["--config", str(TINY_CONFIG), "--train_data", str(train), "--output_dir", str(exp), "--max_steps", "2"]
    code, out = _torchrun(args, tmp_path)
    assert code == 0, out[-3000:]
    assert "Starting with 2 processes" in out
    code, out = _torchrun(args[:-1] + ["3"], tmp_path)  # resume for one more batch
    assert code == 0, out[-3000:]
    assert "resuming from" in out
    ckpt = torch.load(exp / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert ckpt["global_step"] == 6
    assert (exp / "model" / "model.safetensors").is_file() and (exp / "config.yaml").is_file()
