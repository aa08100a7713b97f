"""MARS6 model: the parameter count of the full configuration against mars6_snac.md §4.1, patch grouping and level
offsets, teacher forcing equal to step-by-step decoding, and cached decoding equal to uncached decoding."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tts_codec.config import load_config
from tts_codec.errors import UserError
from tts_codec.lm.mars6.config import Mars6Config
from tts_codec.lm.mars6.decoding import DecodeOptions, decode_patches
from tts_codec.lm.mars6.model import Mars6, count_parameters
from tts_codec.lm.mars6.patches import group_patches, level_allowed, level_of_position, split_patches

REPO = Path(__file__).resolve().parents[2]
TINY = Mars6Config(dim=32, heads=4, ffn=64, encoder_layers=1, global_layers=2, local_layers=2, text_vocab=40,
                   codebook_size=16, speaker_dim=8, style_dim=0, cond_dropout=0.0)


def test_full_config_has_the_official_parameter_breakdown():
    conf = load_config(REPO / "conf" / "lm" / "mars6_full.yaml")["lm_conf"]
    with torch.device("meta"):
        model = Mars6(Mars6Config.from_dict(conf))
    blocks = {"global": model.global_decoder, "encoder": model.encoder, "local": model.local_decoder,
              "local_embed": model.local_embed, "head": model.head, "patch": model.patch_embed}
    counts = {name: count_parameters(m) for name, m in blocks.items()}
    # §4.1 (measured on the official class): 25.24 / 16.82 / 8.41 / 6.29 / 6.29 / 2.32 M
    assert counts == {"global": 25_235_456, "encoder": 16_822_272, "local": 8_411_136, "local_embed": 6_291_968,
                      "head": 6_291_968, "patch": 2_317_459}
    cond = model.conditioning
    projections = count_parameters(cond) - cond.speaker_null.numel() - cond.style_null.numel()
    assert projections == 1_444_864  # 1.44 M: speaker + style projections and the joiner
    assert count_parameters(model) == 67_346_580  # the 67.34 M total (the null embeddings sit in the 0.53 M)


def test_patches_group_levels_with_offsets_and_split_back():
    l0, l1, l2 = np.array([1, 2, 3]), np.array([10, 11, 12, 13, 14, 15]), np.arange(12) + 100
    patches = group_patches([l0, l1, l2], (1, 2, 4), 4096)
    assert patches.shape == (4, 7)
    assert patches[1].tolist() == [2, 4096 + 12, 4096 + 13, 8192 + 104, 8192 + 105, 8192 + 106, 8192 + 107]
    assert patches[-1].tolist() == [12288] * 7  # the EOS row
    back = split_patches(patches[:-1], (1, 2, 4), 4096)
    assert [b.tolist() for b in back] == [l0.tolist(), l1.tolist(), l2.tolist()]
    partial = group_patches([l0, l1[:5], l2], (1, 2, 4), 4096, add_eos=False)  # an incomplete last patch is cut
    assert partial.shape == (2, 7)
    assert level_of_position((1, 2, 4)).tolist() == [0, 1, 1, 2, 2, 2, 2]
    allowed = level_allowed((1, 2, 4), 4096)
    assert allowed.shape == (7, 12289) and allowed[:, 12288].all()
    assert allowed[0, :4096].all() and not allowed[0, 4096:12288].any() and allowed[3, 8192:12288].all()
    with pytest.raises(UserError, match=r"\[0, 4096\)"):
        group_patches([l0, l1, l2 + 5000], (1, 2, 4), 4096)
    with pytest.raises(UserError, match="too few tokens"):
        group_patches([l0[:0], l1, l2], (1, 2, 4), 4096)


def _inputs(seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    text = torch.randint(0, TINY.text_vocab, (1, 9), generator=gen)
    speaker = torch.randn(1, TINY.speaker_dim, generator=gen)
    return text, torch.ones_like(text, dtype=torch.bool), speaker


def test_teacher_forcing_equals_step_by_step_cached_logits():
    torch.manual_seed(0)
    model = Mars6(TINY).eval()
    text, mask, speaker = _inputs()
    levels = [np.random.default_rng(1).integers(0, 16, 5 * n) for n in TINY.levels]
    patches = torch.from_numpy(group_patches(levels, TINY.levels, 16))[None]  # (1, 6, 7)
    with torch.no_grad():
        logits, _ = model(text, mask, speaker, patches)
        memory = model.encode(text, mask, speaker)
        memory_kv = model.global_decoder.memory_kv(memory.states)
        caches = model.global_decoder.new_caches()
        inputs = model.global_inputs(patches)
        for t in range(patches.shape[1]):
            hidden = model.global_step(inputs[:, t:t + 1], memory, memory_kv, caches)
            local = model.local_decoder.new_caches()
            step_inputs = torch.cat([model.to_local(hidden), model.local_embed(patches[:, t, :-1])], dim=1)
            for j in range(TINY.patch_size):
                step = model.local_step(step_inputs[:, j:j + 1], j, local)
                torch.testing.assert_close(step, logits[:, t, j], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cfg_scale", [1.0, 2.0])
def test_cached_and_uncached_decoding_give_identical_tokens(cfg_scale):
    torch.manual_seed(0)
    model = Mars6(TINY).eval()
    text, mask, speaker = _inputs()
    rows = 1 if cfg_scale == 1.0 else 2
    memory = model.encode(text.expand(rows, -1), mask.expand(rows, -1), speaker.expand(rows, -1),
                          drop=torch.tensor([False, True][:rows]))
    prefix = group_patches([np.arange(3 * n) % 16 for n in TINY.levels], TINY.levels, 16, add_eos=False)
    runs = []
    for use_cache in (True, False):
        options = DecodeOptions(max_steps=12, min_steps=4, top_p=0.9, cfg_scale=cfg_scale, use_cache=use_cache)
        runs.append(decode_patches(model, memory, options, torch.Generator().manual_seed(7), prefix=prefix))
    cached, uncached = runs
    assert len(cached.patches) >= 4  # EOS masked before min_steps
    assert np.array_equal(cached.patches, uncached.patches) and cached.ended == uncached.ended
    pos_level = level_of_position(TINY.levels)
    assert ((cached.patches // 16) == pos_level).all()  # every token within its level's range


def test_config_rejects_unknown_keys_and_bad_sizes():
    with pytest.raises(UserError, match="unknown key"):
        Mars6Config.from_dict({"dims": 3})
    with pytest.raises(UserError, match="multiple of heads"):
        Mars6Config.from_dict({"dim": 30, "heads": 8})
    with pytest.raises(UserError, match=r"dropout 1.0 must be in \[0, 1\)"):
        Mars6Config.from_dict({"dropout": 1.0})
    with pytest.raises(UserError, match=r"lm_conf.dim: expected int, got 3.5"):
        Mars6Config.from_dict({"dim": 3.5})
    with pytest.raises(UserError, match=r"lm_conf.cond_dropout: expected float, got True"):
        Mars6Config.from_dict({"cond_dropout": True})
    assert Mars6Config.from_dict({"dropout": 0}).dropout == 0  # an int is a fine float


def test_residual_dropout_acts_in_training_only_and_adds_no_parameters():
    import dataclasses

    torch.manual_seed(0)
    plain = Mars6(TINY)
    dropped = Mars6(dataclasses.replace(TINY, dropout=0.5))
    dropped.load_state_dict(plain.state_dict())  # strict: the same parameter names and shapes
    text, mask, speaker = _inputs()
    patches = torch.from_numpy(group_patches([np.arange(4 * n) % 16 for n in TINY.levels], TINY.levels, 16))[None]
    with torch.no_grad():
        reference = plain.eval()(text, mask, speaker, patches)[0]
        torch.testing.assert_close(dropped.eval()(text, mask, speaker, patches)[0], reference)
        dropped.train()
        first, second = (dropped(text, mask, speaker, patches)[0] for _ in range(2))
    assert not torch.allclose(first, reference) and not torch.allclose(first, second)


def test_restricted_head_gives_the_greedy_tokens_of_the_full_head():
    torch.manual_seed(1)
    model = Mars6(TINY).eval()
    text, mask, speaker = _inputs(1)
    memory = model.encode(text, mask, speaker)
    runs = []
    for restrict in (True, False):
        options = DecodeOptions(max_steps=6, min_steps=6, top_p=1e-6, ras_window=0, restrict_head=restrict)
        runs.append(decode_patches(model, memory, options, torch.Generator().manual_seed(0)).patches)
    assert runs[0].shape == (6, 7) and np.array_equal(runs[0], runs[1])
