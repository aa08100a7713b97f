"""Every shipped YAML config builds its model (and, for training configs, its task); `base:` chains resolve lists,
relative paths, cycles and missing files with clear errors."""
import contextlib
import time
from pathlib import Path

import pytest
import torch

from tts_codec.codecs import build_codec
from tts_codec.config import load_config
from tts_codec.errors import UserError
from tts_codec.train.registry import TASKS, task_entry
from tts_codec.train.trainer import trainer_settings

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted((REPO / "conf").rglob("*.yaml")) + sorted(REPO.glob("egs/*/tts1/conf/*.yaml"))


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_configs_are_found():
    names = {p.relative_to(REPO).as_posix() for p in CONFIGS}
    assert {"conf/codec/bicodec_official.yaml", "conf/train/bicodec_tiny.yaml",
            "egs/mini/tts1/conf/bicodec_tiny.yaml"} <= names


@pytest.fixture(scope="module")
def spark_tokenizer_dir(tmp_path_factory):
    from tts_codec.testing.spark_lm import make_spark_tokenizer

    return make_spark_tokenizer(tmp_path_factory.mktemp("tok") / "spark_bpe")


@pytest.fixture(scope="module")
def mars6_tokenizer_dir(tmp_path_factory):
    from tts_codec.testing.mars6 import make_mars6_tokenizer

    return make_mars6_tokenizer(tmp_path_factory.mktemp("tok") / "mars6_bpe")


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_config_builds_its_model_and_task(path, request):
    """Codec configs build their codec; training configs (a `trainer:` section) build their registered task."""
    torch.set_num_threads(1)
    cfg = load_config(path)
    if "lm" in cfg and not (cfg.get("tokenizer_dir") or cfg.get("init_llm_dir")):  # LMs get theirs from stage 4
        fixture = "mars6_tokenizer_dir" if cfg["lm"] == "mars6" else "spark_tokenizer_dir"
        cfg["tokenizer_dir"] = str(request.getfixturevalue(fixture))
    start = time.perf_counter()
    if "codec" in cfg:
        codec = build_codec(cfg)
        assert codec.name == cfg["codec"] and codec.sample_rate == cfg["sample_rate"] and n_params(codec) > 0
        print(f"{path.name}: codec of {n_params(codec) / 1e6:.1f} M parameters", end="; ")
    if "trainer" in cfg:
        name = cfg.get("task", cfg.get("codec"))
        assert name in TASKS, f"training task {name!r} of {path.name} is not registered in tts_codec.train.registry"
        # An LM's random init dominates (0.5B normal_ draws: ~25 s on 2 busy cores): count it on the meta device.
        with torch.device("meta") if "lm" in cfg else contextlib.nullcontext():
            task = task_entry(cfg).task(cfg)
        assert task.optimizer_steps_per_batch >= 1 and n_params(task) > 0
        trainer_settings(cfg)  # the trainer section passes the checks a run makes before training (average_last)
        if "codec" in cfg:  # a codec's training task wraps a codec of the same size
            assert n_params(task.generator) == n_params(codec)
    print(f"{path.name}: built in {time.perf_counter() - start:.1f} s")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_base_lists_merge_in_order_with_paths_relative_to_each_file(tmp_path):
    write(tmp_path / "common" / "a.yaml", "x: 1\nnested: {p: 1, q: 1}\nlist: [1, 2]\n")
    write(tmp_path / "common" / "b.yaml", "base: a.yaml\nx: 2\nnested: {q: 2}\n")  # relative to common/
    write(tmp_path / "other.yaml", "y: 3\nlist: [9]\n")
    top = write(tmp_path / "exp" / "top.yaml", "base: [../common/b.yaml, ../other.yaml]\nnested: {r: 3}\n")
    assert load_config(top) == {"x": 2, "nested": {"p": 1, "q": 2, "r": 3}, "list": [9], "y": 3}


def test_base_cycle_names_the_chain(tmp_path):
    write(tmp_path / "a.yaml", "base: b.yaml\n")
    write(tmp_path / "b.yaml", "base: a.yaml\n")
    with pytest.raises(UserError, match=r"circular 'base:' chain .*a\.yaml -> .*b\.yaml -> .*a\.yaml"):
        load_config(tmp_path / "a.yaml")


def test_missing_base_names_the_referring_file(tmp_path):
    top = write(tmp_path / "top.yaml", "base: [ok.yaml, nope.yaml]\n")
    write(tmp_path / "ok.yaml", "x: 1\n")
    with pytest.raises(UserError, match=rf"config {top}: base file 'nope.yaml' not found"):
        load_config(top)
    with pytest.raises(UserError, match="config file not found"):
        load_config(tmp_path / "absent.yaml")


@pytest.mark.parametrize("text, match", [
    ("base: {a: 1}\n", "'base:' must be a path or a list of paths"),
    ("base: [1]\n", "'base:' must be a path or a list of paths"),
    ("- a\n- b\n", "top level must be a mapping"),
    ("a: [\n", "invalid YAML"),
])
def test_malformed_configs_are_user_errors(tmp_path, text, match):
    path = write(tmp_path / "c.yaml", text)
    with pytest.raises(UserError, match=match) as err:
        load_config(path)
    assert str(path) in str(err.value)
