"""Repetition-aware sampling and nucleus sampling on crafted logits (mars6_snac.md §6)."""
from __future__ import annotations

import torch

import pytest

from tts_codec.sampling.ras import NUCLEUS_CANDIDATES, nucleus, nucleus_sample, ras_sample, repetition_share
from tts_codec.tts.generation import top_p_filter


def _logits(probs):
    return torch.log(torch.tensor(probs, dtype=torch.float32))


def test_nucleus_keeps_the_top_token_at_low_top_p():
    logits = _logits([0.6, 0.3, 0.1])
    draws = {nucleus_sample(logits, 0.2, torch.Generator().manual_seed(s)) for s in range(50)}
    assert draws == {0}
    draws = {nucleus_sample(logits, 0.85, torch.Generator().manual_seed(s)) for s in range(200)}
    assert draws == {0, 1}  # 0.6 + 0.3 reaches 0.85; the 0.1 token is cut


@pytest.mark.parametrize("temperature", [0.05, 1.0, 30.0])  # peaked (nucleus of 1), typical, flat (widens the search)
@pytest.mark.parametrize("top_p", [0.2, 0.9, 0.999])
def test_the_nucleus_is_the_distribution_of_the_sorted_top_p_filter(temperature, top_p):
    """The top-k search gives the distribution of the full-sort filter, also when the nucleus exceeds the first
    NUCLEUS_CANDIDATES candidates."""
    logits = torch.randn(4097, generator=torch.Generator().manual_seed(7)) / temperature
    expected = torch.softmax(top_p_filter(logits[None], top_p)[0], dim=-1)
    ids, probs = nucleus(logits, top_p)
    got = torch.zeros_like(expected)
    got[ids] = probs / probs.sum()
    assert torch.allclose(got, expected, atol=1e-6) and got.sum().item() == pytest.approx(1.0)
    if temperature == 30.0 and top_p == 0.9:
        assert int((got > 0).sum()) > NUCLEUS_CANDIDATES


def test_repetition_share_counts_over_the_window():
    assert repetition_share(5, [1, 5, 2], 10) == 0.1  # one repeat out of K = 10 (short history: / K)
    assert repetition_share(5, [5] * 4 + [1] * 10, 10) == 0.0  # only the last 10 count
    assert repetition_share(5, [], 10) == 0.0


def test_ras_resamples_from_the_full_distribution_after_a_repeat():
    logits = _logits([0.9, 0.05, 0.05])  # top-p 0.2 always picks token 0
    fresh = [ras_sample(logits, [1, 2], 0.2, 10, 0.09, torch.Generator().manual_seed(s)) for s in range(100)]
    assert all(tok == 0 and not again for tok, again in fresh)
    repeated = [ras_sample(logits, [0, 1, 2], 0.2, 10, 0.09, torch.Generator().manual_seed(s)) for s in range(300)]
    assert all(again for _, again in repeated)  # one repeat in the window: 0.1 > 0.09
    tokens = {tok for tok, _ in repeated}
    assert tokens == {0, 1, 2}  # the unfiltered distribution: the top-p-cut tokens come back
    at_threshold = ras_sample(logits, [0, 1, 2], 0.2, 10, 0.1, torch.Generator().manual_seed(0))
    assert at_threshold == (0, False)  # t_r = 0.1 (the class default) needs two repeats
    assert torch.equal(logits, _logits([0.9, 0.05, 0.05]))  # quirk (c) fixed: the logits are not edited in place


def test_masked_tokens_are_never_drawn_even_after_ras():
    logits = _logits([0.5, 0.5, 1e-3])
    logits[2] = float("-inf")  # e.g. EOS before the minimum duration
    draws = {ras_sample(logits, [0, 1], 1.0, 10, 0.0, torch.Generator().manual_seed(s))[0] for s in range(100)}
    assert draws == {0, 1}
