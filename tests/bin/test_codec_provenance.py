"""Stages 6/7a keep tokens tied to the weights that made them and leave nothing wrong behind: the weights hash in
codes_info.json, leftovers of a killed tokenizer, a failed merge over a finished one, NaN audio and NaN output."""
from __future__ import annotations

import json
import socket
import subprocess

import pytest
import torch

from tts_codec.bin import codec_decode, codec_tokenize, merge_scp
from tts_codec.codecs import codec_class_for_dir, runner
from tts_codec.codecs.inference import load_codec
from tts_codec.data.datadir import DataDir
from tts_codec.data.token_file import INFO_FILE, load_tokens, merge_codes_dirs, read_failed
from tts_codec.errors import UserError
from tts_codec.testing.codec_dirs import SHORT_UTT, save_tiny_model
from tts_codec.testing.hostile import replace_audio


def tokenize(model_dir, data_dir, out_dir, *extra: str) -> int:
    return codec_tokenize.main(["--model_dir", str(model_dir), "--data_dir", str(data_dir), "--out_dir",
                                str(out_dir), *extra])


def test_weights_hash_is_taken_as_loaded_and_tells_weights_apart(tiny_model_dir, tmp_path):
    raw = codec_class_for_dir(tiny_model_dir).from_pretrained(tiny_model_dir)
    ready = load_codec(tiny_model_dir)  # weight norm folded, CachedSnake: the hash is the one of the loaded weights
    assert ready.weights_hash() == raw.weights_hash() == load_codec(tiny_model_dir).weights_hash()
    assert load_codec(save_tiny_model(tmp_path / "other", seed=1)).weights_hash() != raw.weights_hash()
    assert ready.codes_info().weights_hash == raw.weights_hash()


def test_tokens_record_the_weights_and_decode_only_with_them(tiny_model_dir, data_dir, tmp_path):
    codes = tmp_path / "codes"
    assert tokenize(tiny_model_dir, data_dir, codes) == 0
    info = json.loads((codes / INFO_FILE).read_text())
    assert info["weights_hash"] == load_codec(tiny_model_dir).weights_hash()
    other = save_tiny_model(tmp_path / "other", seed=1)  # same config, other weights
    with pytest.raises(UserError, match=f"weights of {tiny_model_dir} .*{info['weights_hash']}.* other weights of "
                                        f"{other}"):
        codec_decode.main(["--model_dir", str(other), "--codes_dir", str(codes), "--out_dir", str(tmp_path / "d")])
    assert not (tmp_path / "d").exists()


def test_tokens_without_weights_hash_decode_with_a_warning(tiny_model_dir, data_dir, tmp_path, caplog):
    codes = tmp_path / "codes"
    tokenize(tiny_model_dir, data_dir, codes)
    info = json.loads((codes / INFO_FILE).read_text())
    del info["weights_hash"]  # written by an older tts_codec
    (codes / INFO_FILE).write_text(json.dumps(info))
    assert codec_decode.main(["--model_dir", str(tiny_model_dir), "--codes_dir", str(codes), "--out_dir",
                              str(tmp_path / "d")]) == 0
    assert "records no weights hash" in caplog.text


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_rerun_after_a_killed_tokenizer_leaves_no_temp_files(tiny_model_dir, data_dir, tmp_path):
    codes = tmp_path / "codes"
    codes.mkdir()
    # What a tokenizer killed while writing its arks leaves: temp arks of a dead process, no codes_info.json.
    leftovers = [codes / f".{name}.ark.{socket.gethostname()}.{_dead_pid()}.x1y2z3.tmp" for name in ("semantic",
                                                                                                      "global")]
    for path in leftovers:
        path.write_bytes(b"half an ark")
    assert tokenize(tiny_model_dir, data_dir, codes) == 0
    assert not [p for p in leftovers if p.exists()]
    assert not list(codes.glob(".*tmp")) and len(load_tokens(codes)) == 3


def test_failed_merge_keeps_the_finished_merged_dir(tiny_model_dir, data_dir, tmp_path):
    data = DataDir.load(data_dir)
    parts = []
    for part, spk in enumerate(data.speakers, 1):
        data.subset(data.spk2utt[spk]).save(tmp_path / f"split/{part}")
        tokenize(tiny_model_dir, tmp_path / f"split/{part}", tmp_path / f"codes/part.{part}")
        parts.append(str(tmp_path / f"codes/part.{part}"))
    out = tmp_path / "codes"
    assert merge_scp.main(["--out_dir", str(out), *parts]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    with pytest.raises(UserError, match="also appears in another part"):
        merge_codes_dirs([parts[0], parts[0], parts[1]], out, overwrite=True)  # a part given twice
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert len(load_tokens(out)) == 3


def test_nan_audio_is_dropped_and_counted(tiny_model_dir, data_dir, tmp_path):
    replace_audio(data_dir, "nan", line=1)
    nan_utt = DataDir.load(data_dir).utt_ids[0]
    codes = tmp_path / "codes"
    assert tokenize(tiny_model_dir, data_dir, codes) == 0
    failed = read_failed(codes)
    assert sorted(failed) == sorted([nan_utt, SHORT_UTT]) and "non-finite" in failed[nan_utt]
    assert nan_utt not in load_tokens(codes).utt_ids


def test_decode_never_writes_non_finite_audio(tiny_model_dir, data_dir, tmp_path):
    tokenize(tiny_model_dir, data_dir, tmp_path / "codes")
    model = load_codec(tiny_model_dir)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "decoder" in name:
                param.fill_(float("nan"))  # as if the weights diverged after loading
    tokens = load_tokens(tmp_path / "codes")
    with pytest.raises(UserError, match=r"(spk\d-utt\d): decoding gave \d+ NaN or infinite samples"):
        runner.decode_dir(model, tokens, tmp_path / "wav", 1, "float32", "cpu")
    assert not list((tmp_path / "wav").glob("*.wav"))
