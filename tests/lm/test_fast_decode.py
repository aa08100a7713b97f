"""Fast Spark LM decoding: every shortcut generates the tokens of the plain path under greedy decoding (tiny LM)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tts_codec.config import load_config
from tts_codec.errors import UserError
from tts_codec.lm.spark import prompts as P
from tts_codec.lm.spark.fast_decode import DecodeIds, FastDecodeConfig, FastDecoder
from tts_codec.lm.spark.model import build_lm
from tts_codec.nn.int8_linear import is_int8_linear
from tts_codec.tts.generation import SamplingConfig, generate

CONF = "conf/lm/spark_tiny.yaml"
GREEDY = SamplingConfig(do_sample=False, max_new_tokens=24)


@pytest.fixture(scope="module")
def tiny_lm(spark_vocab):
    torch.manual_seed(3)
    return build_lm(load_config(CONF), spark_vocab).eval()


def fresh_copy(model, spark_vocab):
    copy = build_lm(load_config(CONF), spark_vocab).eval()
    copy.load_state_dict(model.state_dict())
    return copy


def prompt_a(vocab, text: str, seed: int) -> list[int]:
    globals_ = np.random.default_rng(seed).integers(0, 4096, 32)
    return P.encode(P.tts_prompt(text, globals_), vocab)


def prompt_b(vocab, text: str, seed: int) -> list[int]:
    rng = np.random.default_rng(seed)
    return P.encode(P.tts_prompt(text, rng.integers(0, 4096, 32), "a reference", rng.integers(0, 8192, 7 + seed)),
                    vocab)


class SemanticOnly:
    """The constraint the restricted head computes, as a logits processor over the full head: after the
    semantic marker only semantic tokens and EOS."""

    def __init__(self, ids: DecodeIds):
        self.ids = ids

    def __call__(self, input_ids, scores):
        keep = torch.zeros(scores.shape[-1], dtype=torch.bool)
        keep[self.ids.allowed()] = True
        rows = (input_ids == self.ids.start_semantic_id).any(-1)
        return scores.masked_fill(rows[:, None] & ~keep, float("-inf"))


def plain(model, vocab, prompts, processor=None):
    """transformers `generate` (greedy, KV cache), optionally with one extra logits processor."""
    from transformers import GenerationConfig, LogitsProcessorList

    if processor is None:
        return generate(model, prompts, [0] * len(prompts), GREEDY, vocab.eos_id, vocab.pad_id)
    from tts_codec.tts.generation import left_pad

    ids, mask = left_pad(prompts, vocab.pad_id)
    config = GenerationConfig(do_sample=False, max_new_tokens=GREEDY.max_new_tokens, eos_token_id=vocab.eos_id,
                              pad_token_id=vocab.pad_id)
    with torch.inference_mode():
        out = model.generate(input_ids=ids, attention_mask=mask, generation_config=config,
                             logits_processor=LogitsProcessorList([processor]))
    results = []
    for row in out[:, ids.shape[1]:].numpy():
        ends = np.flatnonzero(row == vocab.eos_id)
        results.append((row[: ends[0]] if ends.size else row, bool(ends.size)))
    return results


def same(a, b) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) and f == g for (x, f), (y, g) in zip(a, b))


def mixed_prompts(vocab):
    return [prompt_a(vocab, "hello there", 0), prompt_b(vocab, "a longer sentence to speak", 1),
            prompt_b(vocab, "short", 2)]


@pytest.mark.parametrize("static_cache", [False, True])
def test_plain_loop_matches_transformers_generate(tiny_lm, spark_vocab, static_cache):
    prompts = mixed_prompts(spark_vocab)
    ours = FastDecoder(tiny_lm, DecodeIds.from_vocab(spark_vocab), FastDecodeConfig(static_cache=static_cache))
    expected = plain(tiny_lm, spark_vocab, prompts)
    assert same(ours.generate(prompts, [0, 0, 0], GREEDY), expected)
    assert sum(len(ids) for ids, _ in expected) > 30  # something was generated


@pytest.mark.parametrize("static_cache", [False, True])
def test_restricted_head_matches_the_full_head_with_the_semantic_constraint(tiny_lm, spark_vocab, static_cache):
    ids = DecodeIds.from_vocab(spark_vocab)
    config = FastDecodeConfig(restrict_head=True, static_cache=static_cache)
    fast = FastDecoder(tiny_lm, ids, config)
    for prompts in (mixed_prompts(spark_vocab), mixed_prompts(spark_vocab)[1:]):  # full+masked head, sliced head
        expected = plain(tiny_lm, spark_vocab, prompts, SemanticOnly(ids))
        assert same(fast.generate(prompts, [0] * len(prompts), GREEDY), expected)
    semantic_rows = expected[0][0]
    assert ((semantic_rows >= ids.semantic_start) & (semantic_rows < ids.semantic_start + 8192)).all()


def test_restricted_head_matches_unconstrained_decoding_when_the_model_keeps_the_format(tiny_lm, spark_vocab):
    """A model whose non-semantic head rows are zero never leaves the format; then restricting changes nothing."""
    ids = DecodeIds.from_vocab(spark_vocab)
    model = fresh_copy(tiny_lm, spark_vocab)
    with torch.no_grad():
        keep = torch.zeros(model.lm_head.weight.shape[0], dtype=torch.bool)
        keep[ids.allowed()] = True
        model.lm_head.weight[~keep] = 0.0
    prompts = mixed_prompts(spark_vocab)[1:]
    expected = plain(model, spark_vocab, prompts)
    fast = FastDecoder(model, ids, FastDecodeConfig(restrict_head=True))
    assert same(fast.generate(prompts, [0, 0], GREEDY), expected)


def test_bf16_weights_generate_the_fp32_tokens(tiny_lm, spark_vocab):
    prompts = mixed_prompts(spark_vocab)
    expected = plain(tiny_lm, spark_vocab, prompts)
    model = fresh_copy(tiny_lm, spark_vocab)
    fast = FastDecoder(model, DecodeIds.from_vocab(spark_vocab), FastDecodeConfig(dtype="bfloat16"))
    assert next(model.parameters()).dtype == torch.bfloat16
    assert same(fast.generate(prompts, [0, 0, 0], GREEDY), expected)


def test_int8_weights_generate_the_fp32_tokens_and_leave_the_model_float(tiny_lm, spark_vocab):
    """int8 is not exact in general (module docstring); on the tiny LM it keeps every greedy token."""
    ids = DecodeIds.from_vocab(spark_vocab)
    prompts = mixed_prompts(spark_vocab)
    expected = plain(tiny_lm, spark_vocab, prompts, SemanticOnly(ids))
    fast = FastDecoder(tiny_lm, ids, FastDecodeConfig(restrict_head=True, int8_weights=True))
    assert same(fast.generate(prompts, [0, 0, 0], GREEDY), expected)
    assert any(is_int8_linear(m) for m in fast.body.modules())
    assert not any(is_int8_linear(m) for m in tiny_lm.modules())  # the caller's model is untouched


def test_int8_prefill_generates_the_fp32_tokens_through_the_int8_body(tiny_lm, spark_vocab):
    """The prompt through the int8 body too: on the tiny LM every greedy token is still the plain path's."""
    ids = DecodeIds.from_vocab(spark_vocab)
    prompts = mixed_prompts(spark_vocab)
    expected = plain(tiny_lm, spark_vocab, prompts, SemanticOnly(ids))
    config = FastDecodeConfig(restrict_head=True, int8_weights=True, int8_prefill=True)
    fast = FastDecoder(tiny_lm, ids, config)
    assert fast.prefill_body is fast.body and any(is_int8_linear(m) for m in fast.prefill_body.modules())
    assert same(fast.generate(prompts, [0, 0, 0], GREEDY), expected)


def test_int8_prefill_without_int8_weights_is_refused():
    with pytest.raises(UserError, match="int8_prefill .* needs int8_weights"):
        FastDecodeConfig(int8_prefill=True)


def test_int8_with_bf16_is_refused():
    with pytest.raises(UserError, match="int8_weights runs float32 activations"):
        FastDecodeConfig(dtype="bfloat16", int8_weights=True)


def test_sampling_is_reproducible_per_seed_and_respects_max_new_tokens(tiny_lm, spark_vocab):
    fast = FastDecoder(tiny_lm, DecodeIds.from_vocab(spark_vocab), FastDecodeConfig(restrict_head=True))
    prompts = mixed_prompts(spark_vocab)
    sampling = SamplingConfig(max_new_tokens=10)
    first = fast.generate(prompts, [1, 2, 3], sampling)
    assert same(first, fast.generate(prompts, [1, 2, 3], sampling))
    assert not same(first, fast.generate(prompts, [4, 5, 6], sampling))
    assert all(len(ids) <= 10 for ids, _ in first)


def test_bad_dtype_fails_by_name():
    with pytest.raises(UserError, match="dtype"):
        FastDecodeConfig(dtype="float16")


def test_plain_loop_draws_the_samples_of_the_pipeline_generate(tiny_lm, spark_vocab):
    """Without shortcuts the loop is a drop-in for `tts_codec.tts.generation.generate`, seeded draws included."""
    prompts, seeds = mixed_prompts(spark_vocab), [11, 12, 13]
    sampling = SamplingConfig(max_new_tokens=16)
    expected = generate(tiny_lm, prompts, seeds, sampling, spark_vocab.eos_id, spark_vocab.pad_id)
    fast = FastDecoder(tiny_lm, DecodeIds.from_vocab(spark_vocab))
    assert same(fast.generate(prompts, seeds, sampling), expected)
