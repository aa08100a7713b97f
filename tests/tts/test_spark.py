"""The Spark-TTS pipeline on a tiny codec + tiny random LM: reproducible sampling, batching and caching that do not
change tokens, scripted outputs (well-formed or garbage) that are parsed, retried and refused before the codec."""
from __future__ import annotations

import numpy as np
import pytest

from tts_codec.errors import UserError
from tts_codec.lm.spark import prompts as P
from tts_codec.testing.bicodec import tone
from tts_codec.testing.spark_tts import ScriptedLM
from tts_codec.tts.generation import SamplingConfig, generate, row_seed
from tts_codec.tts.spark import GenerationError, Request, Style
from tts_codec.tts.voice import load_voice

SHORT = SamplingConfig(max_new_tokens=24)
GREEDY = SamplingConfig(do_sample=False, max_new_tokens=24)
SCRIPTED = SamplingConfig(max_new_tokens=100)  # room for a whole chain of thought
TEXTS = ["Hello world.", "A somewhat longer sentence to speak.", "Hi"]


@pytest.fixture()
def voice(tts):
    return tts.voice_from_audio(tone(1.0), 16000, source="tone")[0]


def _tokens(results):
    return [[s.tolist() for s in r.semantic] for r in results]


def _requests(voice, texts=TEXTS):
    return [Request(f"utt{i}", t, voice=voice) for i, t in enumerate(texts)]


def _script(tts, pitch=230, speed=4, n_globals=32, semantic=range(10, 30)):
    return P.encode(P.control_target(pitch, speed, np.arange(n_globals) * 3, np.array(list(semantic))), tts.vocab)


def test_a_seed_reproduces_the_tokens_and_another_seed_changes_them(tts, voice):
    a = tts.synthesize(_requests(voice), SHORT)
    b = tts.synthesize(_requests(voice), SHORT)
    c = tts.synthesize(_requests(voice), SamplingConfig(max_new_tokens=24, seed=1))
    assert _tokens(a) == _tokens(b) and _tokens(a) != _tokens(c)
    assert all(np.array_equal(x.wav, y.wav) for x, y in zip(a, b))


def _raw(tts, voice, sampling, batch_size):
    """Generated ids (unparsed: a random LM's greedy output need not hold semantic tokens) per prompt."""
    prompts = [tts._prompt(r, r.text, voice) for r in _requests(voice)]
    seeds = [row_seed(0, str(i), 0) for i in range(len(prompts))]
    out = []
    for start in range(0, len(prompts), batch_size):
        out += generate(tts.lm, prompts[start:start + batch_size], seeds[start:start + batch_size], sampling,
                        tts.vocab.eos_id, tts.vocab.pad_id)
    return [(ids.tolist(), finished) for ids, finished in out]


@pytest.mark.parametrize("sampling", [GREEDY, SHORT], ids=["greedy", "sampled"])
def test_batched_generation_gives_the_tokens_of_one_at_a_time(tts, voice, sampling):
    alone = _raw(tts, voice, sampling, batch_size=1)
    assert alone == _raw(tts, voice, sampling, batch_size=3)
    assert all(len(ids) == 24 for ids, _ in alone)  # a random LM rarely stops early: every step is compared


def test_batched_synthesis_gives_the_results_of_one_at_a_time(tts, voice):
    assert _tokens(tts.synthesize(_requests(voice), SHORT, 1)) == _tokens(tts.synthesize(_requests(voice), SHORT, 3))


def test_greedy_tokens_are_the_same_with_and_without_kv_cache(tts, voice):
    plain = SamplingConfig(do_sample=False, max_new_tokens=24, use_cache=False)
    assert _raw(tts, voice, GREEDY, batch_size=2) == _raw(tts, voice, plain, batch_size=2)


def test_the_fast_decoding_loop_is_an_option_with_the_same_tokens(tts, tts_dirs, voice):
    from tts_codec.lm.spark.fast_decode import FastDecodeConfig
    from tts_codec.tts.spark import SparkTTS

    fast = SparkTTS.from_dirs(*tts_dirs, fast_decode=FastDecodeConfig())
    assert _tokens(fast.synthesize(_requests(voice), SHORT, 2)) == _tokens(tts.synthesize(_requests(voice), SHORT, 2))
    restricted = SparkTTS.from_dirs(*tts_dirs, fast_decode=FastDecodeConfig(restrict_head=True))
    assert all(not isinstance(r, GenerationError) for r in restricted.synthesize(_requests(voice), SHORT, 3))


def test_clone_output_matches_the_codec_rate_and_keeps_the_reference_voice(tts, tmp_path):
    from tts_codec.data.audio import write_wav

    write_wav(tmp_path / "ref.wav", tone(2.0), 16000)
    result = tts.clone("Hello world.", tmp_path / "ref.wav", sampling=SHORT)
    frames = sum(len(s) for s in result.semantic)
    assert result.wav.dtype == np.float32 and len(result.wav) == frames * tts.codec.hop_length
    voice, _ = tts.voice_from_file(tmp_path / "ref.wav")
    assert np.array_equal(result.voice.global_codes, voice.global_codes)


def test_prompt_b_carries_the_reference_semantic_tokens_and_max_ref_seconds_trims_them(tts):
    voice, ref = tts.voice_from_audio(tone(2.0), 16000, prompt_text="Reference words.")
    _, short = tts.voice_from_audio(tone(2.0), 16000, prompt_text="Reference words.", max_ref_seconds=1.0)
    frames = tts.codec.num_frames
    assert (len(ref.semantic), len(short.semantic)) == (frames(32000), frames(16000)) == (99, 49)  # 50 Hz
    prompt = tts._prompt(Request("u", "Target.", voice=voice, reference=ref), "Target.", voice)
    assert prompt[-len(ref.semantic):] == tts.vocab.semantic_ids(ref.semantic).tolist()
    assert tts.vocab.tokenizer.decode(prompt).count("Reference words. Target.") == 1
    with pytest.raises(UserError, match="max_ref_seconds"):
        tts.voice_from_audio(tone(1.0), 16000, max_ref_seconds=0)


def test_a_saved_voice_speaks_like_the_clone_it_came_from(tts, tmp_path):
    voice, _ = tts.voice_from_audio(tone(1.5, freq=180), 16000, source="ref")
    voice.save(tmp_path / "v.json")
    cloned = tts.synthesize([Request("x", "Same text.", voice=voice)], SHORT)[0]
    spoken = tts.synthesize([Request("x", "Same text.", voice=load_voice(tmp_path / "v.json"))], SHORT)[0]
    assert _tokens([cloned]) == _tokens([spoken])


def test_voice_creation_parses_the_chain_of_thought_into_a_saveable_voice(tts, tmp_path):
    tts.lm = ScriptedLM(tts.lm, [[_script(tts)]], tts.vocab.eos_id)
    result = tts.create("Hello there.", "male", "low", "high", sampling=SCRIPTED)
    assert result.voice.global_codes.tolist() == (np.arange(32) * 3).tolist()
    assert result.voice.attributes == {"gender": "male", "pitch": "low", "speed": "high", "pitch_value": 230,
                                       "speed_value": 4}
    assert result.semantic[0].tolist() == list(range(10, 30)) and result.finished
    assert load_voice(result.voice.save(tmp_path / "made.json")).attributes == result.voice.attributes


def test_fine_values_are_prefilled_in_the_prompt(tts):
    request = Request("d", "Hi.", style=Style("female", "high", "low", 300, 5))
    text = tts.vocab.tokenizer.decode(tts._prompt(request, "Hi.", None))
    assert text.endswith("<|end_style_label|><|start_acoustic_token|><|pitch_value_300|><|speed_value_5|>"
                         "<|end_acoustic_token|>")
    assert "<|gender_0|><|pitch_label_3|><|speed_label_1|>" in text
    with pytest.raises(UserError, match="both pitch_value and speed_value"):
        Style("female", "high", "low", 300)


def test_long_text_keeps_the_created_voice_across_chunks(tts):
    tts.max_chars = 20
    try:
        lm = ScriptedLM(tts.lm, [[_script(tts)], [_script(tts, semantic=range(40, 45))]], tts.vocab.eos_id)
        tts.lm = lm
        result = tts.synthesize([Request("long", "First sentence here. Second one follows. Third.",
                                         style=Style("female", "moderate", "moderate"))], SCRIPTED, batch_size=2)[0]
    finally:
        tts.max_chars = 300
    assert result.chunks == ["First sentence here.", "Second one follows.", "Third."]
    assert lm.calls == 2  # chunk 1 creates the voice; chunks 2-3 run together with it
    voice = "".join(f"<|bicodec_global_{3 * i}|>" for i in range(32))
    for prompt in lm.last_inputs:
        assert "<|task_tts|>" in tts.vocab.tokenizer.decode(prompt) and voice in tts.vocab.tokenizer.decode(prompt)
    gap = int(tts.sentence_gap * tts.sample_rate)
    assert len(result.wav) == (20 + 5 + 5) * tts.codec.hop_length + 2 * gap


@pytest.mark.parametrize("script, reason", [
    (lambda t: [], "no semantic tokens"),
    (lambda t: t.vocab.encode_text("just some text"), "no semantic tokens"),
    (lambda t: _script(t, n_globals=31), "31 global tokens"),
    (lambda t: _script(t, n_globals=40), "40 global tokens"),
])
def test_malformed_outputs_are_retried_then_refused_without_reaching_the_codec(tts, monkeypatch, script, reason):
    tts.lm = ScriptedLM(tts.lm, [[script(tts)]], tts.vocab.eos_id)
    monkeypatch.setattr(tts.codec, "decode", lambda *a, **k: pytest.fail("the codec got a malformed output"))
    result = tts.synthesize([Request("bad", "Hello.", style=Style("male", "low", "low"))],
                            SamplingConfig(max_new_tokens=80, max_retries=2))[0]
    assert isinstance(result, GenerationError) and tts.lm.calls == 3
    assert "bad: no decodable output after 3 attempt(s)" in str(result) and reason in str(result)
    with pytest.raises(GenerationError, match=reason):
        tts.create("Hello.", "male", sampling=SamplingConfig(max_new_tokens=80, max_retries=0))


def test_a_retry_that_draws_a_good_output_succeeds_and_other_requests_go_on(tts, voice):
    good = _script(tts)
    tts.lm = ScriptedLM(tts.lm, [[[], good], [good]], tts.vocab.eos_id)
    results = tts.synthesize([Request("a", "One.", style=Style("male", "low", "low")),
                              Request("b", "Two.", style=Style("female", "high", "high"))], SCRIPTED, batch_size=2)
    assert all(not isinstance(r, GenerationError) for r in results) and tts.lm.calls == 2


def test_semantic_codes_beyond_the_codec_codebook_are_refused(tts, voice):
    # as if the codec had a smaller codebook than the LM vocabulary's 8192 semantic tokens
    tts.lm = ScriptedLM(tts.lm, [[_script(tts, semantic=[5, 8100])]], tts.vocab.eos_id)
    tts.semantic_size, size = 8000, tts.semantic_size
    try:
        with pytest.raises(GenerationError, match="outside the codec's 8000 codes"):
            tts.speak("Hello.", voice, SamplingConfig(max_new_tokens=80, max_retries=0))
    finally:
        tts.semantic_size = size


@pytest.mark.parametrize("call, match", [
    (lambda t, v: t.speak("   ", v), "empty text"),
    (lambda t, v: t.create("Hi.", "unknown"), "unknown gender"),
    (lambda t, v: t.create("Hi.", "male", pitch="loud"), "unknown attribute level"),
    (lambda t, v: t.speak("Hi.", type(v)(v.global_codes[:16])), "16 global codes"),
    (lambda t, v: t.synthesize([Request("x", "Hi.", voice=v)], batch_size=0), "batch_size"),
    (lambda t, v: Request("x", "Hi."), "a voice .* or a style"),
])
def test_bad_requests_are_refused_clearly(tts, voice, call, match):
    with pytest.raises(UserError, match=match):
        call(tts, voice)


def test_an_lm_exported_by_stage_8_with_our_tokenizer_speaks(tts_dirs, tmp_path):
    """The recipe path: our sentencepiece Spark tokenizer, an LM built from conf/lm/spark_tiny.yaml, exported."""
    from pathlib import Path

    from tts_codec.config import load_config
    from tts_codec.lm.spark.model import build_lm, export_llm_dir
    from tts_codec.lm.spark.vocab import SparkVocab
    from tts_codec.lm.text_tokenizer import load_tokenizer
    from tts_codec.testing.spark_lm import make_spark_tokenizer
    from tts_codec.tts.spark import SparkTTS

    tok = make_spark_tokenizer(tmp_path / "tok")
    config = load_config(Path(__file__).resolve().parents[2] / "conf" / "lm" / "spark_tiny.yaml")
    export_llm_dir(build_lm(config, SparkVocab(load_tokenizer(tok))), tok, tmp_path / "model")
    tts = SparkTTS.from_dirs(tts_dirs[0], tmp_path / "model")
    voice, ref = tts.voice_from_audio(tone(1.0), 16000, prompt_text="The quick brown fox.")
    result = tts.synthesize([Request("r", "Speech synthesis turns text into audio.", voice=voice, reference=ref)],
                            SHORT)[0]
    assert isinstance(result, tuple) and len(result.wav) == sum(map(len, result.semantic)) * 320


@pytest.mark.parametrize("fast", [False, True], ids=["generate", "fast_loop"])
def test_voice_creation_with_a_random_lm_always_yields_32_globals_and_semantic_tokens(tts_dirs, fast):
    """The grammar (on by default) walks a random LM through the chain of thought; off, the same LM fails."""
    from tts_codec.lm.spark.fast_decode import FastDecodeConfig
    from tts_codec.tts.spark import SparkTTS

    requests = [Request(f"c{i}", text, style=Style(g, p, s)) for i, (text, g, p, s) in enumerate(
        [("Hello there.", "female", "high", "low"), ("A new voice speaks.", "male", "low", "moderate"),
         ("Third one", "female", "moderate", "very_high")])]
    sampling = SamplingConfig(max_new_tokens=48, max_retries=0)
    config = FastDecodeConfig(restrict_head=True) if fast else None
    results = SparkTTS.from_dirs(*tts_dirs, fast_decode=config).synthesize(requests, sampling, batch_size=2)
    for result in results:
        assert not isinstance(result, GenerationError), result
        assert result.voice.global_codes.shape == (32,) and len(result.semantic[0]) >= 1
        assert set(result.voice.attributes) >= {"pitch_value", "speed_value"}
    off = SparkTTS.from_dirs(*tts_dirs, fast_decode=config, grammar=False).synthesize(requests, sampling, 2)
    assert all(isinstance(r, GenerationError) for r in off)


def test_voice_creation_with_too_few_new_tokens_says_why(tts):
    with pytest.raises(GenerationError, match="max_new_tokens 39 is too small: this prompt needs 40 new tokens"):
        tts.create("Hello.", "male", sampling=SamplingConfig(max_new_tokens=39))


@pytest.mark.parametrize("fast", [False, True], ids=["generate", "fast_loop"])
def test_a_codec_with_fewer_semantic_codes_than_the_vocabulary_gets_only_its_own(tts_dirs, tmp_path, voice, fast):
    """The mini codec has 1024 of the vocabulary's 8192 semantic codes: the LM may only draw those."""
    from tts_codec.lm.spark.fast_decode import FastDecodeConfig
    from tts_codec.testing.codec_dirs import save_tiny_model
    from tts_codec.tts.spark import SparkTTS

    codec_dir = save_tiny_model(tmp_path / "codec1024", codebook_size=1024)
    small = SparkTTS.from_dirs(codec_dir, tts_dirs[1], fast_decode=FastDecodeConfig() if fast else None)
    assert small.semantic_size == 1024
    sampling = SamplingConfig(max_new_tokens=40, temperature=1.5, top_k=0, top_p=1.0, max_retries=0)
    results = small.synthesize(_requests(voice) + [Request("new", "Hi.", style=Style("male", "low", "low"))],
                               sampling, batch_size=2)
    codes = np.concatenate([s for r in results for s in r.semantic])
    assert codes.size > 40 and codes.max() < 1024
