"""Stages 6 and 7a end to end on the tiny BiCodec: tokenize -> merge -> decode, resume, failures, refusals."""
from __future__ import annotations

import json
import logging
import os

import numpy as np
import pytest
import soundfile

from tts_codec.bin import codec_decode, codec_tokenize, merge_scp
from tts_codec.cli import run_main
from tts_codec.codecs import runner
from tts_codec.codecs.inference import load_codec
from tts_codec.data.token_file import INFO_FILE, config_hash, load_tokens, read_failed
from tts_codec.data.datadir import DataDir
from tts_codec.data.table import read_table
from tts_codec.errors import UserError
from tts_codec.testing.codec_dirs import SHORT_UTT, save_tiny_model

FRAMES = (8000 - 400) // 320 + 1  # 0.5 s through the 400/320 framing of the SSL features


def tokenize(model_dir, data_dir, out_dir, *extra: str) -> int:
    return codec_tokenize.main(["--model_dir", str(model_dir), "--data_dir", str(data_dir), "--out_dir",
                                str(out_dir), *extra])


def decode(model_dir, codes_dir, out_dir, *extra: str) -> int:
    return codec_decode.main(["--model_dir", str(model_dir), "--codes_dir", str(codes_dir), "--out_dir",
                              str(out_dir), *extra])


@pytest.mark.parametrize("batch_size", ["1", "3"])
def test_tokenize_then_decode(tiny_model_dir, data_dir, tmp_path, batch_size):
    codes = tmp_path / "codes"
    assert tokenize(tiny_model_dir, data_dir, codes, "--batch_size", batch_size) == 0
    tokens = load_tokens(codes, codec="bicodec")
    good = [u for u in DataDir.load(data_dir).utt_ids if u != SHORT_UTT]
    assert tokens.utt_ids == good
    for utt in good:
        sem, glob = tokens[utt]["semantic"], tokens[utt]["global"]
        assert sem.shape == (FRAMES,) and sem.dtype == np.int32 and 0 <= sem.min() and sem.max() < 8192
        assert glob.shape == (1, 32) and glob.dtype == np.int32 and 0 <= glob.min() and glob.max() < 4096
    failed = read_failed(codes)
    assert list(failed) == [SHORT_UTT] and "too short: 100 samples" in failed[SHORT_UTT]
    info = json.loads((codes / INFO_FILE).read_text())
    model = load_codec(tiny_model_dir)
    assert info["codec"] == "bicodec" and info["frame_rate"] == 50.0
    assert info["config_hash"] == config_hash(model.config) and info["model_dir"] == str(tiny_model_dir)
    assert info["streams"]["semantic"]["codebook_size"] == 8192

    out = tmp_path / "decode"
    assert decode(tiny_model_dir, codes, out, "--batch_size", batch_size) == 0
    wav_scp = read_table(out / "wav" / "wav.scp")
    assert sorted(wav_scp) == good and sorted(read_table(out / "rtf")) == good
    for utt, path in wav_scp.items():
        audio, sr = soundfile.read(path)
        assert sr == 16000 and audio.shape == (320 * FRAMES,) and np.abs(audio).max() <= 1.0
    assert all(float(s) > 0 for s in read_table(out / "rtf").values())


def test_batched_tokens_keep_globals_exact(tiny_model_dir, data_dir, tmp_path):
    tokenize(tiny_model_dir, data_dir, tmp_path / "b1")
    tokenize(tiny_model_dir, data_dir, tmp_path / "b3", "--batch_size", "3")
    one, three = load_tokens(tmp_path / "b1"), load_tokens(tmp_path / "b3")
    for utt in one:  # equal lengths here, so padding cannot change anything
        np.testing.assert_array_equal(one[utt]["global"], three[utt]["global"])
        np.testing.assert_array_equal(one[utt]["semantic"], three[utt]["semantic"])


def test_rerun_skips_and_other_model_needs_overwrite(tiny_model_dir, data_dir, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    codes = tmp_path / "codes"
    tokenize(tiny_model_dir, data_dir, codes)
    stamp = os.stat(codes / "semantic.ark").st_mtime_ns
    assert tokenize(tiny_model_dir, data_dir, codes) == 0
    assert os.stat(codes / "semantic.ark").st_mtime_ns == stamp and "skipping" in caplog.text
    other = save_tiny_model(tmp_path / "other", seed=1, commitment=0.5)
    with pytest.raises(UserError, match="tokens of another model .* --overwrite true"):
        tokenize(other, data_dir, codes)
    assert tokenize(other, data_dir, codes, "--overwrite", "true") == 0
    assert json.loads((codes / INFO_FILE).read_text())["model_dir"] == str(other)


def test_parts_merge_and_decode_resumes(tiny_model_dir, data_dir, tmp_path, monkeypatch):
    data = DataDir.load(data_dir)
    for part, spk in enumerate(data.speakers, 1):
        data.subset(data.spk2utt[spk]).save(tmp_path / f"split2/{part}")
        assert tokenize(tiny_model_dir, tmp_path / f"split2/{part}", tmp_path / f"codes/part.{part}") == 0
    assert merge_scp.main(["--out_dir", str(tmp_path / "codes"), *(str(tmp_path / f"codes/part.{p}") for p in (1, 2))]) == 0
    assert len(load_tokens(tmp_path / "codes")) == 3 and list(read_failed(tmp_path / "codes")) == [SHORT_UTT]

    calls, crashed = [], []
    real = runner.decode_batch

    def crash_on_second(model, items, *args):  # the first run dies on its second utterance
        calls.append(len(items))
        if len(calls) == 2 and not crashed:
            crashed.append(True)
            raise RuntimeError("simulated crash")
        return real(model, items, *args)

    monkeypatch.setattr(runner, "decode_batch", crash_on_second)
    out = tmp_path / "decode"
    with pytest.raises(RuntimeError, match="simulated crash"):
        decode(tiny_model_dir, tmp_path / "codes", out)
    assert len(list((out / "wav").glob("*.wav"))) == 1 and not (out / "wav" / "wav.scp").exists()
    calls.clear()
    assert decode(tiny_model_dir, tmp_path / "codes", out, "--dtype", "bfloat16") == 0
    assert calls == [1, 1]  # only the two missing utterances
    assert len(read_table(out / "rtf")) == 3 and len(read_table(out / "wav" / "wav.scp")) == 3
    calls.clear()
    assert decode(tiny_model_dir, tmp_path / "codes", out) == 0 and calls == []  # finished: skipped


def test_everything_failed_exits_nonzero(tiny_model_dir, data_dir, tmp_path):
    data = DataDir.load(data_dir)
    data.subset([SHORT_UTT]).save(tmp_path / "short")
    assert tokenize(tiny_model_dir, tmp_path / "short", tmp_path / "codes") == 1
    assert list(read_failed(tmp_path / "codes")) == [SHORT_UTT]
    assert not (tmp_path / "codes" / INFO_FILE).exists()


def test_version_mismatch_is_one_line_error(tiny_model_dir, data_dir, tmp_path, capsys):
    codes = tmp_path / "codes"
    tokenize(tiny_model_dir, data_dir, codes)
    info = json.loads((codes / INFO_FILE).read_text())
    info["version"] = 0
    (codes / INFO_FILE).write_text(json.dumps(info))
    argv = ["--model_dir", str(tiny_model_dir), "--codes_dir", str(codes), "--out_dir", str(tmp_path / "d")]
    assert run_main(codec_decode.main, argv) == 2
    err = capsys.readouterr().err
    assert f"{codes / INFO_FILE}: token file format version 0" in err and "Traceback" not in err


@pytest.mark.parametrize("argv, phrase", [
    (["--device", "tpu"], "--device 'tpu'"),
    (["--model_dir", "/nonexistent"], "/nonexistent"),
])
def test_bad_arguments(tiny_model_dir, data_dir, tmp_path, argv, phrase):
    base = {"--model_dir": str(tiny_model_dir), "--data_dir": str(data_dir), "--out_dir": str(tmp_path / "c")}
    base.update(dict(zip(argv[::2], argv[1::2])))
    with pytest.raises(UserError, match=phrase):
        codec_tokenize.main([x for kv in base.items() for x in kv])


def test_decode_refuses_tokens_of_another_vocabulary(tiny_model_dir, data_dir, tmp_path):
    tokenize(tiny_model_dir, data_dir, tmp_path / "codes")
    small = save_tiny_model(tmp_path / "small", codebook_size=1024)
    with pytest.raises(UserError, match="do not fit the model"):
        decode(small, tmp_path / "codes", tmp_path / "d")
