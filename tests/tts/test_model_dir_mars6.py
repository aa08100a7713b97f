"""Packed model dirs of the mars6 family (SNAC + MARS6): pack -> load -> the same patches and audio as the unpacked
pipeline with the same seed (shallow and deep clone), float16 storage, a bundled WavLM-SV speaker extractor that
makes the dir self-contained, the card, the clone-only Python API, and refusals before anything is written."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
import yaml
from safetensors import safe_open

from tts_codec.data.audio import write_wav
from tts_codec.errors import UserError
from tts_codec.testing.codec_dirs import save_tiny_model
from tts_codec.testing.mars6_dirs import make_mars6_tts_dirs
from tts_codec.tts.mars6 import Mars6Options, Mars6TTS
from tts_codec.tts.model_card import Provenance
from tts_codec.tts.model_dir import MANIFEST, load_model_dir, model_family
from tts_codec.tts.packing import pack_model

TEXT = "Packing keeps every patch."
#: one attempt per chunk and no silence trimming: the test compares tokens, not quality (and skips librosa's JIT)
OPTIONS = Mars6Options(max_attempts=1, trim_db=0.0, seed=5)


@pytest.fixture(scope="module")
def mars6_dirs(tmp_path_factory):
    return make_mars6_tts_dirs(tmp_path_factory.mktemp("mars6"))


@pytest.fixture(scope="module")
def packed(mars6_dirs, tmp_path_factory):
    root = tmp_path_factory.mktemp("packed")
    scores = root / "eval" / "test" / "RESULTS.md"
    scores.parent.mkdir(parents=True)
    scores.write_text("# test: zero-shot clone\n\n| metric | lm |\n|---|---|\n| wer | 0.40 |\n")
    manifest = pack_model(*mars6_dirs, root / "packed", Provenance("./run.sh --model_family mars6", "mini", [scores]))
    return root / "packed", manifest


@pytest.fixture(scope="module")
def ref_wav(tmp_path_factory):
    path = tmp_path_factory.mktemp("ref") / "ref.wav"
    sr = 24000
    t = np.arange(int(1.2 * sr)) / sr
    write_wav(path, (0.3 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2).astype(np.float32), sr)
    return path


def _speak(tts: Mars6TTS, wav, transcript=None):
    result = tts.clone(TEXT, wav, transcript)
    return [p.tolist() for p in result.patches], result.wav


@pytest.mark.parametrize("transcript", [None, "a rising tone"], ids=["shallow", "deep"])
def test_packed_dir_speaks_the_patches_of_the_unpacked_model(mars6_dirs, packed, ref_wav, transcript):
    root, manifest = packed
    loaded = load_model_dir(root, options=OPTIONS)
    assert isinstance(loaded, Mars6TTS) and manifest["family"] == "mars6" and manifest["layout"] == "tts_codec"
    patches, wav = _speak(loaded, ref_wav, transcript)
    ref_patches, ref = _speak(Mars6TTS.from_dirs(*mars6_dirs, options=OPTIONS), ref_wav, transcript)
    assert patches == ref_patches and sum(map(len, patches)) > 0 and np.array_equal(wav, ref)


def test_the_manifest_and_card_describe_a_clone_only_model(packed):
    root, manifest = packed
    assert manifest["parts"] == {"codec": "codec", "lm": "lm", "speaker": None} and manifest["sample_rate"] == 24000
    assert {"codec/model.safetensors", "codec/config.yaml", "lm/model.safetensors", "lm/config.yaml",
            "lm/tokenizer.json", "model_card.md"} <= set(manifest["files"])
    assert not [name for name in manifest["files"] if name.endswith((".bin", ".pt", ".ckpt"))]
    card = (root / "model_card.md").read_text()
    assert "./run.sh --model_family mars6" in card and "| wer | 0.40 |" in card and manifest["commit"] in card
    assert "MARS6, width 32" in card and "resemblyzer, 256-d" in card and "--prompt_text" in card
    assert "--gender" not in card and "tags: [text-to-speech, mars6," in card
    assert model_family(root) == "mars6"


def test_the_python_api_clones_only(packed, mars6_dirs, tmp_path):
    root, _ = packed
    tts = Mars6TTS.from_pretrained(root, options=OPTIONS)
    assert tts.family == "mars6" and tts.modes == ("clone",) and tts.options == OPTIONS
    with pytest.raises(UserError, match="no voice creation"):
        tts.create(TEXT, "female")
    from tts_codec.testing.model_dirs import make_packed_dir

    spark = make_packed_dir(tmp_path)
    with pytest.raises(UserError, match="a spark model dir; Mars6TTS loads mars6 ones"):
        Mars6TTS.from_pretrained(spark)
    with pytest.raises(UserError, match="float32 only"):
        load_model_dir(root, lm_dtype="bfloat16")


def test_clone_texts_keeps_one_voice_and_the_options_seed(packed, ref_wav):
    tts = load_model_dir(packed[0], options=OPTIONS)
    first = tts.clone_texts([TEXT, "And one more."], ref_wav, seed=9)
    assert tts.options.seed == OPTIONS.seed  # the seed given is for these texts only
    again = tts.clone_texts([TEXT], ref_wav, seed=9)
    other = tts.clone_texts([TEXT], ref_wav, seed=10)
    assert len(first) == 2 and all(r.wav.size > 0 for r in first)
    assert [p.tolist() for p in first[0].patches] == [p.tolist() for p in again[0].patches]
    assert [p.tolist() for p in first[0].patches] != [p.tolist() for p in other[0].patches]


def test_half_precision_weights_halve_the_dir_and_still_run_in_float32(mars6_dirs, packed, ref_wav, tmp_path):
    full = packed[1]
    half = pack_model(*mars6_dirs, tmp_path / "half", weights_dtype="float16")
    for part in ("codec/model.safetensors", "lm/model.safetensors"):
        assert half["files"][part]["bytes"] < 0.6 * full["files"][part]["bytes"]
        with safe_open(str(tmp_path / "half" / part), framework="pt") as rounded, \
                safe_open(str(packed[0] / part), framework="pt") as exact:
            for key in exact.keys():
                value, ref = rounded.get_tensor(key), exact.get_tensor(key)
                assert torch.equal(value, ref.half() if ref.is_floating_point() else ref), key
    tts = load_model_dir(tmp_path / "half", options=OPTIONS)
    assert half["weights_dtype"] == "float16"
    assert {p.dtype for p in [*tts.model.parameters(), *tts.codec.parameters()]} == {torch.float32}
    result = tts.clone(TEXT, ref_wav)
    assert result.wav.size > 0 and np.isfinite(result.wav).all()


def test_int8_storage_quarters_the_lm_matrices_and_still_clones_in_float32(mars6_dirs, packed, ref_wav, tmp_path):
    """--weights_dtype int8: the LM's large matrices as int8 rows + a float16 scale each (within half a step of the
    float weights once loaded), every other weight (the codec's included) in float16."""
    from tts_codec.nn.int8_storage import SCALE_SUFFIX

    half = pack_model(*mars6_dirs, tmp_path / "half", weights_dtype="float16")
    small = pack_model(*mars6_dirs, tmp_path / "int8", weights_dtype="int8")
    assert small["weights_dtype"] == "int8"
    assert small["files"]["lm/model.safetensors"]["bytes"] < 0.6 * half["files"]["lm/model.safetensors"]["bytes"]
    assert small["files"]["codec/model.safetensors"] == half["files"]["codec/model.safetensors"]
    with safe_open(str(tmp_path / "int8" / "lm/model.safetensors"), framework="pt") as stored, \
            safe_open(str(packed[0] / "lm/model.safetensors"), framework="pt") as exact:
        quantized = {k for k in stored.keys() if stored.get_tensor(k).dtype == torch.int8}
        assert {"head.weight", "local_embed.weight", "patch_embed.embed.weight"} <= quantized
        assert {stored.get_tensor(k).dtype for k in stored.keys() if k not in quantized} == {torch.float16}
        scales = {k: stored.get_tensor(k + SCALE_SUFFIX).float()[:, None] for k in quantized}
        originals = {k: exact.get_tensor(k) for k in quantized}
    tts = load_model_dir(tmp_path / "int8", options=OPTIONS)
    weights = dict(tts.model.state_dict())
    for key in quantized:
        error = (weights[key] - originals[key]).abs()
        assert bool((error <= scales[key] / 2 + 1e-3 * originals[key].abs()).all()), key
    assert {p.dtype for p in [*tts.model.parameters(), *tts.codec.parameters()]} == {torch.float32}
    result = tts.clone(TEXT, ref_wav)
    assert result.wav.size > 0 and np.isfinite(result.wav).all()


def test_a_bundled_wavlm_speaker_extractor_makes_the_dir_self_contained(tmp_path, ref_wav):
    codec, lm = make_mars6_tts_dirs(tmp_path / "src", wavlm=True)
    unpacked = _speak(Mars6TTS.from_dirs(codec, lm, options=OPTIONS), ref_wav)[0]
    manifest = pack_model(codec, lm, tmp_path / "packed")
    assert manifest["parts"]["speaker"] == "speaker" and "speaker/model.safetensors" in manifest["files"]
    assert "speaker/preprocessor_config.json" in manifest["files"]
    config = yaml.safe_load((tmp_path / "packed" / "lm" / "config.yaml").read_text())
    assert config["speaker_embedding"] == {"extractor": "wavlm", "model_dir": None}  # no training-machine path
    pack_model(codec, lm, tmp_path / "half", weights_dtype="float16")
    shutil.rmtree(tmp_path / "src" / "wavlm")  # the training machine's WavLM is gone: the packed dir still clones
    tts = load_model_dir(tmp_path / "packed", options=OPTIONS)
    assert tts.embedder.name == "wavlm" and _speak(tts, ref_wav)[0] == unpacked
    half = load_model_dir(tmp_path / "half", options=OPTIONS)  # the WavLM stored in float16 still embeds
    patches, wav = _speak(half, ref_wav)
    assert sum(map(len, patches)) > 0 and np.isfinite(wav).all()


def test_a_mismatched_codec_and_lm_are_refused_before_writing(mars6_dirs, tmp_path):
    bicodec = save_tiny_model(tmp_path / "bicodec")
    with pytest.raises(UserError, match="do not fit lm_conf levels"):
        pack_model(bicodec, mars6_dirs[1], tmp_path / "out")
    with pytest.raises(UserError, match="official layout is Spark-TTS's"):
        pack_model(*mars6_dirs, tmp_path / "out", official_layout=True)
    with pytest.raises(UserError, match="no config.json.*nor config.yaml"):
        pack_model(mars6_dirs[0], tmp_path, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_speaker_extractor_that_cannot_be_bundled_or_does_not_fit_is_refused(mars6_dirs, tmp_path):
    from tts_codec.testing.mars6_dirs import make_mars6_dir

    lm = shutil.copytree(mars6_dirs[1], tmp_path / "lm")
    config = yaml.safe_load((lm / "config.yaml").read_text())
    config["speaker_embedding"] = {"extractor": "wavlm", "model_dir": str(tmp_path)}
    (lm / "config.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(UserError, match="extractor 'wavlm' does not give the 256-d embeddings"):
        pack_model(mars6_dirs[0], lm, tmp_path / "out")
    no_dir = make_mars6_dir(tmp_path / "lm512", mars6_dirs[1].parent / "tokenizer", speaker={"extractor": "wavlm"})
    with pytest.raises(UserError, match="extractor wavlm without model_dir"):
        pack_model(mars6_dirs[0], no_dir, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_repacking_needs_overwrite_and_a_damaged_dir_is_refused(mars6_dirs, tmp_path):
    pack_model(*mars6_dirs, tmp_path / "packed")
    with pytest.raises(UserError, match="already exists; pass --overwrite true"):
        pack_model(*mars6_dirs, tmp_path / "packed")
    (tmp_path / "packed" / "lm" / "model.safetensors").write_bytes(b"x")
    with pytest.raises(UserError, match="truncated or was changed"):
        load_model_dir(tmp_path / "packed")
    manifest = json.loads((tmp_path / "packed" / MANIFEST).read_text())
    assert manifest["family"] == "mars6"
