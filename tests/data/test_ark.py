"""kaldiio-backed ark/scp: dtype/shape round trips, atomic writes, errors naming the scp line."""
import numpy as np
import pytest

from tts_codec.data.ark import ArkWriter, load_scp_dict, read_scp, write_ark
from tts_codec.errors import UserError

ARRAYS = {
    "float32 matrix": np.random.default_rng(0).standard_normal((7, 5)).astype(np.float32),
    "float64 vector": np.random.default_rng(1).standard_normal(9),
    "int32 tokens": np.array([0, 5, 4095, -1, 2**31 - 1], dtype=np.int32),
    "int64 tokens": np.array([0, 2**40, 7], dtype=np.int64),
    "int64 levels": np.arange(12, dtype=np.int64).reshape(3, 4),
    "float32 3-D": np.ones((2, 3, 4), dtype=np.float32),
    "empty int32": np.zeros(0, dtype=np.int32),
}


@pytest.mark.parametrize("name", sorted(ARRAYS))
def test_round_trip_keeps_dtype_shape_values(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    array = ARRAYS[name]
    write_ark("feats/x.ark", "feats/x.scp", {"utt-b": array, "utt-a": array[::-1].copy()})
    for key, loaded in read_scp("feats/x.scp"):
        expected = array if key == "utt-b" else array[::-1]
        assert loaded.dtype == array.dtype and loaded.shape == array.shape
        np.testing.assert_array_equal(loaded, expected)
    lazy = load_scp_dict("feats/x.scp")
    assert list(lazy) == ["utt-a", "utt-b"] and len(lazy) == 2
    np.testing.assert_array_equal(lazy["utt-b"], array)


def test_scp_points_at_final_ark_and_no_temp_files(tmp_path):
    ark, scp = tmp_path / "o" / "codes.1.ark", tmp_path / "o" / "codes.1.scp"
    with ArkWriter(ark, scp) as writer:
        writer["b"] = ARRAYS["int32 tokens"]
        writer["a"] = ARRAYS["float32 matrix"]
        assert not scp.exists() and not ark.exists()  # nothing final before the block ends
        assert len(writer) == 2
    lines = scp.read_text().splitlines()
    assert [line.split()[0] for line in lines] == ["a", "b"]  # C-sorted
    assert all(line.split()[1].startswith(f"{ark}:") for line in lines)
    assert sorted(p.name for p in ark.parent.iterdir()) == ["codes.1.ark", "codes.1.scp"]
    raw = ark.read_bytes()
    offset = int(lines[1].rsplit(":", 1)[1])
    assert raw[offset - 2:offset + 3] == b"b \0B\4"  # Kaldi's binary int32-vector record


def test_failure_leaves_nothing(tmp_path):
    ark, scp = tmp_path / "x.ark", tmp_path / "x.scp"
    with pytest.raises(RuntimeError, match="boom"):
        with ArkWriter(ark, scp) as writer:
            writer["a"] = ARRAYS["int64 tokens"]
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_refuses_to_clobber(tmp_path):
    ark, scp = tmp_path / "x.ark", tmp_path / "x.scp"
    write_ark(ark, scp, {"a": ARRAYS["int64 tokens"]})
    with pytest.raises(UserError, match="ark .*x.ark already exists; pass --overwrite true"):
        write_ark(ark, scp, {"a": ARRAYS["int32 tokens"]})
    write_ark(ark, scp, {"a": ARRAYS["int32 tokens"]}, overwrite=True)
    assert next(read_scp(scp))[1].dtype == np.int32


def test_bad_keys(tmp_path):
    with ArkWriter(tmp_path / "x.ark", tmp_path / "x.scp") as writer:
        writer["a"] = ARRAYS["int64 tokens"]
        with pytest.raises(ValueError, match="written twice"):
            writer["a"] = ARRAYS["int64 tokens"]
        with pytest.raises(ValueError, match="whitespace"):
            writer["a b"] = ARRAYS["int64 tokens"]


def test_missing_ark_names_the_scp_line(tmp_path):
    ark, scp = tmp_path / "x.ark", tmp_path / "x.scp"
    write_ark(ark, scp, {"a": ARRAYS["int32 tokens"], "b": ARRAYS["int64 tokens"]})
    scp.write_text(scp.read_text().splitlines()[0] + f"\nb {tmp_path}/gone.ark:2\n")
    with pytest.raises(UserError, match=rf"x\.scp:2: 'b': ark file .*gone\.ark not found"):
        list(read_scp(scp))
    with pytest.raises(UserError, match=r"x\.scp:2: 'b': ark file"):
        load_scp_dict(scp)["b"]


def test_corrupt_offset_and_bad_scp(tmp_path):
    ark, scp = tmp_path / "x.ark", tmp_path / "x.scp"
    write_ark(ark, scp, {"a": ARRAYS["float32 matrix"]})
    scp.write_text(f"a {ark}:9999\n")
    with pytest.raises(UserError, match=r"x\.scp:1: 'a': cannot read"):
        list(read_scp(scp))
    scp.write_text(f"a {ark}:2\na {ark}:2\n")
    with pytest.raises(UserError, match=r"x\.scp:2: duplicate key 'a'"):
        load_scp_dict(scp)
