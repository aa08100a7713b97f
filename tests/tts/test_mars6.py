"""MARS6 inference: top-p backoff (raised by 0.2 per failed attempt, capped, never leaking into later chunks unless
asked), the loudness check, the length rules, and the pipeline on a stand-in codec with a random tiny model."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tts_codec.errors import UserError
from tts_codec.lm.mars6.config import Mars6Config
from tts_codec.lm.mars6.model import Mars6
from tts_codec.testing.mars6 import FixedEmbedder, ToneCodec, make_mars6_tokenizer
from tts_codec.tts.backoff import AudioCheck, TopPBackoff, loudness
from tts_codec.tts.mars6 import Mars6Options, Mars6TTS, Reference, max_steps


def test_backoff_raises_top_p_until_the_check_passes():
    backoff = TopPBackoff()
    results = iter([False, False, True])
    result, tried = backoff.run_chunk(lambda top_p, n: (top_p, n), lambda r: next(results))
    assert tried == pytest.approx([0.2, 0.4, 0.6]) and result == (pytest.approx(0.6), 2)


def test_backoff_stops_after_max_attempts_keeping_the_last_output_and_caps_at_one():
    backoff = TopPBackoff(max_attempts=10)
    result, tried = backoff.run_chunk(lambda top_p, n: n, lambda r: False)
    assert result == 9 and len(tried) == 10
    assert tried[:5] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0]) and tried[5:] == [1.0] * 5


@pytest.mark.parametrize("persist, second_start", [(False, 0.2), (True, 0.8)])
def test_raised_top_p_does_not_leak_into_the_next_chunk_unless_persist(persist, second_start):
    backoff = TopPBackoff(max_attempts=4, persist=persist)
    backoff.run_chunk(lambda top_p, n: n, lambda r: False)  # chunk 1 fails every attempt: 0.2 .. 0.8
    _, tried = backoff.run_chunk(lambda top_p, n: n, lambda r: True)
    assert tried == pytest.approx([second_start])


def test_loudness_check():
    sr = 24000
    tone = 0.3 * np.sin(2 * np.pi * 220 * np.arange(sr) / sr)
    assert loudness(np.zeros(sr), sr) == float("-inf") and loudness(tone[:100], sr) == float("-inf")
    assert -20 < loudness(tone, sr) < -5
    check = AudioCheck(min_seconds=0.5)
    assert check.passes(tone, sr, 1.0) and not check.passes(tone, sr, 0.4)
    assert not check.passes(tone * 1e-4, sr, 1.0)  # about -78 LUFS < -52


def test_max_length_rule():
    assert max_steps(10) == 56 and max_steps(0) == 30


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from tts_codec.lm.mars6.text import Mars6Text

    text = Mars6Text.load(make_mars6_tokenizer(tmp_path_factory.mktemp("tok") / "bpe"))
    torch.manual_seed(0)
    cfg = Mars6Config(dim=32, heads=4, ffn=64, encoder_layers=1, global_layers=1, local_layers=1,
                      text_vocab=len(text), codebook_size=16, speaker_dim=256, style_dim=0)
    return Mars6(cfg).eval(), text


def _tts(tiny, amplitude, **options):
    model, text = tiny
    opts = Mars6Options(**{"max_chars": 20, "max_attempts": 3, "trim_db": 0.0, **options})  # no numba JIT (librosa)
    return Mars6TTS(ToneCodec.build(amplitude), model, text, FixedEmbedder(), opts)


def _reference(tts, transcript=None):
    patches = np.tile(np.array([[1, 17, 18, 33, 34, 35, 36]]), (3, 1))
    return Reference(FixedEmbedder().embed(None, 0), patches, transcript)


@pytest.mark.parametrize("persist", [False, True])
def test_pipeline_backs_off_per_chunk_on_silent_audio(tiny, persist):
    tts = _tts(tiny, amplitude=0.0, persist_backoff=persist, deep_clone_mode="none")
    result = tts.synthesize("A quick test. And a second one.", _reference(tts))
    assert result.chunks == ["A quick test.", "And a second one."]
    assert result.top_p[0] == pytest.approx([0.2, 0.4, 0.6])
    assert result.top_p[1] == pytest.approx([0.6, 0.8, 1.0] if persist else [0.2, 0.4, 0.6])


def test_pipeline_speaks_loud_audio_at_the_first_attempt_and_is_reproducible(tiny):
    tts = _tts(tiny, amplitude=0.3, deep_clone_mode="per-chunk")
    text = "A quick test. And a second one."
    first = tts.synthesize(text, _reference(tts, "the reference words"))
    again = tts.synthesize(text, _reference(tts, "the reference words"))
    assert [len(t) for t in first.top_p] == [1, 1]
    for chunk, patches in zip(first.chunks, first.patches):
        assert len(patches) >= np.ceil(len(chunk) / 32 * 12)  # EOS masked before the minimum duration
    assert all(np.array_equal(a, b) for a, b in zip(first.patches, again.patches))
    assert first.wav.size > 0 and first.sample_rate == 24000


def test_options_are_checked():
    with pytest.raises(UserError, match="deep_clone_mode"):
        Mars6Options(deep_clone_mode="deep")


def test_int8_weights_generate_with_an_int8_copy_and_leave_the_model_float(tiny):
    from tts_codec.nn.int8_linear import is_int8_linear

    tts = _tts(tiny, amplitude=0.3, deep_clone_mode="none", int8_weights=True)
    assert tts.generating_model() is tts.generating_model()  # made once
    assert any(is_int8_linear(m) for m in tts.generating_model().modules())
    assert not any(is_int8_linear(m) for m in tts.model.modules())
    result = tts.synthesize("A quick test.", _reference(tts))
    again = tts.synthesize("A quick test.", _reference(tts))
    assert len(result.patches[0]) > 0 and np.array_equal(result.patches[0], again.patches[0])
    assert _tts(tiny, amplitude=0.3).generating_model() is tiny[0]  # off by default: the float model
