"""Cached MARS6 decoding internals: the bound single-position block steps give the module forward's outputs bit for
bit (float and int8 weights, CFG rows, a padded memory), and the growing KV buffer holds what concatenation would."""
from __future__ import annotations

import pytest
import torch

from tts_codec.lm.mars6.blocks import KVCache
from tts_codec.lm.mars6.config import Mars6Config
from tts_codec.lm.mars6.int8 import int8_copy
from tts_codec.lm.mars6.model import Mars6

TINY = Mars6Config(dim=32, heads=4, ffn=64, encoder_layers=1, global_layers=2, local_layers=2, text_vocab=40,
                   codebook_size=16, speaker_dim=8, style_dim=0, cond_dropout=0.0)


def _model(int8: bool) -> Mars6:
    torch.manual_seed(0)
    model = Mars6(TINY).eval()
    return int8_copy(model) if int8 else model


@pytest.mark.parametrize("int8", [False, True])
def test_global_steps_equal_the_cached_forward_bit_for_bit(int8):
    """A 3-position prefix through the forward (filling the caches), then 30 single positions (the buffer grows
    past its first 16) through `step` and through the forward: identical outputs, rows with a padded memory."""
    model = _model(int8)
    gen = torch.Generator().manual_seed(1)
    memory = torch.randn(2, 9, TINY.dim, generator=gen)
    memory_mask = torch.tensor([[True] * 9, [True] * 6 + [False] * 3])
    inputs = torch.randn(2, 33, TINY.dim, generator=gen)
    stack = model.global_decoder
    with torch.inference_mode():
        memory_kv = stack.memory_kv(memory)
        plain, fast, steps = stack.new_caches(), stack.new_caches(), stack.new_steps()
        for caches in (plain, fast):
            stack(inputs[:, :3], caches=caches, memory_kv=memory_kv, memory_mask=memory_mask)
        for t in range(3, inputs.shape[1]):
            expected = stack(inputs[:, t:t + 1], caches=plain, memory_kv=memory_kv, memory_mask=memory_mask)
            got = stack.step(inputs[:, t:t + 1], fast, steps, memory_kv, memory_mask)
            assert torch.equal(got, expected)
    assert fast[0].length == inputs.shape[1]


@pytest.mark.parametrize("int8", [False, True])
def test_local_steps_equal_the_cached_forward_after_clearing(int8):
    model = _model(int8)
    inputs = torch.randn(2, 3, TINY.patch_size, TINY.dim, generator=torch.Generator().manual_seed(2))
    stack = model.local_decoder
    with torch.inference_mode():
        fast, steps = stack.new_caches(), stack.new_steps()
        for patch in inputs.unbind(1):  # one cache set reused across patches, cleared in between
            for cache in fast:
                cache.clear()
            plain = stack.new_caches()
            for j in range(TINY.patch_size):
                expected = model.local_step(patch[:, j:j + 1], j, plain)
                assert torch.equal(model.local_step(patch[:, j:j + 1], j, fast, steps=steps), expected)


def test_kv_cache_holds_what_concatenation_holds():
    gen = torch.Generator().manual_seed(3)
    cache, keys, values = KVCache(), [], []
    for q in (5, 1, 1, 12, 1, 20):  # blocks and single positions, growing the buffer twice
        k, v = torch.randn(2, 4, q, 8, generator=gen), torch.randn(2, 4, q, 8, generator=gen)
        if q == 1:  # the fused projection's layout
            got_k, got_v = cache.append(torch.stack([k[:, :, 0], v[:, :, 0]], dim=1))
        else:
            got_k, got_v = cache.extend(k, v)
        keys.append(k)
        values.append(v)
        assert torch.equal(got_k, torch.cat(keys, dim=2)) and torch.equal(got_v, torch.cat(values, dim=2))
    assert cache.length == 40
    cache.clear()
    k = torch.randn(2, 4, 1, 8, generator=gen)
    assert cache.length == 0 and torch.equal(cache.extend(k, k)[0], k)
