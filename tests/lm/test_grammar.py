"""The Spark output grammar and codebook masks (tiny random LM): voice creation always follows section 5.2's chain
of thought, no id beyond the codec's codebooks is ever drawn, full codebooks change nothing, and the fast loop
draws the plain path's tokens under the same constraints."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tts_codec.config import load_config
from tts_codec.lm.spark import prompts as P
from tts_codec.lm.spark.fast_decode import DecodeIds, FastDecodeConfig, FastDecoder
from tts_codec.lm.spark.grammar import GrammarIds, GrammarProcessor, TokenGrammar
from tts_codec.lm.spark.model import build_lm
from tts_codec.tts.generation import SamplingConfig, generate

GREEDY = SamplingConfig(do_sample=False, max_new_tokens=50)
SAMPLED = SamplingConfig(max_new_tokens=50, temperature=1.5, top_k=0, top_p=1.0)  # wide draws: every id is possible


@pytest.fixture(scope="module")
def tiny_lm(spark_vocab):
    torch.manual_seed(5)
    return build_lm(load_config("conf/lm/spark_tiny.yaml"), spark_vocab).eval()


def grammar_for(lm, vocab, semantic_size=8192, global_size=4096, grammar=True) -> TokenGrammar:
    ids = GrammarIds.from_vocab(vocab, semantic_size, global_size, 32)
    return TokenGrammar(ids, lm.get_output_embeddings().weight.shape[0], grammar)


def create_prompt(vocab, text="Make a new voice.", fine=False) -> list[int]:
    segments = P.control_prompt(text, "female", "high", "low")
    return P.encode(segments + (P.acoustic_block(300, 4) if fine else []), vocab)


def clone_prompt(vocab, text="Say this.", seed=0, reference=False) -> list[int]:
    rng = np.random.default_rng(seed)
    ref = ("Reference.", rng.integers(0, 8192, 9)) if reference else (None, None)
    return P.encode(P.tts_prompt(text, rng.integers(0, 4096, 32), *ref), vocab)


def plain(lm, vocab, prompts, sampling, grammar=None, seeds=None):
    constraints = [] if grammar is None else [GrammarProcessor(grammar)]
    seeds = seeds or list(range(len(prompts)))
    return generate(lm, prompts, seeds, sampling, vocab.eos_id, vocab.pad_id, constraints)


def follows_the_chain_of_thought(ids: np.ndarray, vocab, fine: bool = False, num_globals: int = 32) -> bool:
    """`ids` (without EOS) = [acoustic block] + start_global + globals + end_global + start_semantic + semantic+."""
    text = vocab.tokenizer.decode(ids.tolist())
    head = "" if fine else r"<\|start_acoustic_token\|><\|pitch_value_\d+\|><\|speed_value_\d+\|><\|end_acoustic_token\|>"
    import re

    pattern = (head + r"<\|start_global_token\|>(?:<\|bicodec_global_\d+\|>){%d}<\|end_global_token\|>"
               r"<\|start_semantic_token\|>(?:<\|bicodec_semantic_\d+\|>)+" % num_globals)
    return re.fullmatch(pattern, text) is not None


@pytest.mark.parametrize("fine", [False, True], ids=["levels", "fine_values"])
def test_voice_creation_always_follows_the_chain_of_thought(tiny_lm, spark_vocab, fine):
    grammar = grammar_for(tiny_lm, spark_vocab)
    prompts = [create_prompt(spark_vocab, t, fine) for t in ("One voice.", "Another one, longer.", "Third")]
    for sampling in (GREEDY, SAMPLED):
        for ids, _ in plain(tiny_lm, spark_vocab, prompts, sampling, grammar):
            assert follows_the_chain_of_thought(ids, spark_vocab, fine), spark_vocab.tokenizer.decode(ids.tolist())
    unconstrained = plain(tiny_lm, spark_vocab, prompts, SAMPLED)
    assert not any(follows_the_chain_of_thought(ids, spark_vocab, fine) for ids, _ in unconstrained)


def test_no_id_beyond_the_codec_codebooks_is_ever_drawn(tiny_lm, spark_vocab):
    """A codec with 1024 semantic and 512 global codes: masked in free decoding and inside the grammar."""
    sem, glob = spark_vocab.ranges["bicodec_semantic"], spark_vocab.ranges["bicodec_global"]
    prompts = [clone_prompt(spark_vocab, seed=1), clone_prompt(spark_vocab, seed=2, reference=True),
               create_prompt(spark_vocab)]
    for on in (False, True):
        small = grammar_for(tiny_lm, spark_vocab, semantic_size=1024, global_size=512, grammar=on)
        drawn = np.concatenate([ids for ids, _ in plain(tiny_lm, spark_vocab, prompts * 3, SAMPLED, small,
                                                        seeds=list(range(9)))])
        assert (sem.values(drawn) < 1024).all() and (glob.values(drawn) < 512).all()
        assert sem.values(drawn).size > 20  # semantic ids were drawn (half the tiny vocabulary is semantic)
    drawn = np.concatenate([ids for ids, _ in plain(tiny_lm, spark_vocab, prompts * 3, SAMPLED, seeds=list(range(9)))])
    assert (sem.values(drawn) >= 1024).any()  # unmasked, the random LM does draw them


def test_full_codebooks_without_the_grammar_leave_the_tokens_unchanged(tiny_lm, spark_vocab):
    full = grammar_for(tiny_lm, spark_vocab, grammar=False)
    prompts = [clone_prompt(spark_vocab, seed=3), create_prompt(spark_vocab)]
    for sampling in (GREEDY, SAMPLED):
        expected = plain(tiny_lm, spark_vocab, prompts, sampling)
        got = plain(tiny_lm, spark_vocab, prompts, sampling, full)
        assert all(np.array_equal(a, b) for (a, _), (b, _) in zip(expected, got))


@pytest.mark.parametrize("config", [FastDecodeConfig(), FastDecodeConfig(restrict_head=True),
                                    FastDecodeConfig(restrict_head=True, static_cache=True)],
                         ids=["loop", "restricted", "restricted_static"])
def test_the_fast_loop_draws_the_plain_tokens_under_the_same_constraints(tiny_lm, spark_vocab, config):
    prompts = [create_prompt(spark_vocab), clone_prompt(spark_vocab, seed=4), create_prompt(spark_vocab, fine=True),
               clone_prompt(spark_vocab, seed=5, reference=True)]
    fast = FastDecoder(tiny_lm, DecodeIds.from_vocab(spark_vocab), config)
    grammars = [grammar_for(tiny_lm, spark_vocab)]
    if not config.restrict_head:  # without the grammar the restricted head adds its own semantic-only constraint
        grammars.append(grammar_for(tiny_lm, spark_vocab, 1024, 512, grammar=False))
    for grammar in grammars:
        expected = plain(tiny_lm, spark_vocab, prompts, GREEDY, grammar)
        got = fast.generate(prompts, [0] * 4, GREEDY, grammar=grammar)
        assert all(np.array_equal(a, b) and f == g for (a, f), (b, g) in zip(expected, got))
    for batch in ([prompts[1]], [prompts[1], prompts[3]]):  # all rows past the semantic marker: sliced head only
        grammar = grammar_for(tiny_lm, spark_vocab, 1024, 512)
        expected = plain(tiny_lm, spark_vocab, batch, GREEDY, grammar)
        got = fast.generate(batch, [0] * len(batch), GREEDY, grammar=grammar)
        assert all(np.array_equal(a, b) for (a, _), (b, _) in zip(expected, got))
        assert (spark_vocab.ranges["bicodec_semantic"].values(got[0][0]) < 1024).all()


def test_min_new_tokens_counts_the_format_before_the_first_semantic_token(tiny_lm, spark_vocab):
    grammar = grammar_for(tiny_lm, spark_vocab)
    off = grammar_for(tiny_lm, spark_vocab, grammar=False)
    cases = {"create": (create_prompt(spark_vocab), 40), "fine": (create_prompt(spark_vocab, fine=True), 36),
             "clone": (clone_prompt(spark_vocab), 2), "reference": (clone_prompt(spark_vocab, reference=True), 1),
             "other": (spark_vocab.encode_text("plain text"), 1)}
    for name, (prompt, needed) in cases.items():
        assert grammar.min_new_tokens(prompt[-1]) == off.min_new_tokens(prompt[-1]) == needed, name
