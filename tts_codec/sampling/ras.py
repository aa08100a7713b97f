"""Nucleus sampling and repetition-aware sampling (RAS, VALL-E 2) of one token from (V,) logits.

RAS draws with top-p; if the share of the last `window` history tokens equal to the draw exceeds `threshold`,
it draws again from the full distribution (no top-p), which breaks loops that a nearly greedy top-p would repeat.
The share is count / window even while the history is shorter (mars6_snac.md §6: unverified upstream; this
choice makes a single repeat within the window trigger at threshold 0.09, as the official setting intends).
"""
from __future__ import annotations

import bisect
import math
from typing import Sequence

import numpy as np
import torch


def draw(logits: torch.Tensor, generator: torch.Generator | None) -> int:
    """One sample from softmax(logits) (V,); -inf entries are never drawn."""
    return int(torch.multinomial(torch.softmax(logits.float(), dim=-1), 1, generator=generator))


#: candidates ranked first when looking for the nucleus (the search widens 4x while the nucleus is larger)
NUCLEUS_CANDIDATES = 64


def nucleus(logits: torch.Tensor, top_p: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The top-p nucleus of (V,) logits: its ids and their (unnormalised) probabilities, best first. Found by
    ranking only the top candidates instead of sorting all V (a decoding step samples 7 times over 4097 ids)."""
    index, top, size = _ranked_nucleus(logits, top_p)
    return index[:size], top[:size]


def _ranked_nucleus(logits: torch.Tensor, top_p: float) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Ids and probabilities of the top candidates, best first, and how many of them form the nucleus: those with
    less than top_p of the mass ranked above them (compared in float32, as tensors compare), at least one."""
    probs = torch.softmax(logits.float(), dim=-1)
    k = _first_candidates(probs, top_p)
    threshold = float(np.float32(top_p))
    while True:
        top, index = torch.topk(probs, k)
        before = (top.cumsum(0) - top).tolist()  # mass ranked above each candidate: non-decreasing (see below)
        if k == probs.numel() or before[-1] >= threshold:  # the nucleus closes inside the candidates
            break
        k = min(4 * k, probs.numel())
    # the kept candidates are a prefix: cumsum of non-increasing, non-negative values minus them never decreases
    # in float rounding (each step rounds a larger or equal exact value), so counting the ones below is bisection
    return index, top, max(1, bisect.bisect_left(before, threshold))


def _first_candidates(probs: torch.Tensor, top_p: float) -> int:
    """The first candidate count of the search (NUCLEUS_CANDIDATES, widened 4x at a time, at most V) that can
    hold the nucleus: k candidates hold at most k x the top probability, so smaller counts are skipped (a flat
    distribution would otherwise rank its top 64 only to rank again; the margin covers float rounding)."""
    k, size = min(NUCLEUS_CANDIDATES, probs.numel()), probs.numel()
    most = probs.max().item()
    if math.isnan(most):  # torch.multinomial's check, which the race below skips
        raise RuntimeError("nucleus sampling: the probabilities contain NaN (NaN or all -inf logits)")
    while k < size and k * most * 1.0001 < top_p:
        k = min(4 * k, size)
    return k


def race(probs: torch.Tensor, generator: torch.Generator | None) -> int:
    """One index drawn from non-negative (unnormalised) `probs` (N,) by an exponential race: argmax p_i / E_i with
    E_i ~ Exp(1). This is how `torch.multinomial` draws one sample (same token, same generator use; tested), without
    its validity checks, which cost more than the draw on the few nucleus ids."""
    noise = torch.empty_like(probs).exponential_(generator=generator)
    return int(torch.argmax(probs / noise))


def nucleus_sample(logits: torch.Tensor, top_p: float, generator: torch.Generator | None) -> int:
    """Sample from the smallest top set reaching `top_p` of the probability (top_p 1.0: the full distribution).
    The draw is made among the nucleus' few ids only (multinomial over all V ids cost more than the model's head)."""
    if top_p >= 1.0:
        return draw(logits, generator)
    index, top, size = _ranked_nucleus(logits, top_p)
    return int(index[race(top[:size], generator)])


def repetition_share(token: int, history: Sequence[int], window: int) -> float:
    """Share of the last `window` history tokens equal to `token` (count / window)."""
    recent = list(history)[-window:] if window > 0 else []
    return sum(1 for t in recent if t == token) / window if window > 0 else 0.0


def ras_sample(logits: torch.Tensor, history: Sequence[int], top_p: float, window: int, threshold: float,
               generator: torch.Generator | None) -> tuple[int, bool]:
    """A RAS draw from (V,) logits given earlier tokens of the same stream; returns (token, resampled)."""
    token = nucleus_sample(logits, top_p, generator)
    if history and repetition_share(token, history, window) > threshold:
        return draw(logits, generator), True
    return token, False
