"""benchmark_mars6 figures: the RTF of each path and of the official-style reference pipeline, the machine note,
and a short CLI run on the tiny config (speed itself is never asserted)."""
import json
from pathlib import Path

import pytest

from tts_codec.benchmark import mars6 as bench
from tts_codec.benchmark.timing import cpu_model, machine_line
from tts_codec.bin import benchmark_mars6

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "egs" / "mini" / "tts1" / "conf" / "mars6_tiny.yaml"


def test_rtf_and_reference_ratio_are_computed_per_dtype():
    rows = [{"path": "cached_int8", "dtype": "float32", "lm_seconds_10s": 2.0, "steps_per_cpu_s": 29.25},
            {"path": "uncached", "dtype": "float32", "lm_seconds_10s": 11.0, "steps_per_cpu_s": 5.85},
            {"path": "cached", "dtype": "bfloat16", "lm_seconds_10s": 4.0, "steps_per_cpu_s": 11.7}]
    bench.add_rtf(rows, {"wall": 3.0, "cpu": 6.0, "package_wall": 9.0})
    assert rows[0]["rtf"] == 0.5 and rows[0]["rtf_cpu"] == pytest.approx(1.0)
    assert rows[0]["rtf_reference"] == 2.0 and rows[0]["x_reference"] == 4.0  # (11 + 9) / 10 over 0.5
    assert rows[1]["rtf"] == 1.4 and rows[1]["x_reference"] == 1.43  # the package decoder alone: 9 s against 3
    assert rows[2]["rtf"] == 0.7 and "rtf_reference" not in rows[2]  # no uncached bfloat16 row to compare with
    bare = [{"path": "cached", "dtype": "float32", "lm_seconds_10s": 2.0, "steps_per_cpu_s": 29.25}]
    bench.add_rtf(bare, None)  # no SNAC timing: no RTF columns
    assert "rtf" not in bare[0]
    text = bench.to_markdown(rows, {"wall": 3.0, "cpu": 6.0, "package_wall": 9.0})
    assert "the snac package's decoder 9.00 s (x3.00)" in text and "official 1.85 / 3.1" in text


def test_cpu_model_reads_the_model_and_the_speed_flags(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Test CPU @ 2.00GHz\nflags\t\t: fpu avx2 avx512f avx512_vnni sse\n"
                    "processor\t: 1\nmodel name\t: Other\n")
    assert cpu_model(str(info)) == {"cpu_model": "Test CPU @ 2.00GHz", "cpu_flags": "avx2 avx512f avx512_vnni"}
    assert cpu_model(str(tmp_path / "missing"))["cpu_flags"] == "none known"
    assert machine_line(cpu_model(str(info))).startswith("machine: Test CPU @ 2.00GHz; flags: avx2 avx512f")


def test_snac_reference_decode_is_timed_beside_ours():
    times = bench.snac_decode_seconds(seconds=0.2, runs=1, config=str(REPO / "conf" / "codec" / "snac_tiny.yaml"),
                                      reference=True)
    assert times["wall"] > 0 and times["cpu"] > 0 and times["package_wall"] > 0


def test_cli_writes_rows_and_the_machine(tmp_path):
    out = tmp_path / "b"
    assert benchmark_mars6.main(["--config", str(TINY), "--paths", "cached", "uncached", "--steps", "3",
                                 "--uncached_steps", "2", "--runs", "1", "--warmup", "0", "--threads", "1",
                                 "--snac", "false", "--out", str(out)]) == 0
    report = json.loads(out.with_suffix(".json").read_text())
    assert [r["path"] for r in report["rows"]] == ["cached", "uncached"] and report["cpu_model"]
    assert all(r["steps_per_s"] > 0 for r in report["rows"])
    assert "machine: " in out.with_suffix(".md").read_text()
