"""Guard of the shipped mini models (egs/mini/tts1/pretrained/{spark_mini,mars6_mini}): they load by path, fit the
size budget together, and codec resynthesis and zero-shot TTS of fixed eSpeak utterances stay within the margins of
the figures measured when they were packed (`<name>.guard.json`, written by `python -m
tts_codec.testing.shipped_models`). A change to a codec, an LM, decoding or loading that breaks them fails here."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tts_codec.testing import shipped_models

PRETRAINED = Path(__file__).resolve().parents[2] / "egs" / "mini" / "tts1" / "pretrained"
#: shipped dir -> (family, sample rate, codebook size of each codec token stream)
SHIPPED = {"spark_mini": ("spark", 16000, {"semantic": 1024, "global": 4096}),
           "mars6_mini": ("mars6", 24000, {"snac_l0": 4096, "snac_l1": 4096, "snac_l2": 4096})}
BUDGET_MIB = 40  # both families together (the mini-speaks issue's 20 MiB per family)


def guard(name: str) -> dict:
    return json.loads((PRETRAINED / f"{name}.guard.json").read_text())


def test_shipped_models_fit_the_size_budget_together():
    size = sum(p.stat().st_size for name in SHIPPED for p in (PRETRAINED / name).rglob("*") if p.is_file())
    assert size <= BUDGET_MIB * 2**20, f"{size / 2**20:.2f} MiB"


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_model_loads_as_its_family(name):
    from tts_codec.tts.model_dir import load_model_dir

    family, rate, codebooks = SHIPPED[name]
    tts = load_model_dir(PRETRAINED / name)
    assert (tts.family, tts.sample_rate) == (family, rate)
    assert {stream: info.codebook_size for stream, info in tts.codec.token_streams.items()} == codebooks


@pytest.fixture(scope="module")
def figures(tmp_path_factory):
    cache: dict[str, dict] = {}

    def measured(name: str) -> dict:
        if name not in cache:
            cache[name] = shipped_models.measure(PRETRAINED / name, tmp_path_factory.mktemp(f"guard_{name}"))
        return cache[name]
    return measured


@pytest.mark.parametrize("name", sorted(SHIPPED))
@pytest.mark.parametrize("metric", ["codec_stoi", "codec_sim", "tts_sim_o"])
def test_higher_is_better_figures_stay_above_their_limits(figures, name, metric):
    assert figures(name)[metric] >= guard(name)["limits"][metric], (figures(name), guard(name)["measured"])


@pytest.mark.parametrize("name", sorted(SHIPPED))
@pytest.mark.parametrize("metric", ["codec_wer", "tts_wer"])
def test_word_error_rates_stay_below_their_limits(figures, name, metric):
    assert figures(name)[metric] <= guard(name)["limits"][metric], (figures(name), guard(name)["measured"])


def test_the_synthesis_cli_speaks_with_the_shipped_spark(tmp_path):
    """`python -m tts_codec.bin.synthesize` on the shipped Spark dir, as the README shows it: a created voice and a
    clone of an eSpeak prompt each say a new sentence that Whisper recognises within the guard's TTS WER limit."""
    import subprocess
    import sys

    import soundfile as sf

    from tts_codec.data.audio import write_wav
    from tts_codec.eval.asr import WhisperAsr
    from tts_codec.eval.normalize import get_normalizer
    from tts_codec.eval.wer import corpus_rate, word_errors

    prompt = tmp_path / "prompt.wav"
    write_wav(prompt, shipped_models.speak(*shipped_models.PROMPTS[1]), shipped_models.SAMPLE_RATE)
    runs = {"created": ("--gender", "female", "--pitch", "moderate"), "cloned": ("--prompt_wav", str(prompt))}
    asr, norm, errors = WhisperAsr(beam_size=5), get_normalizer("simple"), []
    for (name, voice), text in zip(runs.items(), shipped_models.TARGETS):
        out = tmp_path / f"{name}.wav"
        proc = subprocess.run([sys.executable, "-m", "tts_codec.bin.synthesize", "--model_dir",
                               str(PRETRAINED / "spark_mini"), "--text", text, *voice, "--seed", "0", "--out",
                               str(out)], capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        wav, rate = sf.read(out)
        assert rate == 16000 and 1.0 < len(wav) / rate < 10.0  # a sentence, not a click or a ramble
        errors.append(word_errors(norm(text), norm(asr.transcribe(wav.astype("float32")))))
    assert corpus_rate(errors) <= guard("spark_mini")["limits"]["tts_wer"], errors
