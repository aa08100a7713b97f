"""Kaldi tables: round trips, C order, and errors that name the file and line."""
import os
import subprocess

import pytest

from tts_codec.data.table import read_entries, read_key_list, read_table, write_table
from tts_codec.errors import UserError


def test_round_trip_sorts_and_joins_lists(tmp_path):
    path = tmp_path / "spk2utt"
    write_table(path, {"spk2": ["spk2-a", "spk2-b"], "spk1": "spk1-a  two  spaces"})
    assert path.read_text() == "spk1 spk1-a  two  spaces\nspk2 spk2-a spk2-b\n"
    assert read_table(path) == {"spk1": "spk1-a  two  spaces", "spk2": "spk2-a spk2-b"}


def test_order_matches_lc_all_c_sort(tmp_path):
    keys = ["b", "B", "a-1", "a_1", "a1", "Z", "é", "ä", "a", "aa", "10", "9"]
    path = tmp_path / "t"
    write_table(path, {k: "x" for k in keys})
    sorted_by_sort = subprocess.run(["sort"], input=path.read_bytes(), capture_output=True, check=True,
                                    env={**os.environ, "LC_ALL": "C"}).stdout
    assert path.read_bytes() == sorted_by_sort


@pytest.mark.parametrize("content, line, phrase", [
    (b"a 1\nb 2\na 3\n", 3, "duplicate key 'a' (first on line 1)"),
    (b"a 1\nb\n", 2, "key 'b' has no value"),
    (b"a 1\n\nb 2\n", 2, "empty line"),
    (b"a 1\nb caf\xe9\n", 2, "invalid UTF-8"),
])
def test_errors_name_file_and_line(tmp_path, content, line, phrase):
    path = tmp_path / "wav.scp"
    path.write_bytes(content)
    with pytest.raises(UserError, match=rf"wav\.scp:{line}: .*") as err:
        read_table(path)
    assert phrase in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="nope: no such file"):
        read_table(tmp_path / "nope")


def test_entries_keep_duplicates_and_empty_values(tmp_path):
    path = tmp_path / "text"
    path.write_bytes(b"u1 hello  world \nu1\n\n")
    assert [tuple(e) for e in read_entries(path)] == [("u1", "hello  world", 1), ("u1", "", 2), ("", "", 3)]


def test_key_list_ignores_extra_fields(tmp_path):
    path = tmp_path / "list"
    path.write_text("u2 whatever\nu1\n")
    assert read_key_list(path) == ["u2", "u1"]


def test_write_is_atomic_and_keeps_old_file_on_error(tmp_path):
    path = tmp_path / "utt2spk"
    write_table(path, {"u1": "s1"})
    with pytest.raises(UserError, match="utt2spk: table key 'bad key' is empty or contains whitespace"):
        write_table(path, {"bad key": "s1"})
    assert path.read_text() == "u1 s1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["utt2spk"]
