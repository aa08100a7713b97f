"""The official Spark-TTS BiCodec, imported from a checkout the user supplies, holding the weights of one of ours.

Nothing of the official code is shipped, vendored or downloaded: `import_official` puts the user's checkout on
sys.path. That code imports torchaudio for a single class, `torchaudio.transforms.MelSpectrogram`, and torchaudio
does not load beside torch 2.13; a stand-in module supplies the class, computed by `tts_codec.nn.mel` (torch.stft
and librosa's slaney filterbank, the features torchaudio computes) under torchaudio's buffer names, so the
official state dict loads unchanged. Its other imports must be installed (`missing_requirements` names them).
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import sys
import tempfile
import types
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tts_codec.codecs.bicodec.official import export_official
from tts_codec.errors import UserError
from tts_codec.nn.mel import MelSpectrogram

REPO_URL = "https://github.com/SparkAudio/Spark-TTS"
ENTRY = "sparktts/models/bicodec.py"
#: import name -> pip name of what the official BiCodec code imports besides torch and numpy
REQUIREMENTS = {"omegaconf": "omegaconf", "einx": "einx", "einops": "einops", "safetensors": "safetensors",
                "tqdm": "tqdm", "packaging": "packaging"}


class StandInMelSpectrogram(MelSpectrogram):
    """`torchaudio.transforms.MelSpectrogram` for the arguments the official BiCodec passes (slaney norm and scale,
    Hann window, reflect padding); the buffers live at torchaudio's names `spectrogram.window` and `mel_scale.fb`.
    Other settings raise NotImplementedError rather than compute something else."""

    def __init__(self, sample_rate: int = 16000, n_fft: int = 400, win_length: int | None = None,
                 hop_length: int | None = None, f_min: float = 0.0, f_max: float | None = None, pad: int = 0,
                 n_mels: int = 128, window_fn=torch.hann_window, power: float = 2.0, normalized: bool = False,
                 wkwargs: dict | None = None, center: bool = True, pad_mode: str = "reflect",
                 onesided: bool | None = None, norm: str | None = None, mel_scale: str = "htk"):
        given = {"pad": pad, "window_fn": window_fn, "normalized": normalized, "wkwargs": wkwargs,
                 "pad_mode": pad_mode, "onesided": onesided, "norm": norm, "mel_scale": mel_scale}
        supported = {"pad": (0,), "window_fn": (torch.hann_window,), "normalized": (False,), "wkwargs": (None,),
                     "pad_mode": ("reflect",), "onesided": (None, True), "norm": ("slaney",), "mel_scale": ("slaney",)}
        for key, value in given.items():
            if value not in supported[key]:
                raise NotImplementedError(f"torchaudio stand-in: MelSpectrogram({key}={value!r}) is not supported")
        win_length = win_length or n_fft
        super().__init__(sample_rate, n_fft, win_length, hop_length or win_length // 2, f_min, f_max, n_mels,
                         power=power, center=center)
        window, filterbank = self._buffers.pop("window"), self._buffers.pop("filterbank")
        self.spectrogram = nn.Module()
        self.spectrogram.register_buffer("window", window)
        self.mel_scale = nn.Module()
        self.mel_scale.register_buffer("fb", filterbank)

    @property
    def window(self) -> torch.Tensor:
        return self.spectrogram.window

    @property
    def filterbank(self) -> torch.Tensor:
        return self.mel_scale.fb


def install_torchaudio_standin() -> types.ModuleType:
    """Register the stand-in as `torchaudio` / `torchaudio.transforms` unless a torchaudio is already imported."""
    if "torchaudio" in sys.modules:
        return sys.modules["torchaudio"]
    module = types.ModuleType("torchaudio", "tts_codec stand-in: transforms.MelSpectrogram only")
    transforms = types.ModuleType("torchaudio.transforms")
    transforms.MelSpectrogram = StandInMelSpectrogram
    module.transforms = transforms
    sys.modules["torchaudio"], sys.modules["torchaudio.transforms"] = module, transforms
    return module


def missing_requirements() -> list[str]:
    """pip names of the official code's imports that are not installed here."""
    return [pip for name, pip in REQUIREMENTS.items() if importlib.util.find_spec(name) is None]


def check_repo(repo: str | Path) -> Path:
    """The resolved checkout path; UserError naming --official_repo unless it holds the official BiCodec code."""
    path = Path(repo).expanduser().resolve()
    if not (path / ENTRY).is_file():
        raise UserError(f"--official_repo {repo}: not a Spark-TTS checkout (no {ENTRY}); "
                        f"git clone {REPO_URL} and pass its directory")
    return path


def import_official(repo: str | Path) -> types.ModuleType:
    """The official `sparktts.models.bicodec` module of the checkout `repo` (see the module docstring)."""
    path = check_repo(repo)
    missing = missing_requirements()
    if missing:
        raise UserError(f"the official Spark-TTS code imports {', '.join(missing)}: pip install {' '.join(missing)} "
                        "(needed for this comparison only; not a tts_codec dependency)")
    install_torchaudio_standin()
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
    module = importlib.import_module("sparktts.models.bicodec")
    origin = Path(module.__file__).resolve()
    if not origin.is_relative_to(path):
        raise UserError(f"--official_repo {repo}: sparktts is already imported from {origin}")
    return module


def official_copy(model: nn.Module, repo: str | Path) -> nn.Module:
    """The official BiCodec holding `model`'s weights, in eval mode with weight norm removed.

    `model` (ours, weight norm not yet removed) is written in the official layout by our converter
    (`codecs/bicodec/official.export_official`) and read back by the official `BiCodec.load_from_checkpoint`;
    every tensor must be taken (the official loader only prints missing or unexpected ones).
    """
    module = import_official(repo)
    printed = io.StringIO()
    with tempfile.TemporaryDirectory(prefix="bicodec_official_") as tmp:
        export_official(model, Path(tmp))
        with contextlib.redirect_stdout(printed), warnings.catch_warnings():
            warnings.filterwarnings("ignore", "`torch.nn.utils.weight_norm` is deprecated", FutureWarning)
            official = module.BiCodec.load_from_checkpoint(Path(tmp))
    problems = [line for line in printed.getvalue().splitlines() if line.startswith(("Missing", "Unexpected"))]
    if problems:
        raise RuntimeError(f"the official BiCodec did not take our checkpoint: {problems[:3]} "
                           f"({len(problems)} tensors in all)")
    return official.eval()


def official_tokenize(official: nn.Module, ssl_feats: torch.Tensor, ref_wav: torch.Tensor) -> tuple[Any, Any]:
    """Official `tokenize` on precomputed SSL features (B, T, D) and a reference clip (B, N_ref)."""
    return official.tokenize({"feat": ssl_feats, "ref_wav": ref_wav})
