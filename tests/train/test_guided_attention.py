"""Guided attention for MARS6 (ours): the penalty against a hand computation, padding and the conditioning slots
ignored, the explicit attention path equal to the fused one, the term's gradient reaching the cross-attention, a
training run logging it, and named config mistakes."""
from __future__ import annotations

import math

import pytest
import torch

from tts_codec.data.lm_dataset import IGNORE
from tts_codec.errors import UserError
from tts_codec.train.lm.guided_attention import PREFIX, diagonal_penalty, guided_attention_loss

from .test_mars6_task import run, setup, tiny_config  # noqa: F401  (setup is a fixture)


def one_hot_attention(columns: list[int], slots: int) -> torch.Tensor:
    """(1, 1, S, slots) attention putting all of row s on memory slot columns[s]."""
    weights = torch.zeros(1, 1, len(columns), slots)
    weights[0, 0, torch.arange(len(columns)), torch.tensor(columns)] = 1.0
    return weights


def test_penalty_matches_a_hand_computation_and_is_zero_outside_the_real_region():
    penalty = diagonal_penalty(torch.tensor([4]), torch.tensor([2]), text_slots=5, patch_slots=3, sigma=0.2)
    gap = (2 + 0.5) / 4 - (1 + 0.5) / 2  # text token 2 of 4, patch 1 of 2
    assert penalty[0, 1, 2].item() == pytest.approx(1 - math.exp(-gap ** 2 / (2 * 0.2 ** 2)))
    assert penalty[0, 2].abs().sum() == 0 and penalty[0, :, 4].abs().sum() == 0  # padded patch row, text slot


def test_diagonal_attention_costs_little_and_reversed_attention_much():
    text, patches = torch.ones(1, 8, dtype=torch.bool), torch.ones(1, 8, dtype=torch.bool)
    diagonal = one_hot_attention([PREFIX + s for s in range(8)], PREFIX + 8)
    reversed_ = one_hot_attention([PREFIX + 7 - s for s in range(8)], PREFIX + 8)
    assert guided_attention_loss([diagonal], text, patches).item() == pytest.approx(0.0, abs=1e-6)
    gaps = [((7 - s + 0.5) - (s + 0.5)) / 8 for s in range(8)]
    expected = sum(1 - math.exp(-g ** 2 / (2 * 0.2 ** 2)) for g in gaps) / 8
    assert guided_attention_loss([reversed_], text, patches).item() == pytest.approx(expected, rel=1e-5)


def test_conditioning_slots_cost_one_and_padding_nothing():
    text = torch.tensor([[True] * 4 + [False] * 2])
    patches = torch.tensor([[True] * 3 + [False]])
    on_speaker = one_hot_attention([1, 1, 1, 1], PREFIX + 6)  # the padded 4th row attends the speaker too
    assert guided_attention_loss([on_speaker], text, patches).item() == pytest.approx(1.0)
    far = one_hot_attention([PREFIX + 3, PREFIX + 3, PREFIX + 3, PREFIX + 5], PREFIX + 6)
    noisy_padding = far.clone()
    noisy_padding[0, 0, 3] = 1.0 / (PREFIX + 6)  # the padded patch row attends anywhere
    assert guided_attention_loss([noisy_padding], text, patches).item() == pytest.approx(
        guided_attention_loss([far], text, patches).item())


def test_only_the_first_heads_are_guided():
    text, patches = torch.ones(1, 4, dtype=torch.bool), torch.ones(1, 4, dtype=torch.bool)
    good = one_hot_attention([PREFIX + s for s in range(4)], PREFIX + 4)
    bad = one_hot_attention([PREFIX + 3 - s for s in range(4)], PREFIX + 4)
    both = torch.cat([good, bad], dim=1)
    assert guided_attention_loss([both], text, patches, heads=1).item() == pytest.approx(0.0, abs=1e-6)
    assert guided_attention_loss([both], text, patches).item() == pytest.approx(
        guided_attention_loss([bad], text, patches).item() / 2)


def test_explicit_attention_path_equals_the_fused_one_and_reports_probabilities():
    from tts_codec.lm.mars6.config import Mars6Config
    from tts_codec.lm.mars6.model import Mars6

    torch.manual_seed(0)
    model = Mars6(Mars6Config(dim=32, heads=4, ffn=64, encoder_layers=1, global_layers=2, local_layers=1,
                              text_vocab=20, codebook_size=8, speaker_dim=16, style_dim=0)).eval()
    text = torch.randint(0, 20, (2, 6))
    mask = torch.tensor([[True] * 6, [True] * 4 + [False] * 2])
    patches = torch.randint(0, 24, (2, 5, 7))
    speaker = torch.randn(2, 16)
    fused, _ = model(text, mask, speaker, patches)
    weights: list[torch.Tensor] = []
    explicit, _ = model(text, mask, speaker, patches, cross_weights=weights)
    assert torch.allclose(fused, explicit, atol=1e-5)
    assert len(weights) == 2 and weights[0].shape == (2, 4, 5, PREFIX + 6)
    assert torch.allclose(weights[1].sum(-1), torch.ones(2, 4, 5))
    assert weights[0][1, ..., PREFIX + 4:].abs().max() == 0  # masked text is never attended


def test_the_term_trains_the_cross_attention_and_is_logged(setup, tmp_path):  # noqa: F811
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from tts_codec.train.lm.mars6_task import Mars6Task

    config = tiny_config(setup[0], max_steps=2)
    config["loss_weights"] = {"ce": 0.0, "flux": 0.0, "guided_attention": 1.0}
    task = Mars6Task(config)
    from tts_codec.train.lm.mars6_task import build_mars6_datamodule

    tok, train, dev, codes, xvec = setup
    data = build_mars6_datamodule(config, train, dev, codes_dir=codes, xvector_dir=xvec)
    data.setup("fit")
    batch = next(iter(data.train_dataloader()))[0]
    attention: list[torch.Tensor] = []
    task.model.head(task.states(batch, train=False, cross_weights=attention))  # the whole forward, head included
    loss = guided_attention_loss(attention, batch["text_mask"], (batch["targets"] != IGNORE).all(-1))
    loss.backward()
    block = task.model.global_decoder.blocks[0]
    assert loss.item() > 0 and block.cross.q.weight.grad.abs().sum() > 0
    assert task.model.head.weight.grad is None  # the term does not reach the output head

    trained = run({**config, "loss_weights": {"ce": 1.0, "guided_attention": 2.0},
                   "guided_attention": {"sigma": 0.3, "heads": 1}}, setup, tmp_path / "exp")
    assert trained.trainer.global_step == 2 and trained.guided_attention == {"sigma": 0.3, "heads": 1}
    events = EventAccumulator(str(tmp_path / "exp" / "tensorboard")).Reload()
    assert all(e.value > 0 for e in events.Scalars("train/guided_attention"))


@pytest.mark.parametrize("section,weight,message", [
    ({"sigma": 0.2}, 0.0, "loss_weights.guided_attention is not positive"),
    ({"sigmaa": 0.2}, 1.0, "guided_attention: unknown \\['sigmaa'\\]"),
    ({"sigma": 0.0}, 1.0, "guided_attention.sigma"),
    ({"sigma": "wide"}, 1.0, "guided_attention.sigma"),
    ({"heads": 9}, 1.0, "guided_attention.heads: an integer in \\[1, 4\\]"),
    ({"heads": True}, 1.0, "guided_attention.heads"),
    ([0.2], 1.0, "guided_attention: a mapping"),
])
def test_config_mistakes_are_named(setup, section, weight, message):  # noqa: F811
    from tts_codec.train.lm.mars6_task import Mars6Task

    config = {**tiny_config(setup[0]), "guided_attention": section}
    config["loss_weights"] = {"ce": 1.0, "guided_attention": weight}
    with pytest.raises(UserError, match=message):
        Mars6Task(config)
