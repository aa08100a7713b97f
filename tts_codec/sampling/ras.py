"""Nucleus sampling and repetition-aware sampling (RAS, VALL-E 2) of one token from (V,) logits.

RAS draws with top-p; if the share of the last `window` history tokens equal to the draw exceeds `threshold`,
it draws again from the full distribution (no top-p), which breaks loops that a nearly greedy top-p would repeat.
The share is count / window even while the history is shorter (mars6_snac.md §6: unverified upstream; this
choice makes a single repeat within the window trigger at threshold 0.09, as the official setting intends).
"""
from __future__ import annotations

from typing import Sequence

import torch

from tts_codec.tts.generation import top_p_filter


def draw(logits: torch.Tensor, generator: torch.Generator | None) -> int:
    """One sample from softmax(logits) (V,); -inf entries are never drawn."""
    return int(torch.multinomial(torch.softmax(logits.float(), dim=-1), 1, generator=generator))


def nucleus_sample(logits: torch.Tensor, top_p: float, generator: torch.Generator | None) -> int:
    """Sample from the smallest top set reaching `top_p` of the probability (top_p 1.0: the full distribution)."""
    if top_p < 1.0:
        logits = top_p_filter(logits.float()[None], top_p)[0]  # a filtered copy: `logits` stays intact
    return draw(logits, generator)


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
