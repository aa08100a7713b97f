"""The Spark LM benchmark: bytes read per step of the official shape, the timing arithmetic, and one tiny CLI run."""
from __future__ import annotations

import json

import pytest
import torch

from tts_codec.benchmark.spark_lm import IDS, StepClock, add_clone_rtf, build_random_lm, prompts, weights_read_per_step
from tts_codec.bin import benchmark_spark_lm


def test_bytes_read_per_step_of_the_official_shape():
    with torch.device("meta"):
        model = build_random_lm(torch.float32)
    full, restricted = weights_read_per_step(model, False), weights_read_per_step(model, True)
    assert full == pytest.approx(2.03e9, rel=0.01)  # performance.md: 2.03 GB per token in fp32
    head = model.get_output_embeddings().weight
    assert (full - restricted) / 4 == (head.shape[0] - 8193) * 896  # 148.7 M -> 7.3 M head parameters
    assert (head.shape[0] - (full - restricted) / 4 / 896) * 896 == pytest.approx(7.34e6, rel=0.01)
    with torch.device("meta"):
        half = build_random_lm(torch.bfloat16)
    assert weights_read_per_step(half, True) * 2 == restricted


def test_step_clock_rates_exclude_the_first_token_and_warmup():
    clock = StepClock()
    clock.runs = [[0.0, 5.0, 6.0, 7.0], [0.0, 2.0, 2.5, 3.0], [0.0, 1.0, 2.0, 5.0]]  # warm-up, then two runs
    rate, best, prefill = clock.summary(batch=4, runs=2)
    assert best == 4 * 2 / 1.0 and rate == pytest.approx((8.0 + 2.0) / 2) and prefill == pytest.approx(1.5)


def test_clone_rtf_adds_the_codec_prefill_and_speech_tokens():
    rows = [{"batch": 1, "prefill_s": 1.0, "tokens_per_s": 25.0, "prompt_tokens": 100},
            {"batch": 4, "prefill_s": 1.0, "tokens_per_s": 50, "prompt_tokens": 100}]
    codec = {"tokenize_ssl": 1.0, "decode": 1.5, "seconds": 5.0}  # scaled to 10 s
    add_clone_rtf(rows, codec, speech_tokens=500, seconds=10.0, clone_prompt_tokens=300)
    assert rows[0]["clone_rtf"] == pytest.approx((2 + 3 + 20 + 3) / 10) and "clone_rtf" not in rows[1]


def test_prompts_end_with_the_semantic_marker():
    batch = prompts(3, 10)
    assert [len(p) for p in batch] == [10] * 3 and all(p[-1] == IDS.start_semantic_id for p in batch)


def test_cli_runs_end_to_end_on_one_layer(tmp_path):
    out = tmp_path / "bench"
    argv = ["--layers", "1", "--dtypes", "bfloat16", "--batch_sizes", "1", "--prompt_tokens", "6", "--new_tokens",
            "3", "--runs", "1", "--warmup", "0", "--pipeline", "false", "--isolate", "false", "--threads", "1",
            "--paths", "generate", "restricted", "--out", str(out)]
    assert benchmark_spark_lm.main(argv) == 0
    rows = json.loads(out.with_suffix(".json").read_text())["rows"]
    assert [r["path"] for r in rows] == ["generate", "restricted"]
    assert all(r["tokens_per_s"] > 0 and r["peak_mem_mb"] > 0 for r in rows)
    meta = json.loads(out.with_suffix(".json").read_text())["meta"]
    assert meta["measured_bandwidth_gb_s"] > 0 and meta["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    for r in rows:  # % of what the measured bandwidth allows: tokens/s * bytes per step / bytes per s
        expected = 100 * r["tokens_per_s"] * r["weights_mb_per_step"] * 1e6 / (meta["measured_bandwidth_gb_s"] * 1e9)
        assert r["roofline_pct_here"] == pytest.approx(expected, rel=0.05, abs=0.1)
    assert rows[1]["weights_mb_per_step"] < rows[0]["weights_mb_per_step"] / 5
    assert "| restricted | bfloat16 | 1 |" in out.with_suffix(".md").read_text()


def test_matvec_bandwidth_is_bytes_over_time_and_the_cpu_note_names_emulated_bf16(monkeypatch):
    from tts_codec.benchmark import timing

    assert 1e6 < timing.matvec_bandwidth(threads=1, megabytes=8, runs=2) < 1e13
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")
    assert "emulated" in timing.cpu_note()["bf16"]
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    assert "emulated" not in timing.cpu_note()["bf16"]
