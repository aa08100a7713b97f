"""Packed model dirs (stage 12): pack -> load -> the same tokens and audio as the unpacked model with the same seed,
in our layout and in the official Spark-TTS one; the packed dir is self-contained (its wav2vec2 bundled), checked on
load (truncated file, unknown family or version), atomic and never clobbered without --overwrite."""
from __future__ import annotations

import json
import shutil
import sys
import types

import numpy as np
import torch
import pytest
import yaml
from safetensors import safe_open

from tts_codec.errors import UserError
from tts_codec.lm.spark import prompts as P
from tts_codec.testing.bicodec import tone
from tts_codec.testing.codec_dirs import save_tiny_model
from tts_codec.testing.model_dirs import make_wav2vec2_tts_dirs
from tts_codec.testing.spark_tts import ScriptedLM
from tts_codec.tts.generation import SamplingConfig
from tts_codec.tts.model_card import Provenance
from tts_codec.tts.model_dir import FAMILY_LOADERS, MANIFEST, load_model_dir
from tts_codec.tts.packing import pack_spark
from tts_codec.tts.spark import SparkTTS

SHORT = SamplingConfig(max_new_tokens=24, seed=7)
TEXT = "Packing keeps every token."


def _clone_tokens(tts: SparkTTS, wav_path) -> tuple[list, np.ndarray]:
    result = tts.clone(TEXT, wav_path, sampling=SHORT)
    return [s.tolist() for s in result.semantic], result.wav


def _wav(tmp_path):
    from tts_codec.data.audio import write_wav

    path = tmp_path / "ref.wav"
    write_wav(path, tone(1.0), 16000)
    return path


def test_packed_dir_speaks_the_tokens_of_the_unpacked_model(tts_dirs, shared_tts, tmp_path):
    scores = tmp_path / "eval" / "test" / "RESULTS.md"
    scores.parent.mkdir(parents=True)
    scores.write_text("# test: zero-shot clone\n\n| metric | lm |\n|---|---|\n| wer | 0.50 |\n")
    manifest = pack_spark(*tts_dirs, tmp_path / "packed", Provenance("./run.sh --stage 1", "mini corpus", [scores]))
    packed = load_model_dir(tmp_path / "packed")
    assert isinstance(packed, SparkTTS) and manifest["family"] == "spark" and manifest["layout"] == "tts_codec"
    tokens, wav = _clone_tokens(packed, _wav(tmp_path))
    ref_tokens, ref_wav = _clone_tokens(shared_tts, _wav(tmp_path))
    assert tokens == ref_tokens and len(tokens[0]) > 0 and np.array_equal(wav, ref_wav)
    assert packed.codec_id() == shared_tts.codec_id()  # the same config: saved voices stay valid
    card = (tmp_path / "packed" / "model_card.md").read_text()
    assert "./run.sh --stage 1" in card and "mini corpus" in card and "| wer | 0.50 |" in card
    assert "### test: zero-shot clone" in card and manifest["commit"] in card
    files = json.loads((tmp_path / "packed" / MANIFEST).read_text())["files"]
    assert {"codec/model.safetensors", "lm/model.safetensors", "lm/tokenizer.json", "model_card.md"} <= set(files)
    assert not [name for name in files if name.endswith((".bin", ".pt", ".ckpt"))]  # safetensors only


def test_voice_creation_gives_the_same_voice_packed_and_unpacked(tts_dirs, shared_tts, tmp_path):
    pack_spark(*tts_dirs, tmp_path / "packed")
    packed = load_model_dir(tmp_path / "packed")
    results = []
    for tts in (packed, shared_tts):  # a scripted chain of thought: a random LM cannot create a voice
        ids = P.encode(P.control_target(230, 4, np.arange(32) * 5, np.arange(10, 40)), tts.vocab)
        lm = tts.lm
        tts.lm = ScriptedLM(lm, [[ids]], tts.vocab.eos_id)
        try:
            results.append(tts.create(TEXT, "female", "high", "low", sampling=SamplingConfig(max_new_tokens=120)))
        finally:
            tts.lm = lm
    assert results[0].voice.global_codes.tolist() == results[1].voice.global_codes.tolist()
    assert np.array_equal(results[0].wav, results[1].wav) and len(results[0].wav) > 0


def test_the_bundled_wav2vec2_makes_the_dir_self_contained(tmp_path):
    codec, lm, ssl = make_wav2vec2_tts_dirs(tmp_path / "src")
    unpacked_tokens = _clone_tokens(SparkTTS.from_dirs(codec, lm), _wav(tmp_path))[0]
    manifest = pack_spark(codec, lm, tmp_path / "packed")
    assert manifest["parts"]["ssl"] == "ssl" and "ssl/model.safetensors" in manifest["files"]
    shutil.rmtree(ssl)  # the training machine's wav2vec2 is gone: the packed dir still clones
    assert _clone_tokens(load_model_dir(tmp_path / "packed"), _wav(tmp_path))[0] == unpacked_tokens


def test_official_layout_round_trip(tmp_path):
    codec, lm, _ = make_wav2vec2_tts_dirs(tmp_path / "src", official=True)
    unpacked = _clone_tokens(SparkTTS.from_dirs(codec, lm), _wav(tmp_path))
    manifest = pack_spark(codec, lm, tmp_path / "official", official_layout=True)
    root = tmp_path / "official"
    assert manifest["layout"] == "official" and manifest["parts"] == {
        "codec": "BiCodec", "lm": "LLM", "ssl": "wav2vec2-large-xlsr-53"}
    top = yaml.safe_load((root / "config.yaml").read_text())
    assert top["sample_rate"] == 16000 and "audio_tokenizer" not in top
    assert "audio_tokenizer" in yaml.safe_load((root / "BiCodec" / "config.yaml").read_text())
    with safe_open(str(root / "BiCodec" / "model.safetensors"), "pt") as handle:
        assert any(k.endswith(".weight_g") for k in handle.keys())  # official weight-norm names
    assert (root / "LLM" / "tokenizer.json").is_file() and (root / "wav2vec2-large-xlsr-53" / "config.json").is_file()
    shutil.copytree(root, tmp_path / "bare", ignore=shutil.ignore_patterns(MANIFEST, "model_card.md"))
    for path in (root, tmp_path / "bare"):  # with our manifest, and as a bare official dir
        tokens, wav = _clone_tokens(load_model_dir(path), _wav(tmp_path))
        assert tokens == unpacked[0] and np.array_equal(wav, unpacked[1])


def test_official_layout_refuses_a_codec_the_official_code_would_misread(tts_dirs, tmp_path):
    with pytest.raises(UserError, match="SSL is 'logmel'.*--official_layout false"):
        pack_spark(*tts_dirs, tmp_path / "out", official_layout=True)
    assert not (tmp_path / "out").exists()


def test_repacking_needs_overwrite_and_leaves_the_old_dir_whole(tts_dirs, tmp_path):
    pack_spark(*tts_dirs, tmp_path / "packed")
    before = (tmp_path / "packed" / MANIFEST).read_text()
    with pytest.raises(UserError, match="already exists; pass --overwrite true"):
        pack_spark(*tts_dirs, tmp_path / "packed")
    other = save_tiny_model(tmp_path / "other_codec", seed=1)
    pack_spark(other, tts_dirs[1], tmp_path / "packed", overwrite=True)
    after = json.loads((tmp_path / "packed" / MANIFEST).read_text())
    assert after["files"]["codec/model.safetensors"] != json.loads(before)["files"]["codec/model.safetensors"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".packed")] == []  # no temp dir left


def test_a_mismatched_codec_and_lm_are_refused_before_writing(tts_dirs, tmp_path):
    big = save_tiny_model(tmp_path / "codec16k", codebook_size=16384)  # more codes than the LM has tokens for
    with pytest.raises(UserError, match="codec"):
        pack_spark(big, tts_dirs[1], tmp_path / "out")
    assert not (tmp_path / "out").exists()
    with pytest.raises(UserError, match="no such directory"):
        pack_spark(tmp_path / "nope", tts_dirs[1], tmp_path / "out")
    with pytest.raises(UserError, match="scores.*no such file"):
        Provenance(scores=[tmp_path / "RESULTS.md"])


@pytest.mark.parametrize("damage, message", [
    (lambda root: (root / "lm" / "model.safetensors").write_bytes(b"x"), "truncated or was changed"),
    (lambda root: (root / "codec" / "config.yaml").unlink(), "codec/config.yaml is missing"),
    (lambda root: _edit_manifest(root, family="mars7"), "family 'mars7' is not known"),
    (lambda root: _edit_manifest(root, version=2), "version 2; this toolkit reads version 1"),
    (lambda root: (root / MANIFEST).write_text("{"), "not a readable model_dir.json"),
    (lambda root: (root / MANIFEST).unlink(), "no model_dir.json"),
])
def test_a_damaged_dir_is_refused_by_name(tts_dirs, tmp_path, damage, message):
    pack_spark(*tts_dirs, tmp_path / "packed")
    damage(tmp_path / "packed")
    with pytest.raises(UserError, match=message):
        load_model_dir(tmp_path / "packed")


def _edit_manifest(root, **changes):
    path = root / MANIFEST
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def _toy_loader(root, manifest, **options):
    return ("toy", root.name, manifest["parts"], options)


def test_a_family_plugs_in_with_one_registry_line(tts_dirs, tmp_path, monkeypatch):
    pack_spark(*tts_dirs, tmp_path / "packed")
    monkeypatch.setitem(sys.modules, "toy_family", types.SimpleNamespace(load=_toy_loader))
    monkeypatch.setitem(FAMILY_LOADERS, "toy", "toy_family:load")
    _edit_manifest(tmp_path / "packed", family="toy")
    assert load_model_dir(tmp_path / "packed", device="cpu") == (
        "toy", "packed", {"codec": "codec", "lm": "lm", "ssl": None}, {"device": "cpu"})


def test_half_precision_weights_halve_the_dir_and_still_run_in_float32(tts_dirs, shared_tts, tmp_path):
    """--weights_dtype float16 stores the float16-rounded weights (for models shipped in git) in half the bytes;
    the loaded models still run in float32."""
    full = pack_spark(*tts_dirs, tmp_path / "full")
    half = pack_spark(*tts_dirs, tmp_path / "half", weights_dtype="float16")
    for part in ("codec/model.safetensors", "lm/model.safetensors"):
        assert half["files"][part]["bytes"] < 0.6 * full["files"][part]["bytes"]
        with safe_open(str(tmp_path / "half" / part), framework="pt") as rounded, \
                safe_open(str(tmp_path / "full" / part), framework="pt") as exact:
            assert set(rounded.keys()) == set(exact.keys())
            for key in exact.keys():
                value, ref = rounded.get_tensor(key), exact.get_tensor(key)
                expected = ref.half() if ref.is_floating_point() else ref
                assert value.dtype == expected.dtype and torch.equal(value, expected), key
    assert half["files"]["lm/tokenizer.json"]["bytes"] < full["files"]["lm/tokenizer.json"]["bytes"]  # compact JSON
    assert json.loads((tmp_path / "half" / "lm/tokenizer.json").read_text()) == \
        json.loads((tmp_path / "full" / "lm/tokenizer.json").read_text())
    packed = load_model_dir(tmp_path / "half")
    assert half["weights_dtype"] == "float16"
    assert {p.dtype for p in [*packed.lm.parameters(), *packed.codec.parameters()]} == {torch.float32}
    tokens, wav = _clone_tokens(packed, _wav(tmp_path))
    assert len(tokens[0]) > 0 and np.isfinite(wav).all()
    with pytest.raises(UserError, match="--weights_dtype 'int8'"):
        pack_spark(*tts_dirs, tmp_path / "int8", weights_dtype="int8")
