"""Hostile inputs for the mars6 family in pack_model and synthesize: a codec that does not fit the MARS6, a speaker
extractor that cannot be bundled, options of the other family, voice creation asked of a clone-only model, damaged
dirs; each is refused in one line naming the culprit, non-zero, leaving every file as it was."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tts_codec.testing.codec_dirs import save_tiny_model
from tts_codec.testing.hostile import Case, check_case
from tts_codec.testing.mars6_dirs import make_mars6_tts_dirs

MODELS: dict[str, Path] = {}


@pytest.fixture(scope="module", autouse=True)
def _models(tmp_path_factory):
    from tts_codec.testing.model_dirs import make_packed_dir
    from tts_codec.tts.packing import pack_model

    root = tmp_path_factory.mktemp("mars6_models")
    MODELS["codec"], MODELS["lm"] = make_mars6_tts_dirs(root / "src")
    pack_model(MODELS["codec"], MODELS["lm"], root / "packed")
    MODELS["packed"], MODELS["spark"] = root / "packed", make_packed_dir(root / "spark")
    MODELS["spark_llm"] = root / "spark" / "src" / "LLM"


def _pack(ws: Path, *extra, codec=None, lm=None) -> list:
    return ["--codec_dir", codec or MODELS["codec"], "--lm_dir", lm or MODELS["lm"], "--out_dir", ws / "packed",
            *extra]


def _lm_with(ws: Path, **speaker) -> Path:
    lm = shutil.copytree(MODELS["lm"], ws / "lm")
    config = yaml.safe_load((lm / "config.yaml").read_text())
    config["speaker_embedding"] = speaker
    (lm / "config.yaml").write_text(yaml.safe_dump(config))
    return lm


def _broken_lm(ws: Path) -> Path:
    lm = shutil.copytree(MODELS["lm"], ws / "lm")
    (lm / "model.safetensors").write_bytes(b"not safetensors")
    return lm


def _bad_scale(ws: Path) -> list:
    """The parts of an int8-packed dir, given as --codec_dir / --lm_dir, whose output-head scale lost a row (the
    packed dir itself refuses any changed file by its manifest)."""
    from safetensors.torch import load_file, save_file

    from tts_codec.tts.packing import pack_model

    pack_model(MODELS["codec"], MODELS["lm"], ws / "packed", weights_dtype="int8")
    path = ws / "packed" / "lm" / "model.safetensors"
    state = load_file(str(path))
    state["head.weight.int8_row_scale"] = state["head.weight.int8_row_scale"][:-1].clone()
    save_file(state, str(path))
    return ["--codec_dir", ws / "packed" / "codec", "--lm_dir", ws / "packed" / "lm"]


def _say(ws: Path, *extra, model=None) -> list:
    (ws / "ref.wav").parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(MODELS["ref"], ws / "ref.wav")
    model = ["--model_dir", MODELS["packed"]] if model is None else model
    return [*model, "--text", "Hello.", *extra, "--out", ws / "x.wav"]


def _clone(ws: Path, *extra, model=None) -> list:
    return _say(ws, "--prompt_wav", ws / "ref.wav", *extra, model=model)


def _truncated_copy(ws: Path) -> list:
    shutil.copytree(MODELS["packed"], ws / "packed")
    (ws / "packed" / "lm" / "model.safetensors").write_bytes(b"cut")
    return _clone(ws, model=["--model_dir", ws / "packed"])


CASES = [
    # pack_model, mars6
    Case("pack_model", "mars6_lm_with_a_bicodec", lambda ws: _pack(ws, codec=save_tiny_model(ws / "bicodec")),
         "{ws}/bicodec with MARS6"),
    Case("pack_model", "mars6_official_layout", lambda ws: _pack(ws, "--official_layout", "true"),
         "--official_layout true: the official layout is Spark-TTS's"),
    Case("pack_model", "mars6_family_of_a_spark_llm", lambda ws: _pack(ws, "--model_family", "mars6",
                                                                       lm=MODELS["spark_llm"]),
         "not a MARS6 model dir"),
    Case("pack_model", "spark_family_of_a_mars6_dir", lambda ws: _pack(ws, "--model_family", "spark"),
         "no config.json"),
    Case("pack_model", "model_family_unknown", lambda ws: _pack(ws, "--model_family", "mars7"), "--model_family"),
    Case("pack_model", "mars6_speaker_extractor_of_another_size",
         lambda ws: _pack(ws, lm=_lm_with(ws, extractor="wavlm", model_dir=str(ws))),
         "{ws}/lm/config.yaml: speaker_embedding.extractor 'wavlm'"),
    Case("pack_model", "mars6_speaker_extractor_unknown", lambda ws: _pack(ws, lm=_lm_with(ws, extractor="ivector")),
         "{ws}/lm/config.yaml: speaker_embedding.extractor 'ivector'"),
    Case("pack_model", "mars6_weights_not_safetensors", lambda ws: _pack(ws, lm=_broken_lm(ws)),
         "{ws}/lm/model.safetensors"),
    Case("pack_model", "mars6_weights_dtype_unknown", lambda ws: _pack(ws, "--weights_dtype", "int4"),
         "--weights_dtype"),
    Case("pack_model", "spark_weights_dtype_int8", lambda ws: _pack(ws, "--weights_dtype", "int8",
                                                                    codec=MODELS["spark"] / "codec",
                                                                    lm=MODELS["spark"] / "lm"),
         "--weights_dtype 'int8': int8 storage is for the mars6 family's LM"),
    Case("synthesize", "mars6_int8_scale_of_another_shape", lambda ws: _clone(ws, model=_bad_scale(ws)),
         "{ws}/packed/lm/model.safetensors: int8 scale head.weight.int8_row_scale does not belong"),
    # synthesize with a mars6 model
    Case("synthesize", "mars6_voice_creation", lambda ws: _say(ws, "--gender", "female"),
         "--gender (voice creation): a mars6 model does not offer this"),
    Case("synthesize", "mars6_saved_voice_out", lambda ws: _clone(ws, "--save_voice", ws / "v.json"),
         "--save_voice: a mars6 model has no saved voices"),
    *[Case("synthesize", f"mars6_spark_option_{name}", lambda ws, n=name, v=value: _clone(ws, f"--{n}", v),
           f"--{name}: an option of spark models")
      for name, value in (("temperature", "0.5"), ("top_k", "5"), ("max_new_tokens", "8"), ("do_sample", "false"),
                          ("lm_dtype", "bfloat16"))],
    Case("synthesize", "mars6_fixed_ref_without_transcript", lambda ws: _clone(ws, "--deep_clone_mode", "fixed-ref"),
         "--deep_clone_mode fixed-ref: a deep clone needs --prompt_text"),
    Case("synthesize", "mars6_deep_clone_mode_unknown", lambda ws: _clone(ws, "--deep_clone_mode", "deep"),
         "--deep_clone_mode"),
    Case("synthesize", "deep_clone_mode_of_a_spark_model",
         lambda ws: _clone(ws, "--deep_clone_mode", "per-chunk", model=["--model_dir", MODELS["spark"]]),
         "--deep_clone_mode: an option of mars6 models"),
    Case("synthesize", "max_attempts_of_a_spark_model",
         lambda ws: _clone(ws, "--max_attempts", "2", model=["--model_dir", MODELS["spark"]]),
         "--max_attempts: an option of mars6 models"),
    Case("synthesize", "mars6_max_attempts_zero", lambda ws: _clone(ws, "--max_attempts", "0"), "--max_attempts"),
    Case("synthesize", "mars6_top_p_zero", lambda ws: _clone(ws, "--top_p", "0"), "--top_p"),
    Case("synthesize", "mars6_truncated_weights", _truncated_copy, "{ws}/packed/lm/model.safetensors"),
    Case("synthesize", "mars6_pair_lm_broken",
         lambda ws: _clone(ws, model=["--codec_dir", MODELS["codec"], "--lm_dir", _broken_lm(ws)]),
         "{ws}/lm/model.safetensors"),
]


@pytest.fixture(scope="module", autouse=True)
def _ref(tmp_path_factory):
    import numpy as np

    from tts_codec.data.audio import write_wav

    MODELS["ref"] = tmp_path_factory.mktemp("ref") / "ref.wav"
    write_wav(MODELS["ref"], (0.3 * np.sin(np.arange(24000) / 24000 * 2 * np.pi * 200)).astype(np.float32), 24000)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hostile_input_is_refused_cleanly(case: Case, tmp_path: Path) -> None:
    check_case(case, tmp_path / "ws")
