"""Codebook usage statistics: perplexity (exp of the code-usage entropy) and the share of codes used."""
from __future__ import annotations

from typing import NamedTuple

import torch


class CodebookStats(NamedTuple):
    """Usage summary of a set of codes."""

    perplexity: float  # exp(entropy) of the code histogram: 1 = one code, codebook_size = uniform use
    used_share: float  # fraction of the codebook used at least once


def stats_from_counts(counts: torch.Tensor) -> CodebookStats:
    """Summarise a histogram `counts` (codebook_size,) of code occurrences."""
    counts = counts.double()
    total = counts.sum()
    if total <= 0:
        return CodebookStats(0.0, 0.0)
    probs = counts / total
    entropy = -(probs[probs > 0] * probs[probs > 0].log()).sum()
    return CodebookStats(float(entropy.exp()), float((counts > 0).double().mean()))


def code_histogram(codes: torch.Tensor, codebook_size: int) -> torch.Tensor:
    """Args: codes (any shape) of ints in [0, codebook_size). Returns: counts (codebook_size,) int64."""
    flat = codes.reshape(-1).long()
    if flat.numel() and (flat.min() < 0 or flat.max() >= codebook_size):
        raise ValueError(f"codes outside [0, {codebook_size}): min {int(flat.min())}, max {int(flat.max())}")
    return torch.bincount(flat, minlength=codebook_size)


def codebook_stats(codes: torch.Tensor, codebook_size: int) -> CodebookStats:
    """Usage statistics of one batch of codes."""
    return stats_from_counts(code_histogram(codes, codebook_size))


class CodebookUsage:
    """Accumulates a code histogram over many batches (e.g. one validation epoch)."""

    def __init__(self, codebook_size: int):
        self.codebook_size = codebook_size
        self.counts = torch.zeros(codebook_size, dtype=torch.long)

    def update(self, codes: torch.Tensor) -> None:
        self.counts += code_histogram(codes.detach().cpu(), self.codebook_size)

    def compute(self) -> CodebookStats:
        return stats_from_counts(self.counts)

    def reset(self) -> None:
        self.counts.zero_()
