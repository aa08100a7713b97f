"""Reference runs in a report: measured long runs set beside a short run's means, with the gap on shared metrics."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tts_codec.bin import make_report
from tts_codec.errors import UserError
from tts_codec.eval.report import format_number, load_score_dir
from tts_codec.eval.report.reference_runs import ReferenceRun, load_reference_runs, reference_section
from tts_codec.testing.score_dirs import fake_utt_ids, make_score_dir

RECIPE_FILES = sorted((Path(__file__).parents[2] / "egs/mini/tts1/conf/reference_runs").glob("*.tsv"))


def _write(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_parses_runs_comments_and_missing_cells(tmp_path: Path):
    path = _write(tmp_path / "ref.tsv", "# measured elsewhere", "system\tsetup\twer\tsim", "",
                  "long run\t30 min\t0.5\t0.8", "other\tby hand\t-\t0.7")
    assert load_reference_runs(path) == [ReferenceRun("long run", "30 min", {"wer": 0.5, "sim": 0.8}),
                                         ReferenceRun("other", "by hand", {"sim": 0.7})]


@pytest.mark.parametrize("lines, message", [
    (["sys\tsetup\twer", "a\tb\t1"], ":1: the header must be"),
    (["system\tsetup", "a\tb"], ":1: the header must be"),
    (["system\tsetup\twer\twer", "a\tb\t1\t2"], ":1: header columns must be distinct"),
    (["# only a comment", "system\tsetup\twer", "a\tb\t1\t2"], ":3: 4 tab-separated cells, the header has 3"),
    (["system\tsetup\twer", "a\tb\tlots"], ":2: wer = 'lots' is not a finite number"),
    (["system\tsetup\twer", "a\tb\tnan"], ":2: wer = 'nan' is not a finite number"),
    (["system\tsetup\twer", "\tb\t1"], ":2: empty system name"),
    (["system\tsetup\twer"], "no run line"),
    (["# nothing"], "no header line"),
    (["system\tsetup\twer", "a\tb\t1", "a\tc\t2"], "system names repeat"),
])
def test_malformed_files_are_refused_with_their_line(tmp_path: Path, lines, message):
    with pytest.raises(UserError, match=message):
        load_reference_runs(_write(tmp_path / "ref.tsv", *lines))


def test_section_shows_this_runs_means_and_the_gaps(tmp_path: Path):
    sdir = load_score_dir(make_score_dir(tmp_path / "s", fake_utt_ids(6), seed=1), "short")
    wer, sim = sdir.summary["wer"].mean, sdir.summary["sim"].mean
    runs = [ReferenceRun("long", "30 min", {"wer": 0.25, "sim": 0.9}), ReferenceRun("gt", "ceiling", {"sim": 1.0})]
    lines = reference_section(sdir, runs, "ref.tsv")
    table = {cells[0]: cells for cells in
             ([c.strip() for c in line.strip("|").split(" | ")] for line in lines if line.startswith("| "))}
    assert table["metric"][2:] == ["this run", "long (gap)", "gt (gap)"]
    assert set(table) == {"metric", "---", "wer", "sim"}  # only metrics with a reference figure
    assert table["wer"][1:] == ["↓", format_number(wer), f"0.2500 ({_signed(0.25 - wer)})", "–"]
    assert table["sim"][3] == f"0.9000 ({_signed(0.9 - sim)})"
    assert "- **long**: 30 min" in lines


def _signed(value: float) -> str:
    return ("+" if value >= 0 else "−") + format_number(abs(value))


def test_no_shared_metric_is_said(tmp_path: Path):
    sdir = load_score_dir(make_score_dir(tmp_path / "s", fake_utt_ids(3)), "short")
    lines = reference_section(sdir, [ReferenceRun("r", "x", {"not_a_metric": 1.0})], "ref.tsv")
    assert lines[-1] == "No metric of this run has a reference figure."


def test_make_report_appends_the_section(tmp_path: Path):
    sdir = make_score_dir(tmp_path / "s", fake_utt_ids(4))
    ref = _write(tmp_path / "ref.tsv", "system\tsetup\twer", "long\t30 min\t0.3")
    assert make_report.main(["--score_dir", str(sdir), "--out_dir", str(tmp_path / "r"), "--html", "false",
                             "--reference_runs", str(ref)]) == 0
    md = (tmp_path / "r/RESULTS.md").read_text()
    wer = json.loads((sdir / "summary.json").read_text())["metrics"]["wer"]["mean"]
    assert "## Against reference runs" in md and f"| wer | ↓ | {format_number(wer)} | 0.3000 (" in md


def test_a_bad_reference_file_leaves_an_old_report_alone(tmp_path: Path):
    sdir = make_score_dir(tmp_path / "s", fake_utt_ids(4))
    (tmp_path / "r").mkdir()
    (tmp_path / "r/RESULTS.md").write_text("old")
    ref = _write(tmp_path / "ref.tsv", "system\tsetup\twer", "long\t30 min\tx")
    with pytest.raises(UserError, match="ref.tsv:2"):
        make_report.main(["--score_dir", str(sdir), "--out_dir", str(tmp_path / "r"), "--html", "false",
                          "--reference_runs", str(ref), "--overwrite", "true"])
    assert (tmp_path / "r/RESULTS.md").read_text() == "old"


@pytest.mark.parametrize("path", RECIPE_FILES, ids=lambda p: p.name)
def test_the_recipe_reference_files_parse(path: Path):
    runs = load_reference_runs(path)
    assert runs and all({"wer", "sim"} <= set(run.metrics) for run in runs)
