"""RESULTS.md: the table shows summary.json's numbers, failures are counted, systems compare side by side."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from tts_codec.bin import make_report
from tts_codec.cli import run_main
from tts_codec.errors import UserError
from tts_codec.eval.report import format_number, load_score_dir
from tts_codec.eval.report.paired import paired_differences
from tts_codec.eval.report.results_md import render_results_md
from tts_codec.testing.score_dirs import fake_utt_ids, make_score_dir


def _table(md: str, heading: str) -> tuple[list[str], list[list[str]]]:
    """The first markdown table after `## heading`: (header cells, body rows)."""
    lines = md.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0].splitlines()
    rows = [[c.strip() for c in line.strip().strip("|").split(" | ")] for line in lines if line.startswith("|")]
    return rows[0], rows[2:]


@pytest.fixture()
def score_dir(tmp_path: Path) -> Path:
    utts = fake_utt_ids(7)
    fails = {utts[1]: {"pesq_wb": "pesq: no utterances detected"}, utts[3]: {"pesq_wb": "pesq: no utterances detected"},
             utts[4]: {"sim": "no speech after VAD", "pesq_wb": "audio too short"}}
    return make_score_dir(tmp_path / "score", utts, seed=3, failures=fails)


@pytest.mark.parametrize(
    "value, text",
    [(0.23456, "0.2346"), (4.64, "4.640"), (650.0, "650.0"), (12345.4, "12345"), (0.0, "0"), (-0.5, "-0.5000"),
     (0.000123456, "0.0001235"), (None, "–")],
)
def test_format_number(value, text):
    assert format_number(value) == text


def test_table_equals_summary_json(score_dir: Path):
    summary = json.loads((score_dir / "summary.json").read_text())["metrics"]
    md = render_results_md([load_score_dir(score_dir, "sys")], "exp1")
    header, rows = _table(md, "Metrics")
    assert header == ["metric", "", "mean", "95% CI", "n", "failed"]
    expected_names = [n for m in summary for n in ([m, f"{m} (corpus)"] if "corpus" in summary[m] else [m])]
    assert [r[0] for r in rows] == expected_names  # every metric in summary.json order, plus corpus-level rows
    assert "wer (corpus)" in expected_names and "eer" in expected_names
    for name, arrow, mean, ci, n, failed in rows:
        entry = summary[name.removesuffix(" (corpus)")]
        figure = entry["corpus"] if name.endswith(" (corpus)") else entry["mean"]
        assert arrow == {True: "↑", False: "↓", None: ""}[entry["higher_is_better"]]
        assert mean == format_number(figure)
        assert float(mean) == pytest.approx(figure, rel=5e-4)
        if entry["ci95"] is None or name.endswith(" (corpus)"):
            assert ci == "–"
        else:
            lo, hi = (float(x) for x in ci.strip("[]").split(", "))
            assert (lo, hi) == pytest.approx(tuple(entry["ci95"]), rel=5e-4)
        assert (int(n), int(failed)) == (entry["n"], entry["n_failed"])
    assert {r[0]: int(r[5]) for r in rows}["pesq_wb"] == 3  # two "no utterances" + one "too short"
    assert f"- eer threshold: {format_number(summary['eer']['threshold'])}" in md
    assert "95% CI: percentile bootstrap of the mean" in md


def test_failures_counted_per_reason(score_dir: Path):
    md = render_results_md([load_score_dir(score_dir, "sys")], "exp1")
    _, rows = _table(md, "Failures")
    counts = {(system, metric, reason): int(count) for system, metric, reason, count in rows}
    assert counts == {
        ("sys", "pesq_wb", "pesq: no utterances detected"): 2,
        ("sys", "pesq_wb", "audio too short"): 1,
        ("sys", "sim", "no speech after VAD"): 1,
    }


def test_no_failures_said_so(tmp_path: Path):
    sdir = make_score_dir(tmp_path / "s", fake_utt_ids(3), failures={})
    md = render_results_md([load_score_dir(sdir)], "exp")
    assert "No failures." in md.split("## Failures", 1)[1]


def test_header_models_and_link(score_dir: Path):
    md = render_results_md([load_score_dir(score_dir, "sys")], "my experiment", commit="abc123", date="2026-01-02")
    assert md.startswith("# my experiment\n")
    assert "- date: 2026-01-02" in md and "- git commit: abc123" in md
    assert "protocol: codec resynthesis (fake)" in md
    assert "[html/index.html](html/index.html)" in md
    models = json.loads((score_dir / "summary.json").read_text())["models"]
    model_lines = {line.rsplit(": `", 1)[1]: line.split(": `")[0][2:].split(", ")
                   for line in md.split("## Models", 1)[1].split("## Failures")[0].splitlines() if line.startswith("- ")}
    assert len(model_lines) == len(set(models.values())), "each model is listed once"
    for metric, version in models.items():
        assert metric in model_lines[f"{version}`"]


def test_two_systems_side_by_side(tmp_path: Path):
    utts = fake_utt_ids(6)
    dirs = [make_score_dir(tmp_path / name, utts, seed=seed) for name, seed in (("a", 0), ("b", 1))]
    systems = [load_score_dir(d, n) for d, n in zip(dirs, ("deep", "shallow"))]
    md = render_results_md(systems, "clone")
    header, rows = _table(md, "Metrics")
    assert header[2:] == [f"{n} {c}" for n in ("deep", "shallow") for c in ("mean", "95% CI", "n", "failed")]
    for row in rows:
        metric, arrow = row[0], row[1]
        key = "corpus" if metric.endswith(" (corpus)") else "mean"
        means = []
        for k, sdir in enumerate(dirs):
            entry = json.loads((sdir / "summary.json").read_text())["metrics"][metric.removesuffix(" (corpus)")]
            mean, _, n, failed = row[2 + 4 * k: 6 + 4 * k]
            assert mean.strip("*") == format_number(entry[key])
            assert (int(n), int(failed)) == (entry["n"], entry["n_failed"])
            means.append(entry[key])
        if not arrow:  # descriptive column: no winner
            assert not any(cell.startswith("**") for cell in row)
            continue
        best = (max if arrow == "↑" else min)(means)
        assert [row[2 + 4 * k].startswith("**") for k in range(2)] == [m == best for m in means]  # ties: both
    _, fail_rows = _table(md, "Failures")
    assert Counter(r[0] for r in fail_rows) == Counter({"deep": 2, "shallow": 2})
    assert [r[0] for r in rows if not r[1]] == ["duration_s"]


def test_metric_missing_in_one_system(tmp_path: Path):
    utts = fake_utt_ids(4)
    a, b = make_score_dir(tmp_path / "a", utts), make_score_dir(tmp_path / "b", utts, seed=1)
    summary = json.loads((b / "summary.json").read_text())
    del summary["metrics"]["eer"]
    (b / "summary.json").write_text(json.dumps(summary))
    _, rows = _table(render_results_md([load_score_dir(a), load_score_dir(b)], "x"), "Metrics")
    eer = next(r for r in rows if r[0] == "eer")
    assert eer[6:] == ["–", "–", "–", "–"] and not eer[2].startswith("**")


def test_cli_writes_md_and_refuses_to_clobber(tmp_path: Path, score_dir: Path, capsys):
    out = tmp_path / "report"
    argv = ["--score_dir", str(score_dir), "--out_dir", str(out), "--html", "false", "--title", "t1"]
    assert make_report.main(argv) == 0
    text = (out / "RESULTS.md").read_text()
    assert text.startswith("# t1\n") and "html/index.html" not in text
    assert run_main(make_report.main, argv) == 2
    assert "already exists; pass --overwrite true" in capsys.readouterr().err
    assert make_report.main(argv[:-2] + ["--title", "t2", "--overwrite", "true"]) == 0
    assert (out / "RESULTS.md").read_text().startswith("# t2\n")


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: (d / "per_utt.tsv").write_text("utt\twer\nu1\t0.1\t0.2\n"), "per_utt.tsv:2: 3 columns"),
        (lambda d: (d / "per_utt.tsv").write_text("utt\twer\nu1\tabc\n"), "per_utt.tsv:2: column wer: not a number"),
        (lambda d: (d / "per_utt.tsv").write_text("id\twer\n"), "per_utt.tsv:1: the header must start"),
        (lambda d: (d / "summary.json").write_text("{"), "summary.json:1: not valid JSON"),
        (lambda d: (d / "summary.json").write_text('{"metrics": {"wer": {"mean": 1}}}'),
         "metric 'wer' lacks the key(s) n, n_failed, higher_is_better"),
        (lambda d: (d / "confusion_x.json").write_text('{"labels": ["a"], "matrix": [[1, 2]]}'),
         "confusion_x.json: matrix shape (1, 2) does not match 1 labels"),
        (lambda d: (d / "labels_gender.txt").write_text("u1 female\n"), "labels_gender.txt: u1: expected"),
    ],
)
def test_bad_score_dir_names_the_file(tmp_path: Path, damage, message):
    sdir = make_score_dir(tmp_path / "s", fake_utt_ids(3))
    damage(sdir)
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_score_dir(sdir)


def test_cli_argument_errors(tmp_path: Path, score_dir: Path, capsys):
    base = ["--score_dir", str(score_dir), "--out_dir", str(tmp_path / "o")]
    assert run_main(make_report.main, base + ["--name", "a", "--name", "b"]) == 2
    assert "--name given 2 times for 1 --score_dir" in capsys.readouterr().err
    assert run_main(make_report.main, base + ["--score_dir", str(score_dir)] + ["--html", "false"]) == 2
    assert "system names must differ" in capsys.readouterr().err
    assert run_main(make_report.main, ["--score_dir", str(tmp_path / "nope"), "--out_dir", str(tmp_path)]) == 2
    assert "nope: no such directory" in capsys.readouterr().err
    # summary.json of the fixture names no generated audio, so the page needs it on the command line
    assert run_main(make_report.main, base) == 2
    assert "--gen_scp is required" in capsys.readouterr().err
    assert run_main(make_report.main, base + ["--gen_scp", str(tmp_path / "none.scp")]) == 2
    assert f"--gen_scp: {tmp_path / 'none.scp'} does not exist" in capsys.readouterr().err


def test_paired_differences_are_per_utterance_over_both_scored(tmp_path: Path):
    """Hand-computed: the mean of b - a over the utterances where both have the metric, and its bootstrap."""
    utts = fake_utt_ids(8)
    a = load_score_dir(make_score_dir(tmp_path / "a", utts, seed=0), "a")
    b = load_score_dir(make_score_dir(tmp_path / "b", utts, seed=1), "b")
    diffs = {(d.metric, d.system): d for d in paired_differences([a, b])}
    assert {m for m, _ in diffs} == {"wer", "pesq_wb", "sim"}  # duration_s has no direction: not compared
    for metric in ("wer", "pesq_wb", "sim"):
        both = sorted(u for u in utts if a.scores[u].get(metric) is not None and b.scores[u].get(metric) is not None)
        assert 0 < len(both) < len(utts) or metric == "wer"  # the default failures drop some pesq/sim cells
        expected = np.array([b.scores[u][metric] - a.scores[u][metric] for u in both])
        d = diffs[(metric, "b")]
        assert (d.n, d.baseline) == (len(both), "a")
        assert d.mean == pytest.approx(expected.mean())
        assert expected.min() <= d.ci95[0] <= d.mean <= d.ci95[1] <= expected.max()


def test_paired_verdict_follows_the_metric_direction(tmp_path: Path):
    utts = fake_utt_ids(6)
    a = load_score_dir(make_score_dir(tmp_path / "a", utts, failures={}), "a")
    b = load_score_dir(make_score_dir(tmp_path / "a", utts, failures={}), "b")  # the same scores
    for row in b.scores.values():
        row["sim"] += 0.1  # higher is better: every utterance better
        row["wer"] += 0.5  # lower is better: every utterance worse
    verdicts = {d.metric: (d.verdict, round(d.mean, 9), d.ci95) for d in paired_differences([a, b])}
    assert verdicts["sim"][:2] == ("better", 0.1) and verdicts["sim"][2] == pytest.approx((0.1, 0.1))
    assert verdicts["wer"][:2] == ("worse", 0.5)
    assert verdicts["pesq_wb"] == ("unresolved", 0.0, (0.0, 0.0))
    assert paired_differences([a]) == []


def test_paired_section_in_results_md(tmp_path: Path):
    utts = fake_utt_ids(6)
    systems = [load_score_dir(make_score_dir(tmp_path / n, utts, seed=s), n) for n, s in (("base", 0), ("new", 1))]
    md = render_results_md(systems, "clone")
    header, rows = _table(md, "Paired differences against base")
    assert header == ["metric", "", "system", "mean difference", "95% CI", "n", "verdict"]
    expected = paired_differences(systems)
    assert [(r[0], r[2], r[3], r[5], r[6]) for r in rows] == [
        (d.metric, d.system, format_number(d.mean), str(d.n), d.verdict) for d in expected]
    assert "Difference = system - base, per utterance" in md
    assert "## Paired differences" not in render_results_md(systems[:1], "one system")
