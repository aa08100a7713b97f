"""Token files: round trip, codes_info checks (version, codec, dtype), failed lists and merging job parts."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tts_codec.data.token_file import (
    FORMAT_VERSION,
    INFO_FILE,
    CodesInfo,
    StreamInfo,
    TokenWriter,
    config_hash,
    load_tokens,
    merge_codes_dirs,
    read_failed,
    read_info,
)
from tts_codec.data.ark import write_ark
from tts_codec.errors import UserError


def make_info(cfg_hash: str = "abc", codec: str = "bicodec") -> CodesInfo:
    return CodesInfo(codec=codec, sample_rate=16000, hop_length=320, config_hash=cfg_hash, model_dir="exp/m",
                     streams={"semantic": StreamInfo((-1,), 8192), "global": StreamInfo((1, 32), 4096)})


def random_tokens(seed: int, frames: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"semantic": rng.integers(0, 8192, frames), "global": rng.integers(0, 4096, (1, 32))}


def write_codes(path, utts: dict[str, int], info: CodesInfo | None = None, failed: dict | None = None):
    with TokenWriter(path, info or make_info()) as writer:
        for i, (utt, frames) in enumerate(utts.items()):
            writer.add(utt, random_tokens(i, frames))
        for utt, reason in (failed or {}).items():
            writer.fail(utt, reason)
    return path


def test_round_trip_shapes_dtypes_and_info(tmp_path):
    codes = tmp_path / "codes"
    expected = {"b": random_tokens(1, 7), "a": random_tokens(0, 3)}
    with TokenWriter(codes, make_info()) as writer:
        for utt, tokens in expected.items():
            writer.add(utt, tokens)
    tokens = load_tokens(codes, codec="bicodec")
    assert tokens.utt_ids == ["a", "b"]
    for utt, want in expected.items():
        got = tokens[utt]
        assert got["semantic"].shape == want["semantic"].shape and got["semantic"].dtype == np.int32
        assert got["global"].shape == (1, 32) and got["global"].dtype == np.int32
        np.testing.assert_array_equal(got["semantic"], want["semantic"])
        np.testing.assert_array_equal(got["global"], want["global"])
    info = json.loads((codes / INFO_FILE).read_text())
    assert info["version"] == FORMAT_VERSION and info["codec"] == "bicodec" and info["frame_rate"] == 50.0
    assert info["streams"]["global"] == {"shape": [1, 32], "codebook_size": 4096, "dtype": "int32"}
    assert tokens.info.num_frames(tokens["b"]) == 7
    assert read_info(codes) == make_info()


@pytest.mark.parametrize("field, value, phrase", [
    ("version", 99, "format version 99"),
    ("codec", "snac", "codec 'snac'"),
    ("streams", None, "malformed codes info"),
])
def test_info_mismatch_is_a_user_error_naming_the_file(tmp_path, field, value, phrase):
    codes = write_codes(tmp_path / "codes", {"a": 4})
    data = json.loads((codes / INFO_FILE).read_text())
    data[field] = value
    (codes / INFO_FILE).write_text(json.dumps(data))
    with pytest.raises(UserError, match=phrase) as err:
        load_tokens(codes, codec="bicodec")
    assert str(codes / INFO_FILE) in str(err.value)


def test_multi_rate_streams_record_their_stride(tmp_path):
    """A SNAC-like codec: a coarse stream at 1/4 of the finest rate; stride is written and read back."""
    info = CodesInfo(codec="multi", sample_rate=24000, hop_length=512, config_hash="x",
                     streams={"coarse": StreamInfo((-1,), 4096, stride=4), "fine": StreamInfo((-1,), 4096)})
    with TokenWriter(tmp_path / "c", info) as writer:
        writer.add("u", {"coarse": np.arange(3), "fine": np.arange(12)})
    tokens = load_tokens(tmp_path / "c", codec="multi")
    raw = json.loads((tmp_path / "c" / INFO_FILE).read_text())["streams"]
    assert raw["coarse"]["stride"] == 4 and "stride" not in raw["fine"]
    assert tokens.info.same_codes(info) and tokens.info.num_frames(tokens["u"]) == 12


def test_missing_info_means_incomplete(tmp_path):
    with pytest.raises(UserError, match="not a complete codes directory"):
        load_tokens(tmp_path)


def test_stored_dtype_must_match_info(tmp_path):
    codes = write_codes(tmp_path / "codes", {"a": 4})
    write_ark(codes / "semantic.ark", codes / "semantic.scp", {"a": np.zeros(4, dtype=np.int64)}, overwrite=True)
    with pytest.raises(UserError, match="dtype int64, codes_info says int32"):
        load_tokens(codes)["a"]


@pytest.mark.parametrize("tokens, phrase", [
    ({"semantic": np.array([0, 8192]), "global": np.zeros((1, 32), int)}, r"integers in \[0, 8192\)"),
    ({"semantic": np.array([0, -1]), "global": np.zeros((1, 32), int)}, r"integers in \[0, 8192\)"),
    ({"semantic": np.zeros(3, int), "global": np.zeros((1, 31), int)}, r"shape \(1, 31\), expected \(1, 32\)"),
    ({"semantic": np.zeros(0, int), "global": np.zeros((1, 32), int)}, "semantic tokens have shape"),
    ({"semantic": np.zeros(3, np.float32), "global": np.zeros((1, 32), int)}, "must be integers"),
    ({"semantic": np.zeros(3, int)}, "streams"),
])
def test_writer_rejects_bad_tokens(tmp_path, tokens, phrase):
    with pytest.raises(ValueError, match=phrase), TokenWriter(tmp_path / "codes", make_info()) as writer:
        writer.add("a", tokens)
    assert not (tmp_path / "codes" / INFO_FILE).exists() and not (tmp_path / "codes" / "semantic.scp").exists()


def test_failed_file_and_no_info_when_everything_failed(tmp_path):
    codes = write_codes(tmp_path / "ok", {"a": 3}, failed={"z": "too short:\n 100 samples"})
    assert read_failed(codes) == {"z": "too short: 100 samples"}
    none = write_codes(tmp_path / "none", {}, failed={"z": "too short"})
    assert read_failed(none) == {"z": "too short"} and not (none / INFO_FILE).exists()


def test_config_hash_is_canonical():
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})


def test_merge_parts(tmp_path):
    p1 = write_codes(tmp_path / "part.1", {"c": 3, "a": 2}, failed={"x": "too short"})
    p2 = write_codes(tmp_path / "part.2", {"b": 5})
    p3 = write_codes(tmp_path / "part.3", {}, failed={"y": "unreadable"})
    out = tmp_path / "merged"
    merge_codes_dirs([p1, p2, p3], out)
    lines = (out / "semantic.scp").read_text().splitlines()
    assert [line.split()[0] for line in lines] == ["a", "b", "c"]
    merged = load_tokens(out)
    np.testing.assert_array_equal(merged["b"]["semantic"], load_tokens(p2)["b"]["semantic"])
    assert read_failed(out) == {"x": "too short", "y": "unreadable"}
    merge_codes_dirs([p1, p2, p3], out)  # idempotent for the same model
    assert len(load_tokens(out)) == 3


def test_merge_refuses_mixed_models_duplicates_and_unfinished_parts(tmp_path):
    p1 = write_codes(tmp_path / "part.1", {"a": 2})
    other = write_codes(tmp_path / "other", {"b": 2}, info=make_info("zzz"))
    with pytest.raises(UserError, match="parts of different models"):
        merge_codes_dirs([p1, other], tmp_path / "m1")
    dup = write_codes(tmp_path / "dup", {"a": 2})
    with pytest.raises(UserError, match="'a' also appears in another part"):
        merge_codes_dirs([p1, dup], tmp_path / "m2")
    (tmp_path / "unfinished").mkdir()
    with pytest.raises(UserError, match="has not finished"):
        merge_codes_dirs([p1, tmp_path / "unfinished"], tmp_path / "m3")
    merge_codes_dirs([p1], tmp_path / "m4")
    with pytest.raises(UserError, match="another model; pass --overwrite true"):
        merge_codes_dirs([other], tmp_path / "m4")
    merge_codes_dirs([other], tmp_path / "m4", overwrite=True)
    assert read_info(tmp_path / "m4").config_hash == "zzz"
