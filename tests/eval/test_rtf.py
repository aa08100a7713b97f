"""Real-time factor from a timing file and duration statistics; bootstrap CI of the summary."""
import numpy as np
import pytest

from tts_codec.data.audio import write_wav
from tts_codec.errors import UserError
from tts_codec.eval.rtf import RtfScorer, corpus_rtf, duration_stats, read_timing
from tts_codec.eval.scoring import EvalItem, EvalOptions, mean_ci95


def test_rtf_scorer(tmp_path):
    write_wav(tmp_path / "a.wav", 0.1 * np.ones(24000), 24000)  # 1.0 s at 24 kHz
    write_wav(tmp_path / "b.wav", 0.1 * np.ones(8000), 16000)  # 0.5 s
    (tmp_path / "timing").write_text("a 0.5\nb 1.0\n")
    items = [EvalItem("a", gen=str(tmp_path / "a.wav")), EvalItem("b", gen=str(tmp_path / "b.wav")),
             EvalItem("c", gen=str(tmp_path / "a.wav"))]
    a, b, c = RtfScorer(EvalOptions(timing_file=str(tmp_path / "timing"))).score(items)
    assert a.values == {"duration_s": 1.0, "rtf": 0.5}
    assert b.values == {"duration_s": 0.5, "rtf": 2.0}
    assert c.failures == {"rtf": "utterance not in timing file"}
    assert corpus_rtf([0.5, 2.0], [1.0, 0.5]) == pytest.approx(1.5 / 1.5)
    assert duration_stats([1.0, 0.5, 3.0]) == {"total": 4.5, "mean": 1.5, "median": 1.0, "min": 0.5, "max": 3.0}


def test_bad_timing_file(tmp_path):
    (tmp_path / "timing").write_text("a fast\n")
    with pytest.raises(UserError, match="timing: utterance a: seconds 'fast' is not a number"):
        read_timing(str(tmp_path / "timing"))


def test_mean_ci95_bootstrap():
    mean, (lo, hi) = mean_ci95([1.0, 2.0, 3.0, 4.0])
    assert mean == 2.5 and 1.0 <= lo < 2.5 < hi <= 4.0
    assert mean_ci95([3.0]) == (3.0, [3.0, 3.0])
    x = np.random.default_rng(1).normal(10, 1, 400)
    mean, (lo, hi) = mean_ci95(x)
    assert hi - lo == pytest.approx(2 * 1.96 / np.sqrt(400), rel=0.15)  # matches the normal-theory width
