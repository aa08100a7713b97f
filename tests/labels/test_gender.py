"""Gender labels from metadata: utt2gender before spk2gender, `unknown` without either, bad values named."""
from __future__ import annotations

import pytest

from tts_codec.data.datadir import DataDir
from tts_codec.errors import UserError
from tts_codec.labels.gender import metadata_genders
from tts_codec.testing.datadirs import make_data_dir


def test_utt2gender_then_spk2gender_then_unknown(tmp_path):
    path = make_data_dir(tmp_path, num_speakers=3, utts_per_speaker=2)  # spk1 m, spk2 f, spk3 m
    (path / "utt2gender").write_text("spk1-utt1 F\nspk1-utt2 unknown\nspk2-utt1 1\n")
    (path / "spk2gender").write_text("spk1 m\nspk2 f\n")
    assert metadata_genders(DataDir.load(path)) == {
        "spk1-utt1": "female", "spk1-utt2": "male", "spk2-utt1": "male", "spk2-utt2": "female",
        "spk3-utt1": "unknown", "spk3-utt2": "unknown"}


def test_bad_gender_value_names_file_and_key(tmp_path):
    path = make_data_dir(tmp_path)
    (path / "utt2gender").write_text("spk1-utt1 robot\n")
    with pytest.raises(UserError, match=r"utt2gender: entry spk1-utt1: unknown gender label 'robot'"):
        metadata_genders(DataDir.load(path))
