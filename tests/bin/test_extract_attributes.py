"""extract_attributes end to end: labels in place, Kaldi-style parallel jobs through utils/run.sh then a merge that
equals the one-process result, resume, and refusing to clobber labels of unknown origin."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tts_codec.bin import extract_attributes, split_data
from tts_codec.data.datadir import DataDir
from tts_codec.data.table import read_table
from tts_codec.data.validate import validate_data_dir
from tts_codec.labels.extract import INFO_FILE, LABEL_FILES
from tts_codec.testing.datadirs import make_data_dir

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def labelled(tmp_path) -> Path:
    """A data dir of tones (gender metadata included), labelled in place by one process."""
    data = make_data_dir(tmp_path, name="one", num_speakers=2, utts_per_speaker=3, duration=0.5)
    assert extract_attributes.main(["--data_dir", str(data)]) == 0
    return data


def test_labels_in_place_are_valid_kaldi_extra_files(labelled, caplog):
    validate_data_dir(labelled)
    utts = DataDir.load(labelled).utt_ids
    for name in LABEL_FILES:
        assert sorted(read_table(labelled / name)) == utts, name
    assert read_table(labelled / "utt2gender") == {u: "male" if u.startswith("spk1") else "female" for u in utts}
    assert all(v.isdigit() for v in read_table(labelled / "utt2pitch_value").values())
    before = {name: (labelled / name).read_bytes() for name in LABEL_FILES}
    with caplog.at_level("INFO"):
        assert extract_attributes.main(["--data_dir", str(labelled)]) == 0  # a rerun resumes: nothing measured
    assert "already holds the labels of all 6 utterances; skipping" in caplog.text
    assert before == {name: (labelled / name).read_bytes() for name in LABEL_FILES}


def test_parallel_jobs_and_merge_equal_one_process(labelled, tmp_path):
    data = tmp_path / "two"
    shutil.copytree(labelled, data)
    for name in (*LABEL_FILES[:4], INFO_FILE):
        (data / name).unlink()
    (data / "utt2gender").write_text((tmp_path / "one" / "utt2gender").read_text().replace("female", "f"))
    assert split_data.main([str(data), "2"]) == 0
    env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [str(REPO / "utils" / "run.sh"), "JOB=1:2", str(tmp_path / "log" / "attr.JOB.log"), sys.executable, "-m",
         "tts_codec.bin.extract_attributes", "--data_dir", str(data / "split2" / "JOB"),
         "--out_dir", str(tmp_path / "parts" / "part.JOB")], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr + "".join(p.read_text() for p in (tmp_path / "log").glob("*.log"))
    parts = [str(tmp_path / "parts" / f"part.{j}") for j in (1, 2)]
    assert extract_attributes.main(["--data_dir", str(data), "--merge", *parts]) == 0
    for name in (*LABEL_FILES, INFO_FILE):
        assert (data / name).read_bytes() == (labelled / name).read_bytes(), name


def test_foreign_labels_are_not_clobbered(labelled, capsys):
    (labelled / INFO_FILE).unlink()  # utt2pitch now looks like someone else's file
    from tts_codec.cli import run_main

    assert run_main(extract_attributes.main, ["--data_dir", str(labelled)]) == 2
    err = capsys.readouterr().err
    assert f"{labelled}/utt2pitch exists and was not labelled with these settings" in err
    assert "--overwrite true" in err and not (labelled / INFO_FILE).exists()
    assert extract_attributes.main(["--data_dir", str(labelled), "--overwrite", "true"]) == 0
    assert (labelled / INFO_FILE).is_file()


def test_merge_with_out_dir_is_an_option_error(labelled, capsys):
    with pytest.raises(SystemExit) as exit_info:
        extract_attributes.main(["--data_dir", str(labelled), "--out_dir", "x", "--merge", "p1"])
    assert exit_info.value.code == 2 and "--merge writes into --data_dir; drop --out_dir" in capsys.readouterr().err
