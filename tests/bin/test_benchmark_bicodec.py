"""Smoke test of the BiCodec benchmark on the tiny config (1 run), so the script cannot rot; not a timing test."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tts_codec.benchmark.bicodec import COLUMNS, DOCUMENTED, MEASURED
from tts_codec.bin import benchmark_bicodec
from tts_codec.errors import UserError
from tts_codec.testing.codec_dirs import TINY_CONFIG

OFFICIAL_ENV = "TTS_CODEC_OFFICIAL_SPARK"


def run(tmp_path, *extra: str, config: str = str(TINY_CONFIG)) -> dict:
    argv = ["--config", config, "--runs", "1", "--warmup", "0", "--seconds", "0.5", "--threads", "1",
            "--devices", "cpu", "--out", str(tmp_path / "bench"), *extra]
    assert benchmark_bicodec.main(argv) == 0
    return json.loads((tmp_path / "bench.json").read_text())


def test_report_has_every_column_and_configuration(tmp_path):
    report = run(tmp_path, "--isolate", "false", "--batch_sizes", "1", "2")
    rows = report["rows"]
    assert sorted((r["task"], r["batch"], r["dtype"], r["fast"], r["channels_last"]) for r in rows) == sorted(
        [(t, b, d, False, False) for t in ("tokenize", "tokenize_ssl", "decode") for b in (1, 2)
         for d in ("float32", "bfloat16")] + [("decode", b, d, True, cl) for b in (1, 2)
                                              for d in ("float32", "bfloat16") for cl in (False, True)])
    for row in rows:
        assert list(row) and set(COLUMNS) <= set(row)
        assert row["seconds"] > 0 and row["peak_mem_mb"] > 0
        assert row["x_real_time"] == pytest.approx(1 / row["rtf"], rel=0.05)
        assert (row["agreement"] is None) == (row["dtype"] == "float32")
        assert row["anchor_source"] == DOCUMENTED  # no --official_repo: performance.md's figures
    decode_bf16 = [r for r in rows if r["task"] == "decode" and r["dtype"] == "bfloat16"]
    assert all(r["agreement"] > 1.0 for r in decode_bf16)  # PESQ against fp32 is on its 1..4.6 scale
    table = (tmp_path / "bench.md").read_text().splitlines()
    assert table[0] == "| " + " | ".join(COLUMNS) + " |" and len(table) == 2 + len(rows)
    assert report["meta"]["documented_anchors_per_10s"]["decode"] == 6.27


def test_isolated_worker_reports_its_own_peak_memory(tmp_path):
    report = run(tmp_path, "--tasks", "decode", "--dtypes", "float32", "--batch_sizes", "1", "--compare_fast",
                 "false", "--compare_channels_last", "false", "--anchor_decode_s", "5.0")
    (row,) = report["rows"]
    assert row["task"] == "decode" and row["anchor_s"] == pytest.approx(0.25) and row["peak_mem_mb"] > 50
    assert row["anchor_source"] == "--anchor_decode_s (given)"


def test_bad_config_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="--config"):
        benchmark_bicodec.main(["--config", str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "b")])


def test_official_repo_must_be_a_spark_tts_checkout(tmp_path):
    with pytest.raises(UserError, match=r"--official_repo .*: not a Spark-TTS checkout \(no sparktts/models/"):
        benchmark_bicodec.main(["--config", str(TINY_CONFIG), "--official_repo", str(tmp_path),
                                "--out", str(tmp_path / "b")])
    assert not (tmp_path / "b.json").exists()


def test_speedup_is_measured_against_the_official_code(tmp_path):
    repo = os.environ.get(OFFICIAL_ENV)
    if not repo:
        pytest.skip(f"{OFFICIAL_ENV} not set (path of a SparkAudio/Spark-TTS checkout, with omegaconf and einx)")
    small = str(Path(__file__).resolve().parents[2] / "tools/parity/bicodec_small.yaml")
    report = run(tmp_path, "--isolate", "false", "--tasks", "decode", "tokenize", "--dtypes", "float32",
                 "--batch_sizes", "1", "--compare_fast", "false", "--official_repo", repo, config=small)
    for row in report["rows"]:
        assert row["anchor_source"] == MEASURED
        assert row["task"] == "tokenize" or row["max_diff_official"] <= 1e-4  # fp32, fast or channels-last
        assert row["speedup"] == pytest.approx(row["anchor_s"] / row["seconds"], rel=0.02)
