"""Repetition-aware sampling and nucleus sampling on crafted logits (mars6_snac.md §6), and the samplers' tokens
equal to those of reference samplers (the implementation before its speed-ups, a full sort) for the same generator."""
from __future__ import annotations

import torch

import pytest

from tts_codec.sampling.ras import (NUCLEUS_CANDIDATES, nucleus, nucleus_sample, race, ras_sample,
                                   repetition_share)
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


def _reference_nucleus_sample(logits, top_p, generator):
    """The sampler before its speed-ups, kept as the reference: softmax, top-64 candidates widened 4x until their
    mass reaches top_p, the nucleus kept by a float32 comparison, one torch.multinomial draw among it."""
    probs = torch.softmax(logits.float(), dim=-1)
    k = min(64, probs.numel())
    while True:
        top, index = torch.topk(probs, k)
        before = top.cumsum(0) - top
        if k == probs.numel() or bool(before[-1] >= top_p):
            break
        k = min(4 * k, probs.numel())
    keep = before < top_p
    keep[0] = True
    return int(index[keep][torch.multinomial(top[keep], 1, generator=generator)])


def _reference_ras_sample(logits, history, top_p, window, threshold, generator):
    token = _reference_nucleus_sample(logits, top_p, generator)
    if history and repetition_share(token, history, window) > threshold:
        return int(torch.multinomial(torch.softmax(logits.float(), dim=-1), 1, generator=generator)), True
    return token, False


def _sorted_nucleus_sample(logits, top_p, generator):
    """A plain full-sort top-p draw (the same token as the samplers while no two probabilities tie)."""
    probs, order = torch.sort(torch.softmax(logits.float(), dim=-1), descending=True)
    keep = probs.cumsum(0) - probs < top_p
    keep[0] = True
    return int(order[keep][torch.multinomial(probs[keep], 1, generator=generator)])


def _crafted_logits():
    """Ties, -inf entries, tiny vocabularies, one dominant id, flat 4097-id rows (the search widens to V)."""
    tied = torch.zeros(4097)
    tied[:300] = 2.0  # 300 exact ties at the top
    few_values = torch.randint(0, 4, (4097,), generator=torch.Generator().manual_seed(5)).float()  # ties everywhere
    masked = torch.randn(4097, generator=torch.Generator().manual_seed(6))
    masked[::3] = float("-inf")
    dominant = torch.full((4097,), -3.0)
    dominant[17] = 30.0
    return [torch.tensor([0.0]), _logits([0.5, 0.5, 1e-3]), _logits([0.6, 0.3, 0.1]), tied, few_values, masked,
            torch.zeros(4097), dominant, torch.randn(70, generator=torch.Generator().manual_seed(8))]


def _random_logits(count_per_temperature: int = 8) -> list[torch.Tensor]:
    """Random 4097-id rows from peaked (nucleus of one) to flat (nucleus of thousands)."""
    gen = torch.Generator().manual_seed(11)
    return [torch.randn(4097, generator=gen) / t for t in (0.02, 0.3, 1.0, 3.0, 30.0)
            for _ in range(count_per_temperature)]


@pytest.mark.parametrize("top_p", [0.2, 0.7, 0.9, 0.999, 1e-6])  # 0.7 and 0.9 round down in float32
def test_nucleus_sample_draws_the_tokens_of_the_reference_samplers(top_p):
    """The same token, and the same generator state after it, as the reference for the same generator state, on
    crafted and random logits; on the random ones (no ties) also the full-sort sampler's token."""
    crafted = _crafted_logits()
    for i, logits in enumerate(crafted + _random_logits()):
        ours, reference, plain = (torch.Generator().manual_seed(100 + i) for _ in range(3))
        for _ in range(3):  # consecutive draws from one generator
            token = nucleus_sample(logits, top_p, ours)
            assert token == _reference_nucleus_sample(logits, top_p, reference)
            assert torch.equal(ours.get_state(), reference.get_state())
            if i >= len(crafted):
                assert token == _sorted_nucleus_sample(logits, top_p, plain)


def test_ras_sample_draws_the_tokens_of_the_reference():
    """Also when the repetition check draws again: the history holds the likely first draw half of the time."""
    resampled = 0
    for i, logits in enumerate(_crafted_logits() + _random_logits(4)):
        history = [7, 3] + ([int(logits.argmax())] if i % 2 else [])
        ours, reference = torch.Generator().manual_seed(i), torch.Generator().manual_seed(i)
        got = ras_sample(logits, history, 0.2, 10, 0.09, ours)
        assert got == _reference_ras_sample(logits, history, 0.2, 10, 0.09, reference)
        assert torch.equal(ours.get_state(), reference.get_state())
        resampled += got[1]
    assert resampled >= 5


def test_the_race_is_torch_multinomial_for_one_sample():
    gen = torch.Generator().manual_seed(12)
    for size in (1, 2, 5, 64, 300, 4097):
        probs = torch.rand(size, generator=gen) ** 4
        probs[1::7] = 0.0
        ours, reference = torch.Generator().manual_seed(size), torch.Generator().manual_seed(size)
        for _ in range(5):
            assert race(probs, ours) == int(torch.multinomial(probs, 1, generator=reference))
            assert torch.equal(ours.get_state(), reference.get_state())


def test_the_search_stops_where_the_float32_comparison_stops():
    """A flat row whose mass above the 64th candidate equals top_p rounded to float32 (top_p itself a bit above):
    the search must stop at 64 candidates as the tensor comparison does, not widen as a float64 one would (all
    probabilities tie, so a wider search ranks other ids first)."""
    logits = torch.zeros(4097)
    top = torch.topk(torch.softmax(logits, dim=-1), NUCLEUS_CANDIDATES)[0]
    boundary = float((top.cumsum(0) - top)[-1])
    top_p = boundary + 2.0 ** -30 * boundary  # rounds to `boundary` in float32
    assert float(torch.tensor(top_p, dtype=torch.float32)) == boundary < top_p
    for seed in range(20):
        ours, reference = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)
        assert nucleus_sample(logits, top_p, ours) == _reference_nucleus_sample(logits, top_p, reference)


def test_nan_probabilities_raise_as_torch_multinomial_does():
    logits = torch.full((4097,), float("-inf"))  # e.g. every id masked: softmax gives NaN
    with pytest.raises(RuntimeError):
        _reference_nucleus_sample(logits, 0.2, torch.Generator().manual_seed(0))
    with pytest.raises(RuntimeError, match="NaN"):
        nucleus_sample(logits, 0.2, torch.Generator().manual_seed(0))
