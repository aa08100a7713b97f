"""Rules that keep scores truthful: one short-audio rule for every metric, no non-finite number in a score file
(a NaN is a counted failure wherever it appears), --overwrite replaces a score dir whole, devices checked."""
import json

import numpy as np
import pytest

from tts_codec.bin import make_report, merge_scores, score
from tts_codec.cli import run_main
from tts_codec.data.audio import write_wav
from tts_codec.data.table import write_table
from tts_codec.devices import resolve_device
from tts_codec.errors import UserError
from tts_codec.eval.intrusive import stoi_score
from tts_codec.eval.registry import SCORERS, build_scorers
from tts_codec.eval.score_dir import read_score_dir, write_results
from tts_codec.eval.scoring import MIN_SECONDS, EvalItem, EvalOptions, ScoreFailure, UttResult
from tts_codec.testing.score_dirs import fake_utt_ids, make_score_dir, tone

SR = 16000


@pytest.mark.parametrize("samples", [1, int(MIN_SECONDS * SR) - 1])
def test_every_metric_refuses_too_short_audio(tmp_path, samples):
    write_wav(tmp_path / "ref.wav", tone(1.0, SR, 220.0), SR)
    write_wav(tmp_path / "gen.wav", tone(1.0, SR, 220.0)[2000:2000 + samples] + np.float32(0.2), SR)
    item = EvalItem("u", gen=str(tmp_path / "gen.wav"), ref=str(tmp_path / "ref.wav"), text="a tone",
                    prompt=str(tmp_path / "ref.wav"), prompt_recon=str(tmp_path / "ref.wav"))
    for scorer in build_scorers(list(SCORERS), EvalOptions()):
        result = scorer.score([item])[0]
        assert result.values == scorer.worst, scorer.name  # TTS headline metrics count the worst score
        assert set(result.failures) == set(scorer.columns), scorer.name
        assert all("too short to score" in reason for reason in result.failures.values()), result.failures
        assert all(("counted as" in reason) == bool(scorer.worst) for reason in result.failures.values())


def test_stoi_without_enough_frames_is_a_failure_not_a_number():
    x = tone(0.3, SR, 220.0)  # above MIN_SECONDS, below STOI's 30 non-silent frames
    with pytest.raises(ScoreFailure, match="fewer than 30 non-silent frames"):
        stoi_score(x, x)
    assert stoi_score(tone(1.0, SR, 220.0), tone(1.0, SR, 220.0)) == pytest.approx(1.0)


def test_non_finite_values_become_counted_failures(tmp_path):
    results = {"u1": UttResult({"mel": 1.0}), "u2": UttResult({"mel": float("nan")}), "u3": UttResult({"mel": 3.0})}
    summary = write_results(tmp_path, results, {"mel": False}, {"models": {}})
    assert (tmp_path / "per_utt.tsv").read_text().splitlines() == ["utt\tmel", "u1\t1", "u2\t", "u3\t3"]
    assert (tmp_path / "failures.tsv").read_text() == "u2\tmel\tnon-finite value nan\n"
    assert summary["metrics"]["mel"] | {"ci95": None} == {"mean": 2.0, "ci95": None, "n": 2, "n_failed": 1,
                                                        "higher_is_better": False}


def test_nan_cell_of_a_part_is_counted_by_the_merge(tmp_path):
    utts = fake_utt_ids(6)
    parts = [make_score_dir(tmp_path / p, u, failures={}) for p, u in (("p1", utts[:3]), ("p2", utts[3:]))]
    assert (parts[1] / "per_utt.tsv").read_text().split("\t")[2] == "pesq_wb"
    utt = set_cell(parts[1] / "per_utt.tsv", 3, 2, "nan")
    out = tmp_path / "merged"
    assert run_main(merge_scores.main, ["--out_dir", str(out), *map(str, parts)]) == 0
    merged = read_score_dir(out)
    assert merged.per_utt.rows[utt]["pesq_wb"] is None and merged.per_utt.nonfinite == []
    assert [f for f in merged.failures if f.metric == "pesq_wb"] == [(utt, "pesq_wb", "non-finite value nan in "
                                                                      "per_utt.tsv:3")]
    assert merged.summary["metrics"]["pesq_wb"]["n"] == 5 and merged.summary["metrics"]["pesq_wb"]["n_failed"] == 1
    assert merged.summary["n_utts_with_failures"] == 1


def test_merge_overwrite_replaces_the_whole_dir(tmp_path):
    utts = fake_utt_ids(4)
    parts = [make_score_dir(tmp_path / "p1", utts[:2]), make_score_dir(tmp_path / "p2", utts[2:])]
    out = make_score_dir(tmp_path / "merged", fake_utt_ids(8))  # an older, larger run
    (out / "labels_pitch.txt").write_text("stale - low\n")
    argv = ["--out_dir", str(out), *map(str, parts)]
    assert run_main(merge_scores.main, argv) == 2  # refuses without --overwrite
    assert (out / "labels_pitch.txt").is_file()
    assert run_main(merge_scores.main, [*argv, "--overwrite", "true"]) == 0
    assert not (out / "labels_pitch.txt").exists()
    assert json.loads((out / "summary.json").read_text())["n_utts"] == 4
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # nothing left aside


def test_score_counts_a_one_sample_file_as_a_failure(tmp_path):
    utts = ["s1_a", "s1_b", "s1_c"]
    wav_scp, gen = {}, {}
    for k, utt in enumerate(utts):
        write_wav(tmp_path / "ref" / f"{utt}.wav", tone(0.6, SR, 200.0 + 50 * k), SR)
        write_wav(tmp_path / "gen" / f"{utt}.wav", tone(0.6, SR, 200.0 + 50 * k) if k else np.full(1, 0.3), SR)
        wav_scp[utt], gen[utt] = str(tmp_path / "ref" / f"{utt}.wav"), str(tmp_path / "gen" / f"{utt}.wav")
    write_table(tmp_path / "data" / "wav.scp", wav_scp)
    write_table(tmp_path / "data" / "utt2spk", {u: "s1" for u in utts})
    write_table(tmp_path / "gen.scp", gen)
    out = tmp_path / "out"
    argv = ["--metrics", "mel,rtf", "--ref_dir", str(tmp_path / "data"), "--gen_scp", str(tmp_path / "gen.scp"),
            "--out_dir", str(out)]
    assert run_main(score.main, argv) == 0
    metrics = json.loads((out / "summary.json").read_text())["metrics"]
    assert {(m, metrics[m]["n"], metrics[m]["n_failed"]) for m in ("mel", "duration_s")} == {
        ("mel", 2, 1), ("duration_s", 2, 1)}
    assert "too short to score" in (out / "failures.tsv").read_text()


def set_cell(path, line, column, value):
    """Replace one cell of a TSV file (line 1 = header)."""
    lines = path.read_text().splitlines()
    cells = lines[line - 1].split("\t")
    cells[column] = value
    lines[line - 1] = "\t".join(cells)
    path.write_text("\n".join(lines) + "\n")
    return cells[0]


def test_make_report_shows_a_nan_cell_as_a_counted_failure(tmp_path):
    sdir = make_score_dir(tmp_path / "s", fake_utt_ids(4), failures={})
    set_cell(sdir / "per_utt.tsv", 2, 1, "nan")  # the first utterance's wer
    out = tmp_path / "report"
    assert run_main(make_report.main, ["--score_dir", str(sdir), "--out_dir", str(out), "--html", "false"]) == 0
    assert "| wer | non-finite value nan in per_utt.tsv:2 | 1 |" in (out / "RESULTS.md").read_text()


def test_resolve_device():
    import torch

    assert resolve_device("cpu") == "cpu" and resolve_device(" CPU ") == "cpu"
    for name, message in (("gpu", "not a device name"), ("", "not a device name"), ("meta", "is not supported")):
        with pytest.raises(UserError, match=message):
            resolve_device(name)
    if torch.cuda.is_available():
        assert resolve_device("cuda") == "cuda"
        with pytest.raises(UserError, match="CUDA device"):
            resolve_device(f"cuda:{torch.cuda.device_count()}")
    else:
        with pytest.raises(UserError, match="--gpu_flag 'cuda:0': CUDA is not available"):
            resolve_device("cuda:0", "--gpu_flag")


def test_seed_list_may_leave_the_prompt_text_empty(tmp_path):
    from tts_codec.eval.protocols import read_meta_lst

    for name in ("p.wav", "g.wav"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "meta.lst").write_text("u1||p.wav|Say this.|g.wav\n")
    assert read_meta_lst(tmp_path / "meta.lst", strict=True)[0].prompt_text == ""
