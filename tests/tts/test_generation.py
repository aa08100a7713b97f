from __future__ import annotations

import pytest
import torch

from tts_codec.errors import UserError
from tts_codec.tts.generation import RowSampler, SamplingConfig, left_pad, row_seed, top_p_filter


def test_defaults_are_the_official_sampling_settings():
    cfg = SamplingConfig()
    assert (cfg.do_sample, cfg.temperature, cfg.top_k, cfg.top_p, cfg.max_new_tokens) == (True, 0.8, 50, 0.95, 3000)


@pytest.mark.parametrize("key, value", [("temperature", 0), ("top_k", -1), ("top_p", 0), ("top_p", 1.5),
                                        ("max_new_tokens", 0), ("max_retries", -1)])
def test_bad_sampling_values_are_refused_by_name(key, value):
    with pytest.raises(UserError, match=key):
        SamplingConfig(**{key: value})
    with pytest.raises(UserError, match="unknown"):
        SamplingConfig.from_dict({"temprature": 1.0})


def test_row_seed_is_stable_and_distinct():
    assert row_seed(0, "utt1", 0) == row_seed(0, "utt1", 0)
    assert len({row_seed(0, "utt1", 0), row_seed(1, "utt1", 0), row_seed(0, "utt2", 0), row_seed(0, "utt1", 1)}) == 4


def test_top_p_keeps_the_smallest_set_reaching_p():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    kept = torch.isfinite(top_p_filter(logits, 0.75))
    assert kept.tolist() == [[True, True, False, False]]
    assert torch.isfinite(top_p_filter(logits, 0.01)).sum() == 1  # the top token always stays


def test_row_sampler_draws_from_the_filtered_distribution_per_row_generator():
    scores = torch.log(torch.tensor([[0.6, 0.3, 0.1, 1e-9]] * 2))
    cfg = SamplingConfig(temperature=1.0, top_k=2, top_p=1.0)
    draws = []
    for seed in range(200):
        out = RowSampler(cfg, [torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)])(None, scores)
        assert (torch.isfinite(out).sum(-1) == 1).all()
        first, second = out.argmax(-1).tolist()
        assert first == second  # same seed, same draw, whatever the row
        draws.append(first)
    assert set(draws) == {0, 1}  # top-k 2 removes tokens 2 and 3
    assert 0.5 < draws.count(0) / len(draws) < 0.85  # 0.6 / 0.9 = 0.67


def test_left_pad_aligns_prompts_on_the_right():
    ids, mask = left_pad([[1, 2, 3], [4]], pad_id=0)
    assert ids.tolist() == [[1, 2, 3], [0, 0, 4]] and mask.tolist() == [[1, 1, 1], [0, 0, 1]]
