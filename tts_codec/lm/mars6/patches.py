"""SNAC levels <-> MARS6 patches (mars6_snac.md §2): level k's codes are offset by k x codebook_size and each 12 Hz
step t holds `levels[k]` consecutive codes of every level, coarsest first:
`[L0[t], L1[2t]+4096, L1[2t+1]+4096, L2[4t]+8192, ...]`. The utterance ends with a whole row of EOS."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from tts_codec.errors import UserError


def level_of_position(levels: Sequence[int]) -> np.ndarray:
    """(P,) level index of each position in a patch: (0, 1, 1, 2, 2, 2, 2) for levels (1, 2, 4)."""
    return np.repeat(np.arange(len(levels)), levels)


def group_patches(codes: Sequence[np.ndarray], levels: Sequence[int], codebook_size: int,
                  add_eos: bool = True) -> np.ndarray:
    """Per-level code arrays -> (S, P) patch ids (+ one EOS row when `add_eos`).

    Args:
        codes: one (n x levels[k],) int array per level, coarsest first; extra trailing codes of a level
            (a partial patch) are dropped.
    """
    if len(codes) != len(levels):
        raise UserError(f"{len(codes)} token streams for a model of {len(levels)} levels")
    steps = min(len(c) // n for c, n in zip(codes, levels))
    if steps < 1:
        raise UserError(f"too few tokens for one patch: lengths {[len(c) for c in codes]}, levels {list(levels)}")
    parts = []
    for k, (c, n) in enumerate(zip(codes, levels)):
        c = np.asarray(c, dtype=np.int64)[: steps * n]
        if c.min() < 0 or c.max() >= codebook_size:
            raise UserError(f"level {k} codes must lie in [0, {codebook_size})")
        parts.append(c.reshape(steps, n) + k * codebook_size)
    patches = np.concatenate(parts, axis=1)
    if add_eos:
        patches = np.concatenate([patches, np.full((1, sum(levels)), codebook_size * len(levels))])
    return patches


def split_patches(patches: np.ndarray | torch.Tensor, levels: Sequence[int], codebook_size: int) -> list[np.ndarray]:
    """(S, P) patch ids (no EOS row) -> one (S x levels[k],) code array per level, offsets removed."""
    patches = np.asarray(patches.cpu() if isinstance(patches, torch.Tensor) else patches, dtype=np.int64)
    bounds = np.cumsum([0, *levels])
    out = []
    for k in range(len(levels)):
        part = patches[:, bounds[k]:bounds[k + 1]] - k * codebook_size
        if part.size and (part.min() < 0 or part.max() >= codebook_size):
            raise ValueError(f"patch ids of level {k} outside its range")
        out.append(part.reshape(-1))
    return out


def level_allowed(levels: Sequence[int], codebook_size: int) -> torch.Tensor:
    """(P, V) bool: which output ids each position may produce (its own level's range + EOS)."""
    pos_level = level_of_position(levels)
    vocab = codebook_size * len(levels) + 1
    allowed = torch.zeros(len(pos_level), vocab, dtype=torch.bool)
    for p, k in enumerate(pos_level):
        allowed[p, k * codebook_size:(k + 1) * codebook_size] = True
    allowed[:, -1] = True
    return allowed


def mask_to_levels(logits: torch.Tensor, levels: Sequence[int], codebook_size: int) -> torch.Tensor:
    """Logits (..., P, V) with every id outside each position's level (and not EOS) at the dtype's lowest value: the
    distribution decoding samples from. Finite, so a log-softmax gathered at a padded target times 0 stays 0."""
    allowed = level_allowed(levels, codebook_size).to(logits.device)
    return logits.masked_fill(~allowed, torch.finfo(logits.dtype).min)
