"""Codec training as a SLURM job: the sbatch script (no srun) must train with Lightning's own launcher."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from lightning.fabric.plugins.environments import LightningEnvironment

from tts_codec.testing.datadirs import make_data_dir
from tts_codec.train.trainer import cluster_environment

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("env, expected", [
    ({}, None),                                                    # workstation / torchrun: Lightning detects
    ({"SLURM_NTASKS": "1", "SLURM_JOB_NAME": "train.sh"}, LightningEnvironment),  # an sbatch script
    ({"SLURM_NTASKS": "8", "SLURM_STEP_ID": "0", "SLURM_JOB_NAME": "x"}, None),   # srun tasks: SLURMEnvironment
])
def test_cluster_environment(monkeypatch, env, expected):
    for name in ("SLURM_NTASKS", "SLURM_STEP_ID", "SLURM_JOB_NAME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    found = cluster_environment()
    assert (found is None) if expected is None else isinstance(found, expected)


@pytest.mark.slow
def test_train_codec_through_the_slurm_backend(tmp_path, slurm_cluster, job_tools):
    train = make_data_dir(tmp_path, "train", num_speakers=2, utts_per_speaker=2, duration=2.0)
    exp = tmp_path / "exp"
    proc = job_tools.run("slurm.sh", str(tmp_path / "train.log"), sys.executable, "-m", "tts_codec.bin.train_codec",
                         "--config", str(REPO / "conf" / "train" / "bicodec_tiny.yaml"), "--train_data", str(train),
                         "--output_dir", str(exp), "--max_steps", "2", cwd=tmp_path,
                         env={"OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}, timeout=300)
    log = (tmp_path / "train.log").read_text() if (tmp_path / "train.log").exists() else ""
    assert proc.returncode == 0, proc.stderr + log[-3000:]
    assert (exp / "checkpoints" / "last.ckpt").is_file() and (exp / "model").is_dir()
