"""tools/parity/bicodec.py: argument errors and the torchaudio stand-in without the official code; the comparison
itself with a Spark-TTS checkout named by $TTS_CODEC_OFFICIAL_SPARK."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tts_codec.benchmark import official_bicodec
from tts_codec.benchmark.official_bicodec import StandInMelSpectrogram
from tts_codec.errors import UserError
from tts_codec.nn.mel import MelSpectrogram

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tools/parity/bicodec.py"
SMALL = ROOT / "tools/parity/bicodec_small.yaml"
OFFICIAL_ENV = "TTS_CODEC_OFFICIAL_SPARK"


def load_script():
    spec = importlib.util.spec_from_file_location("parity_bicodec", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_script(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *argv], capture_output=True, text=True, check=False)


def fake_checkout(tmp_path: Path) -> Path:
    (tmp_path / "sparktts/models").mkdir(parents=True)
    (tmp_path / "sparktts/models/bicodec.py").write_text("raise AssertionError('must not be imported')\n")
    return tmp_path


def test_a_directory_without_the_official_code_is_one_line_and_exit_2(tmp_path):
    proc = run_script("--official_repo", str(tmp_path))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        f"bicodec.py: error: --official_repo {tmp_path}: not a Spark-TTS checkout (no sparktts/models/bicodec.py); "
        "git clone https://github.com/SparkAudio/Spark-TTS and pass its directory"]


@pytest.mark.parametrize("argv, message", [
    ([], "the following arguments are required: --official_repo"),
    (["--official_repo", ".", "--runs", "0"], "--runs"),
    (["--official_repo", ".", "--variants", "fp16"], "invalid choice: 'fp16'"),
])
def test_argument_errors(argv, message):
    proc = run_script(*argv)
    assert proc.returncode == 2 and message in proc.stderr


@pytest.fixture
def installed_requirements(monkeypatch):
    """Only requirements every tts_codec install has, so the tests do not depend on omegaconf/einx being there."""
    monkeypatch.setattr(official_bicodec, "REQUIREMENTS", {"tqdm": "tqdm", "safetensors": "safetensors"})


def test_bad_numbers_and_config_are_user_errors(tmp_path, installed_requirements):
    script, repo = load_script(), str(fake_checkout(tmp_path))
    with pytest.raises(UserError, match="--config .*missing.yaml: no such file"):
        script.main(["--official_repo", repo, "--config", str(tmp_path / "missing.yaml")])
    with pytest.raises(UserError, match="--seconds must be > 0"):
        script.main(["--official_repo", repo, "--config", str(SMALL), "--seconds", "0"])


def test_missing_official_requirements_are_named(tmp_path, monkeypatch, installed_requirements):
    monkeypatch.setitem(official_bicodec.REQUIREMENTS, "no_such_module_xyz", "no-such-module-xyz")
    with pytest.raises(UserError, match=r"imports no-such-module-xyz: pip install no-such-module-xyz \(for this "
                                        r"comparison only; not a tts_codec dependency\)"):
        load_script().main(["--official_repo", str(fake_checkout(tmp_path)), "--config", str(SMALL)])


def test_standin_computes_our_mel_under_torchaudios_buffer_names():
    args = dict(sample_rate=16000, n_fft=1024, win_length=640, hop_length=320, f_min=10, f_max=None)
    standin = StandInMelSpectrogram(*args.values(), n_mels=128, power=1, norm="slaney", mel_scale="slaney")
    ours = MelSpectrogram(*args.values(), n_mels=128, power=1.0)
    assert set(standin.state_dict()) == {"spectrogram.window", "mel_scale.fb"}
    wav = 0.1 * torch.randn(2, 16000, generator=torch.Generator().manual_seed(0))
    out = standin(wav)
    assert out.shape == (2, 128, 16000 // 320 + 1)
    torch.testing.assert_close(out, ours(wav), rtol=0, atol=0)
    # the loaded buffers are the ones used: a zero filterbank gives a zero spectrogram
    zeros = torch.zeros_like(standin.filterbank)
    standin.load_state_dict({"spectrogram.window": standin.window, "mel_scale.fb": zeros})
    assert standin(wav).abs().max() == 0


def test_standin_refuses_settings_it_does_not_compute():
    with pytest.raises(NotImplementedError, match=r"MelSpectrogram\(norm=None\)"):
        StandInMelSpectrogram(16000, 1024, 640, 320, n_mels=128, power=1, mel_scale="slaney")
    with pytest.raises(NotImplementedError, match=r"mel_scale='htk'"):
        StandInMelSpectrogram(16000, 1024, 640, 320, n_mels=128, norm="slaney")


def test_standin_is_importable_as_torchaudio_transforms():
    code = ("import sys; from tts_codec.benchmark.official_bicodec import install_torchaudio_standin as i; i(); "
            "import torchaudio.transforms as TT; print(TT.MelSpectrogram.__name__, sys.modules['torchaudio'].__doc__)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "StandInMelSpectrogram tts_codec stand-in: transforms.MelSpectrogram only"


def test_parity_against_the_official_checkout(tmp_path):
    repo = os.environ.get(OFFICIAL_ENV)
    if not repo:
        pytest.skip(f"{OFFICIAL_ENV} not set (path of a SparkAudio/Spark-TTS checkout, with omegaconf and einx)")
    out = tmp_path / "parity"
    assert load_script().main(["--official_repo", repo, "--config", str(SMALL), "--seconds", "1", "--runs", "1",
                               "--threads", "1", "--variants", "fp32", "bf16_fast", "--out", str(out)]) == 0
    report = json.loads(out.with_suffix(".json").read_text())
    tokens = report["tokens"]
    assert tokens["semantic_equal"] == tokens["semantic_total"] == 49 and tokens["global_equal"] == 32
    rows = {r["name"]: r for r in report["decode"]}
    assert set(rows) == {"official", "ours fp32", "ours bf16_fast"}
    assert rows["ours fp32"]["max_abs_diff"] <= 1e-4 < rows["ours bf16_fast"]["max_abs_diff"] < 0.1
    assert "| ours fp32 |" in out.with_suffix(".md").read_text()
