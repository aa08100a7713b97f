"""The SNAC decode benchmark end to end on the tiny config: every speed option (weight norm folded, CachedSnake,
channels-last) decodes what the `snac` package's model decodes, within 1e-4 in float32 (the stated tolerance of
the fast path)."""
import json
from pathlib import Path

import torch

from tts_codec.bin.benchmark_snac import main

TINY = Path(__file__).resolve().parents[2] / "conf" / "codec" / "snac_tiny.yaml"


def test_benchmark_rows_match_the_package_output(tmp_path):
    torch.set_num_threads(1)
    assert main(["--config", str(TINY), "--seconds", "0.3", "--runs", "1", "--warmup", "0", "--threads", "1",
                 "--isolate", "false", "--dtypes", "float32", "--fast", "false", "true",
                 "--out", str(tmp_path / "bench")]) == 0
    rows = json.loads((tmp_path / "bench.json").read_text())["rows"]
    assert [(r["fast"], r["channels_last"], r["dtype"]) for r in rows] == [
        (False, False, "float32"), (True, False, "float32"), (True, True, "float32")]
    for row in rows:
        assert row["seconds"] > 0 and row["package_s"] > 0 and row["max_abs_diff"] < 1e-4, row
        assert row["target_s"] == round(3.0 * 0.3413 / 10, 3)  # 0.3 s is padded to 4 patches of 2048 samples
    assert "| max_abs_diff |" in (tmp_path / "bench.md").read_text()
