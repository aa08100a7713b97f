"""Autoregressive MARS6 decoding of one text chunk: a global step per patch, then the patch's tokens one by one
from the local decoder, each restricted to its level's ids (+ EOS); RAS on the coarsest token, top-p on all.

With `use_cache` the global decoder keeps self-attention K/V over patches (cross-attention K/V of the memory are
computed once) and the local decoder keeps K/V within the patch, and single positions run through bound block steps
(`blocks.BlockStep`: the same ops without the module calls); without it every step re-runs the whole prefix, as the
official release does. Both paths do the same maths and draw from the same generator, so they yield the
same tokens. EOS at any position ends the utterance; the partial patch is dropped (mars6_snac.md §4, §6).
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from tts_codec.errors import UserError
from tts_codec.lm.mars6.model import Mars6, Memory
from tts_codec.lm.mars6.patches import level_allowed
from tts_codec.nn.int8_linear import is_int8_linear, linear_function, quantize_linears
from tts_codec.sampling.ras import nucleus_sample, ras_sample


@dataclass
class DecodeOptions:
    """Per-chunk decoding settings.

    Attributes:
        max_steps: most new patches; min_steps: EOS is forbidden before this many new patches.
        top_p: nucleus mass for every token; ras_window / ras_threshold: RAS on the coarsest token.
        cfg_scale: classifier-free guidance (1.0 = off; otherwise memory must hold [cond, uncond] rows).
        use_cache: KV caches (False: recompute the prefix every step; same tokens, slower).
        restrict_head: score only the position's level rows + EOS (4097 of 12289: a third of the output matrix
            read per token; the masked rows have probability 0 either way, greedy picks are identical).
    """

    max_steps: int
    min_steps: int = 0
    top_p: float = 0.2
    ras_window: int = 10
    ras_threshold: float = 0.09
    cfg_scale: float = 1.0
    use_cache: bool = True
    restrict_head: bool = True

    def __post_init__(self) -> None:
        if self.max_steps < 1 or self.min_steps < 0 or not 0 < self.top_p <= 1 or self.ras_window < 0:
            raise UserError("decoding: max_steps >= 1, min_steps >= 0, 0 < top_p <= 1, ras_window >= 0 required")


class PositionHeads:
    """Per patch position: the output ids it may produce (level range + EOS) and the scorer of their logits.

    Restricted, a position scores only its rows of the head (4097 of 12289 for the 3-level model); an int8 head
    (`tts_codec.lm.mars6.int8`) gets an int8 layer per level holding those rows (quantized per row, so with the
    head's own scales). Unrestricted, every position scores the whole head and masks the other levels' ids."""

    def __init__(self, model: Mars6, restrict: bool):
        cfg = model.cfg
        int8 = is_int8_linear(model.head)
        weight = model.head.weight().dequantize() if int8 else model.head.weight
        allowed = level_allowed(cfg.levels, cfg.codebook_size).to(weight.device)
        if restrict:
            self.ids = [torch.nonzero(row)[:, 0] for row in allowed]
            scorers: dict[int, Callable[[torch.Tensor], torch.Tensor]] = {}  # one per level (positions share)
            self.scorers = []
            for ids in self.ids:
                key = int(ids[0])
                if key not in scorers:
                    scorers[key] = _row_scorer(weight[ids].contiguous(), int8)
                self.scorers.append(scorers[key])
            self.masks = [None] * len(self.ids)
        else:
            full = torch.arange(cfg.vocab_size, device=allowed.device)
            self.ids, self.masks = [full] * len(allowed), list(~allowed)
            self.scorers = [model.head] * len(allowed)
        self.eos_index = [len(ids) - 1 for ids in self.ids]  # EOS is the last id in both layouts
        self.id_lists = [ids.tolist() for ids in self.ids]  # the same ids, read without a tensor op per token


#: int8 models -> their restricted PositionHeads (quantizing the rows takes ~0.2 s: once per model, not per chunk;
#: an int8 copy never changes, while a float model may be trained between decodings)
_INT8_HEADS: "weakref.WeakKeyDictionary[Mars6, PositionHeads]" = weakref.WeakKeyDictionary()


def position_heads(model: Mars6, restrict: bool) -> PositionHeads:
    """`PositionHeads(model, restrict)`, kept per model for restricted int8 heads."""
    if not (restrict and is_int8_linear(model.head)):
        return PositionHeads(model, restrict)
    if model not in _INT8_HEADS:
        _INT8_HEADS[model] = PositionHeads(model, restrict)
    return _INT8_HEADS[model]


def _row_scorer(rows: torch.Tensor, int8: bool) -> Callable[[torch.Tensor], torch.Tensor]:
    """(B, D) hidden -> (B, V') logits of the (V', D) `rows`: a matrix product, or an int8 layer holding them."""
    if not int8:
        return lambda hidden: hidden @ rows.T
    layer = nn.Sequential(nn.utils.skip_init(nn.Linear, rows.shape[1], rows.shape[0], bias=False))
    with torch.no_grad():
        layer[0].weight.copy_(rows)
    quantize_linears(layer)
    return linear_function(layer[0])


class Decoded:
    """Result of one chunk: new patches (S, P) without EOS, whether EOS was reached, RAS resample count."""

    def __init__(self, patches: np.ndarray, ended: bool, resampled: int):
        self.patches, self.ended, self.resampled = patches, ended, resampled


def _guided(logits: torch.Tensor, scale: float) -> torch.Tensor:
    """(R, V) -> (V,): row 0 alone, or uncond + scale x (cond - uncond) with rows [cond, uncond]."""
    if logits.shape[0] == 1:
        return logits[0]
    return logits[1] + scale * (logits[0] - logits[1])


@torch.inference_mode()
def decode_patches(model: Mars6, memory: Memory, options: DecodeOptions, generator: torch.Generator | None,
                   prefix: np.ndarray | None = None) -> Decoded:
    """Generate patches after an optional (S0, P) prefix (deep clone) for a `memory` of 1 row (2 with CFG)."""
    cfg = model.cfg
    rows, device = memory.states.shape[0], memory.states.device
    if bool(memory.mask.all()):  # nothing to hide: cross-attention without a mask (a faster attention path)
        memory = memory._replace(mask=None)
    heads = position_heads(model, options.restrict_head)
    memory_kv = model.global_decoder.memory_kv(memory.states)
    caches = model.global_decoder.new_caches() if options.use_cache else None
    steps = model.global_decoder.new_steps() if options.use_cache else None
    local = _LocalDecoding(model, options.use_cache)
    patches = [list(map(int, p)) for p in (prefix if prefix is not None else [])]
    history = [p[0] for p in patches]
    inputs = [model.bos.expand(rows, 1, -1)]  # cached: the inputs not fed yet; uncached: all of them
    if patches:
        inputs.append(model.patch_embed(_rows(patches, rows, device)))
    new, resampled = [], 0
    for step in range(options.max_steps):
        seq = inputs[0] if len(inputs) == 1 else torch.cat(inputs, dim=1)
        hidden = model.global_step(seq, memory, memory_kv, caches, steps)[:, -1:]
        if caches is not None:
            inputs = []  # held by the caches now
        tokens, ended, again = local.patch(hidden, heads, step < options.min_steps, history, options, generator)
        resampled += again
        if ended:
            return Decoded(_array(new, cfg.patch_size), True, resampled)
        new.append(tokens)
        history.append(tokens[0])
        inputs.append(model.patch_embed(_rows([tokens], rows, device), first=len(patches) + len(new) - 1))
    return Decoded(_array(new, cfg.patch_size), False, resampled)


class _LocalDecoding:
    """The local decoder's token loop for one patch at a time; with `use_cache` its KV caches and bound block steps
    are made once per chunk and cleared for each patch."""

    def __init__(self, model: Mars6, use_cache: bool):
        self.model = model
        self.caches = model.local_decoder.new_caches() if use_cache else None
        self.steps = model.local_decoder.new_steps() if use_cache else None
        self.embeddings = model.local_embed.weight  # indexed per token: the module's lookup without its call

    def patch(self, hidden: torch.Tensor, heads: PositionHeads, no_eos: bool, history: list[int],
              options: DecodeOptions, generator) -> tuple[list[int], bool, int]:
        """The tokens of one patch from its global vector (R, 1, D), whether EOS came, and the RAS resamples."""
        model, caches = self.model, self.caches
        for cache in caches or ():
            cache.clear()
        inputs = [model.to_local(hidden)]
        tokens, resampled = [], 0
        for j in range(model.cfg.patch_size):
            if caches:
                logits = model.local_step(inputs[-1], j, caches, heads.scorers[j], self.steps)
            else:
                logits = model.local_step(torch.cat(inputs, dim=1), 0, None, heads.scorers[j])
            index, again = _sample(_guided(logits.float(), options.cfg_scale), j, heads, no_eos, history, options,
                                   generator)
            resampled += int(again)
            if index == heads.eos_index[j]:
                return tokens, True, resampled
            token = heads.id_lists[j][index]
            tokens.append(token)
            inputs.append(self.embeddings[token].expand(hidden.shape[0], 1, -1))
        return tokens, False, resampled


def _sample(logits: torch.Tensor, j: int, heads: PositionHeads, no_eos: bool, history: list[int],
            options: DecodeOptions, generator) -> tuple[int, bool]:
    """Index (into `heads.ids[j]`) of patch position j's token drawn from its (V',) logits, and whether RAS drew
    again: other levels masked, EOS forbidden while `no_eos`, RAS on the coarsest token, top-p on the others."""
    if heads.masks[j] is not None:
        logits = logits.masked_fill(heads.masks[j], float("-inf"))
    if no_eos:
        logits[heads.eos_index[j]] = float("-inf")
    if j == 0:  # level 0 starts at id 0, so its ids and the history are in the same index space
        return ras_sample(logits, history, options.top_p, options.ras_window, options.ras_threshold, generator)
    return nucleus_sample(logits, options.top_p, generator), False


def _rows(patches: list[list[int]], rows: int, device) -> torch.Tensor:
    return torch.tensor(patches, dtype=torch.long, device=device)[None].expand(rows, -1, -1)


def _array(patches: list[list[int]], width: int) -> np.ndarray:
    return np.asarray(patches, dtype=np.int64).reshape(-1, width)
