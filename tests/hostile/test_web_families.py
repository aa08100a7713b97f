"""Hostile inputs for a web page over several model dirs (web_demo --model_dir A --model_dir B): a missing dir, a dir
that is no model dir, two dirs with one name, a codec + LM pair beside model dirs; each is refused in one line naming
the culprit, before any model loads, non-zero, leaving every file as it was (tts_codec.testing.hostile)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tts_codec.testing.hostile import Case, check_case

MODELS: dict[str, Path] = {}


@pytest.fixture(scope="module", autouse=True)
def _models(tmp_path_factory):
    from tts_codec.testing.mars6_dirs import make_mars6_tts_dirs
    from tts_codec.testing.model_dirs import make_packed_dir
    from tts_codec.tts.packing import pack_model

    root = tmp_path_factory.mktemp("web_family_models")
    MODELS["spark"] = make_packed_dir(root / "spark")
    pack_model(*make_mars6_tts_dirs(root / "mars6_src"), root / "mars6")
    MODELS["mars6"] = root / "mars6"


def _both(*extra) -> list:
    return ["--model_dir", MODELS["spark"], "--model_dir", MODELS["mars6"], *extra]


def _dir(ws: Path, name: str) -> Path:
    (ws / name).mkdir(parents=True)
    return ws / name


def _same_name(ws: Path) -> list:
    """A copy of the spark dir elsewhere, under the same directory name."""
    copy = shutil.copytree(MODELS["spark"], ws / "elsewhere" / MODELS["spark"].name)
    return _both("--model_dir", copy)


def _truncated(ws: Path) -> list:
    copy = shutil.copytree(MODELS["mars6"], ws / "cut")
    (copy / "lm" / "model.safetensors").write_bytes(b"cut")
    return ["--model_dir", MODELS["spark"], "--model_dir", copy]


CASES = [
    Case("web_demo", "second_model_dir_missing", lambda ws: _both("--model_dir", ws / "nope"),
         "--model_dir {ws}/nope: no such directory"),
    Case("web_demo", "second_dir_not_a_model_dir", lambda ws: _both("--model_dir", _dir(ws, "empty")),
         "--model_dir {ws}/empty: no model_dir.json"),
    Case("web_demo", "same_model_dir_twice", lambda ws: _both("--model_dir", MODELS["spark"]),
         "already called 'packed'"),
    Case("web_demo", "two_dirs_with_one_name", _same_name, "already called 'packed'"),
    Case("web_demo", "second_model_dir_truncated", _truncated, "{ws}/cut/lm/model.safetensors"),
    Case("web_demo", "model_dirs_and_a_codec_lm_pair", lambda ws: _both("--lm_dir", _dir(ws, "lm")),
         "--codec_dir/--lm_dir give one model"),
    Case("web_demo", "bfloat16_for_a_mars6_model", lambda ws: _both("--lm_dtype", "bfloat16"),
         "--lm_dtype bfloat16: the mars6 family runs in float32 only"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hostile_input_is_refused_cleanly(case: Case, tmp_path: Path) -> None:
    check_case(case, tmp_path / "ws")
