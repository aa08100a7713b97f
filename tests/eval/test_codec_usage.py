"""Codec bitrate and codebook usage of a codes dir, and how they reach summary.json through the CLI."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from tts_codec.bin import codec_usage as codec_usage_cli
from tts_codec.cli import run_main
from tts_codec.data.token_file import CodesInfo, StreamInfo, TokenWriter
from tts_codec.eval.codec_usage import codec_usage, stream_usage
from tts_codec.testing.score_dirs import fake_utt_ids, make_score_dir

INFO = CodesInfo(codec="bicodec", sample_rate=16000, hop_length=320, config_hash="x",
                 streams={"semantic": StreamInfo((-1,), 8192), "global": StreamInfo((1, 32), 4096)})


def _codes_dir(root: Path) -> Path:
    out = root / "codes"
    with TokenWriter(out, INFO) as writer:
        # Two utterances of 100 frames (2 s each at 50 Hz); the semantic stream uses codes 0..3 uniformly.
        for k in range(2):
            writer.add(f"u{k}", {"semantic": np.tile(np.arange(4), 25), "global": np.full((1, 32), k)})
    return out


def test_bitrate_and_usage_of_known_tokens(tmp_path: Path) -> None:
    metrics = codec_usage(_codes_dir(tmp_path))
    assert metrics["bitrate_semantic_bps"]["mean"] == pytest.approx(50 * 13)  # BiCodec's 650 bps
    assert metrics["bitrate_global_bps"]["mean"] == pytest.approx(2 * 32 * 12 / 4.0)
    assert metrics["bitrate_bps"]["mean"] == pytest.approx(650 + 192)
    assert metrics["semantic_codes_used_share"]["mean"] == pytest.approx(4 / 8192)
    assert metrics["semantic_codes_perplexity"]["mean"] == pytest.approx(4.0)
    assert metrics["global_codes_perplexity"]["mean"] == pytest.approx(2.0)


def test_stream_usage_of_a_skewed_distribution() -> None:
    usage = stream_usage([np.array([0, 0, 0, 1])], 4)
    entropy = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert usage == {"used_share": 0.5, "perplexity": pytest.approx(math.exp(entropy))}


def test_cli_adds_the_figures_to_the_summary(tmp_path: Path) -> None:
    score_dir = make_score_dir(tmp_path / "scores", fake_utt_ids(4))
    before = set(json.loads((score_dir / "summary.json").read_text())["metrics"])
    argv = ["--codes_dir", str(_codes_dir(tmp_path)), "--score_dir", str(score_dir)]
    assert run_main(codec_usage_cli.main, argv) == 0
    summary = json.loads((score_dir / "summary.json").read_text())
    assert summary["metrics"]["bitrate_semantic_bps"]["mean"] == pytest.approx(650)
    assert before < set(summary["metrics"])  # the scored columns are kept
    assert run_main(codec_usage_cli.main, ["--codes_dir", "x", "--score_dir", str(tmp_path / "none")]) == 2


def test_multi_rate_levels_count_at_their_own_rate(tmp_path: Path) -> None:
    """SNAC 24 kHz: levels at 46.875 / 4, / 2 and / 1 Hz, 12 bits each = 984.4 bps (mars6_snac.md §10: 0.98 kbps)."""
    info = CodesInfo(codec="snac", sample_rate=24000, hop_length=512, config_hash="x",
                     streams={f"snac_l{i}": StreamInfo((-1,), 4096, stride=s) for i, s in enumerate((4, 2, 1))})
    with TokenWriter(tmp_path / "codes", info) as writer:
        writer.add("u0", {"snac_l0": np.zeros(12, dtype=int), "snac_l1": np.zeros(24, dtype=int),
                          "snac_l2": np.arange(48)})
    metrics = codec_usage(tmp_path / "codes")
    assert metrics["bitrate_snac_l0_bps"]["mean"] == pytest.approx(46.875 / 4 * 12)
    assert metrics["bitrate_bps"]["mean"] == pytest.approx(46.875 * 12 * (1 / 4 + 1 / 2 + 1))
