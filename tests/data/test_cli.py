"""The data-dir verbs end to end: `main(argv)`, one-line errors with exit 2, and the Kaldi-named utils/*.sh."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tts_codec.bin import (combine_data, copy_data_dir, filter_scp, fix_data_dir, spk2utt_to_utt2spk, split_data,
                           subset_data_dir, utt2spk_to_spk2utt, validate_data_dir)
from tts_codec.cli import run_main
from tts_codec.data.datadir import DataDir
from tts_codec.testing.datadirs import BREAKAGES, make_data_dir

REPO = Path(__file__).resolve().parents[2]


def run(module, argv, capsys):
    code = run_main(module.main, [str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_ok(tmp_path, capsys):
    data = make_data_dir(tmp_path)
    code, out, _ = run(validate_data_dir, [data], capsys)
    assert code == 0 and out.strip() == f"{data}: OK (6 utterances, 2 speakers, 6 recordings, 0 warnings)"


@pytest.mark.parametrize("kind", sorted(BREAKAGES))
def test_validate_errors_are_one_line_exit_2(tmp_path, capsys, kind):
    data = make_data_dir(tmp_path)
    breakage = BREAKAGES[kind](data)
    code, _, err = run(validate_data_dir, ["--strict", data], capsys)  # some breakages only --strict refuses
    last = err.strip().splitlines()[-1]
    assert code == 2 and "Traceback" not in err
    where = f"{data / breakage.file}:{breakage.line}:" if breakage.line else f"{data / breakage.file}: "
    assert last.split(": error: ", 1)[1].startswith(where) and breakage.phrase in last


def test_validate_flags(tmp_path, capsys):
    data = make_data_dir(tmp_path)
    BREAKAGES["not_audio"](data)
    (data / "text").unlink()
    assert run(validate_data_dir, [data, "--no-audio-check", "--no_text"], capsys)[0] == 0


def test_fix_subset_split_combine_copy(tmp_path, capsys):
    data = make_data_dir(tmp_path, num_speakers=3)
    BREAKAGES["unsorted"](data)
    assert run(fix_data_dir, [data], capsys)[1].strip() == (f"{data}: kept 9 utterances, removed 0 "
                                                             f"(originals in {data / '.backup' / '1'})")
    assert run(subset_data_dir, ["--first", 4, data, tmp_path / "sub"], capsys)[0] == 0
    assert DataDir.load(tmp_path / "sub").utt_ids[-1] == "spk2-utt1"
    code, out, _ = run(split_data, ["--per-spk", data, 3], capsys)
    assert code == 0 and out.strip() == str(data / "split3")
    assert run(copy_data_dir, ["--utt-prefix", "b-", "--spk_prefix", "b-", data, tmp_path / "b"], capsys)[0] == 0
    code, out, _ = run(combine_data, [tmp_path / "all", data, tmp_path / "b"], capsys)
    assert code == 0 and "18 utterances, 6 speakers from 2 dirs" in out
    code, _, err = run(combine_data, [tmp_path / "all", data], capsys)
    assert code == 2 and "already exists; pass --overwrite true" in err
    assert run(combine_data, ["--overwrite", "true", tmp_path / "all", data], capsys)[0] == 0
    code, _, err = run(split_data, [data, 10], capsys)
    assert code == 2 and "cannot split" in err and "Traceback" not in err


def test_spk2utt_round_trip_and_filter(tmp_path, capsys):
    data = make_data_dir(tmp_path)
    code, out, _ = run(utt2spk_to_spk2utt, [data / "utt2spk"], capsys)
    assert code == 0 and out == (data / "spk2utt").read_text()
    code, out, _ = run(spk2utt_to_utt2spk, [data / "spk2utt"], capsys)
    assert code == 0 and out == (data / "utt2spk").read_text()
    (tmp_path / "ids").write_text("spk1-utt2\nspk2-utt3\n")
    code, out, _ = run(filter_scp, [tmp_path / "ids", data / "text"], capsys)
    assert [line.split()[0] for line in out.splitlines()] == ["spk1-utt2", "spk2-utt3"]
    assert run(filter_scp, ["--exclude", tmp_path / "ids", data / "text", tmp_path / "out"], capsys)[0] == 0
    assert len((tmp_path / "out").read_text().splitlines()) == 4
    code, _, err = run(filter_scp, [tmp_path / "nope", data / "text"], capsys)
    assert code == 2 and "nope: no such file" in err


def _sh(script, *args):
    env = {**os.environ, "PYTHON": sys.executable, "PYTHONPATH": str(REPO)}
    return subprocess.run(["bash", str(REPO / "utils" / script), *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=120)


def test_kaldi_named_wrappers(tmp_path):
    data = make_data_dir(tmp_path)
    assert _sh("validate_data_dir.sh", "--no-audio-check", data).returncode == 0
    (data / "spk2utt").unlink()
    proc = _sh("validate_data_dir.sh", data)
    assert proc.returncode == 2 and proc.stderr.strip().endswith(
        f"error: {data}/spk2utt: missing; create it with utils/utt2spk_to_spk2utt.sh or utils/fix_data_dir.sh")
    proc = _sh("utt2spk_to_spk2utt.sh", data / "utt2spk")
    assert proc.returncode == 0 and proc.stdout.startswith("spk1 spk1-utt1 spk1-utt2 spk1-utt3\n")
    assert _sh("fix_data_dir.sh", data).returncode == 0
    assert _sh("split_data.sh", "--per-spk", data, 2).returncode == 0
    assert DataDir.load(data / "split2" / "2").speakers == ["spk2"]


WRAPPERS = {
    "validate_data_dir.sh": "validate_data_dir", "fix_data_dir.sh": "fix_data_dir",
    "subset_data_dir.sh": "subset_data_dir", "split_data.sh": "split_data", "combine_data.sh": "combine_data",
    "copy_data_dir.sh": "copy_data_dir", "utt2spk_to_spk2utt.sh": "utt2spk_to_spk2utt",
    "spk2utt_to_utt2spk.sh": "spk2utt_to_utt2spk", "filter_scp.sh": "filter_scp",
}


@pytest.mark.parametrize("script", sorted(WRAPPERS))
def test_every_wrapper_runs_its_verb(script):
    path = REPO / "utils" / script
    assert os.access(path, os.X_OK), f"{path} is not executable"
    assert f'exec "${{PYTHON}}" -m tts_codec.bin.{WRAPPERS[script]} "$@"' in path.read_text()
    proc = _sh(script, "--help")
    assert proc.returncode == 0 and "usage:" in proc.stdout


def test_wrappers_find_the_project_venv_outside_a_recipe(tmp_path):
    """No PYTHON, no active venv, system PATH, run through a recipe's utils symlink from elsewhere."""
    if not (REPO / ".venv" / "bin" / "python").is_file():
        pytest.skip(f"{REPO}/.venv/bin/python does not exist")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHON", "VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONPATH")}
    env["PATH"] = "/usr/bin:/bin"
    (tmp_path / "utt2spk").write_text("a-1 a\na-2 a\n")
    proc = subprocess.run([str(REPO / "egs" / "mini" / "tts1" / "utils" / "utt2spk_to_spk2utt.sh"), "utt2spk"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "a a-1 a-2\n"


@pytest.mark.parametrize("kind, value, ok", [
    ("positive_int", "3", 3), ("positive_int", "0", None), ("positive_int", "1.5", None), ("positive_int", "x", None),
    ("non_negative_int", "0", 0), ("non_negative_int", "-1", None),
    ("positive_float", "0.5", 0.5), ("positive_float", "0", None), ("positive_float", "inf", None),
    ("non_negative_float", "0", 0.0), ("non_negative_float", "nan", None),
    ("probability", "1", 1.0), ("probability", "1.01", None), ("probability", "-0.1", None),
])
def test_numeric_option_types_share_one_message(kind, value, ok, capsys):
    from tts_codec import cli

    parser = cli.new_parser("t")
    parser.add_argument("--opt", type=getattr(cli, kind))
    if ok is not None:
        assert parser.parse_args(["--opt", value]).opt == ok
        return
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["--opt", value])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert exc.value.code == 2
    assert ": error: argument --opt: expected " in err and err.endswith(f"got {value!r}")
