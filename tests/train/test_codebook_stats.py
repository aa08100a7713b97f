"""Codebook perplexity and share of codes used."""
import math

import pytest
import torch

from tts_codec.train.codebook_stats import CodebookUsage, codebook_stats


def test_uniform_and_single_code():
    s = codebook_stats(torch.arange(8).repeat(3), 16)
    assert s.perplexity == pytest.approx(8.0) and s.used_share == 0.5
    s = codebook_stats(torch.full((4, 5), 3), 16)
    assert s.perplexity == pytest.approx(1.0) and s.used_share == 1 / 16


def test_skewed_histogram_perplexity():
    codes = torch.tensor([0, 0, 0, 1])  # p = (0.75, 0.25)
    entropy = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert codebook_stats(codes, 4).perplexity == pytest.approx(math.exp(entropy))


def test_accumulator_and_range_check():
    usage = CodebookUsage(4)
    usage.update(torch.tensor([0, 1]))
    usage.update(torch.tensor([[2, 3]]))
    assert usage.compute().used_share == 1.0 and usage.compute().perplexity == pytest.approx(4.0)
    usage.reset()
    assert usage.compute() == (0.0, 0.0)
    with pytest.raises(ValueError, match="outside"):
        usage.update(torch.tensor([4]))
