"""Learning-curve helpers: checkpoint discovery and timing, curve.tsv round trip, the plot, CLI input errors."""
import os

import pytest

from tts_codec.bin import codec_learning_curve
from tts_codec.cli import run_main
from tts_codec.errors import UserError
from tts_codec.eval import learning_curve as lc


def fake_run(root, batches_and_seconds):
    (root / "checkpoints").mkdir(parents=True)
    config = root / "config.yaml"
    config.write_text("codec: bicodec\n")
    os.utime(config, (1000.0, 1000.0))
    for batches, seconds in batches_and_seconds:
        path = root / "checkpoints" / f"batch{batches:08d}.ckpt"
        path.write_bytes(b"")
        os.utime(path, (1000.0 + seconds, 1000.0 + seconds))
    (root / "checkpoints" / "last.ckpt").write_bytes(b"")
    return root


def test_checkpoints_sorted_by_batches_with_minutes_since_start(tmp_path):
    run = fake_run(tmp_path / "run", [(200, 600), (100, 240)])
    found = lc.run_checkpoints(run)
    expected = [("batch00000100.ckpt", 100, 4.0), ("batch00000200.ckpt", 200, 10.0)]
    assert [(p.name, b, m) for p, b, m in found] == expected


def test_a_resumed_run_counts_from_an_estimated_start_not_from_the_rewritten_config(tmp_path, caplog):
    run = fake_run(tmp_path / "run", [(100, 240), (200, 480), (300, 900)])
    os.utime(run / "config.yaml", (1000.0 + 500, 1000.0 + 500))  # the resume rewrote it after batch 200
    found = lc.run_checkpoints(run)
    assert [round(m, 6) for _, _, m in found] == [4.0, 8.0, 15.0]  # 4 minutes per 100 batches before the resume
    assert "was resumed" in caplog.text and "--batches_per_second" in caplog.text


def test_missing_run_pieces_are_named(tmp_path):
    with pytest.raises(UserError, match="no config.yaml"):
        lc.run_checkpoints(tmp_path)
    run = fake_run(tmp_path / "empty", [])
    with pytest.raises(UserError, match="keep_checkpoints"):
        lc.run_checkpoints(run)


def test_curve_round_trip_and_plot(tmp_path):
    rows = [{"checkpoint": "batch00000100", "batches": 100, "minutes": 4.8, "wer": 1.2, "sim": 0.6},
            {"checkpoint": "batch00000200", "batches": 200, "minutes": 9.5, "wer": 0.9, "sim": 0.7, "stoi": 0.71}]
    lc.write_curve(rows, tmp_path / "curve.tsv")
    back = lc.read_curve(tmp_path / "curve.tsv")
    assert back[1]["wer"] == pytest.approx(0.9) and back[0]["stoi"] is None and back[0]["checkpoint"] == "batch00000100"
    png = tmp_path / "plot" / "curve.png"
    lc.plot_curves({"run": back}, png, {"wer": 0.34, "sim": 1.0}, title="test")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_rejects_mismatched_names_and_missing_data(tmp_path, capsys):
    run = fake_run(tmp_path / "run", [(100, 60)])
    base = ["--run_dir", str(run), "--out_dir", str(tmp_path / "out")]
    assert run_main(codec_learning_curve.main, base + ["--data_dir", str(tmp_path / "nope")]) == 2
    assert "--data_dir" in capsys.readouterr().err
    assert run_main(codec_learning_curve.main, base + ["--data_dir", str(tmp_path), "--name", "a", "--name", "b"]) == 2
    assert "--name given 2 times" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_cli_minutes_from_a_measured_rate_instead_of_file_times(tmp_path):
    """--batches_per_second puts checkpoints at batches / rate (a shared machine stretches file times)."""
    import json

    run = fake_run(tmp_path / "run", [(100, 6000), (300, 9000)])
    out = tmp_path / "out"
    for ckpt, wer in (("batch00000100", 0.9), ("batch00000300", 0.7)):
        (out / "run" / ckpt).mkdir(parents=True)
        (out / "run" / ckpt / "curve_point.json").write_text(json.dumps({"wer": wer, "sim": 0.8}))
    (out / "ground_truth").mkdir(parents=True)
    (out / "ground_truth" / "summary.json").write_text(json.dumps({"metrics": {"wer": {"mean": 0.3}}}))
    args = ["--run_dir", str(run), "--data_dir", str(tmp_path), "--out_dir", str(out), "--score_missing", "false"]
    assert run_main(codec_learning_curve.main, args + ["--batches_per_second", "0.5"]) == 0
    rows = lc.read_curve(out / "run" / "curve.tsv")
    assert [(r["batches"], r["minutes"], r["wer"]) for r in rows] == [(100, 3.33, 0.9), (300, 10.0, 0.7)]
    assert run_main(codec_learning_curve.main, args) == 0  # file times: 100 and 150 minutes
    assert [r["minutes"] for r in lc.read_curve(out / "run" / "curve.tsv")] == [100.0, 150.0]
