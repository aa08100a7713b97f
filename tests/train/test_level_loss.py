"""Level-restricted MARS6 training (ours): its CE is the full head's CE with the other levels masked out (the
distribution decoding samples from), its hits and flux inputs agree with that masked head, a target outside its
level is refused, and a run with the option trains, logs and validates."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from tts_codec.data.lm_dataset import IGNORE
from tts_codec.errors import UserError
from tts_codec.lm.mars6.patches import level_allowed
from tts_codec.train.lm.level_loss import LevelScores, level_cross_entropy, level_hits, level_scores

from .test_mars6_task import run, setup, tiny_config  # noqa: F401  (setup is a fixture)

LEVELS, CODES = (1, 2, 4), 5
VOCAB = CODES * len(LEVELS) + 1


def random_case(seed: int = 0):
    """States (2, 3, 7, 8), a head (16, 8) and level-valid targets with EOS rows and IGNORE padding."""
    g = torch.Generator().manual_seed(seed)
    states, weight = torch.randn(2, 3, 7, 8, generator=g), torch.randn(VOCAB, 8, generator=g)
    offsets = torch.tensor([0, 1, 1, 2, 2, 2, 2]) * CODES
    targets = torch.randint(0, CODES, (2, 3, 7), generator=g) + offsets
    targets[0, 2] = VOCAB - 1  # the EOS row
    targets[1, 2] = IGNORE  # padding
    targets[1, 1, 4] = VOCAB - 1  # EOS inside a patch (allowed at every position)
    return states, weight, targets


def scores_of_row(scores: LevelScores, i: int) -> LevelScores:
    """The scores of batch row i alone."""
    return LevelScores([x[i:i + 1] for x in scores.logits], [t[i:i + 1] for t in scores.targets])


def masked_logits(states: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """The full head's logits with every other level's ids at -inf (what decoding samples from)."""
    logits = states @ weight.t()
    return logits.masked_fill(~level_allowed(LEVELS, CODES), float("-inf"))


def test_cross_entropy_equals_the_masked_full_head():
    states, weight, targets = random_case()
    scores = level_scores(states, weight, targets, LEVELS, CODES)
    expected = F.cross_entropy(masked_logits(states, weight).flatten(0, 2), targets.reshape(-1),
                               ignore_index=IGNORE, reduction="sum")
    assert level_cross_entropy(scores).item() == pytest.approx(expected.item(), rel=1e-5)
    full = F.cross_entropy((states @ weight.t()).flatten(0, 2), targets.reshape(-1), ignore_index=IGNORE,
                           reduction="sum")
    assert level_cross_entropy(scores).item() < full.item()  # the other levels' mass is not charged


def test_hits_and_level0_scores_follow_the_masked_head():
    states, weight, targets = random_case(1)
    scores = level_scores(states, weight, targets, LEVELS, CODES)
    masked = masked_logits(states, weight)
    assert torch.equal(level_hits(scores), masked.argmax(-1) == targets)
    assert scores.logits[0].shape == (2, 3, 1, CODES + 1)
    probs = torch.softmax(scores.logits[0][..., 0, :], -1)
    expected = torch.softmax(masked[..., 0, :], -1)[..., list(range(CODES)) + [VOCAB - 1]]
    assert torch.allclose(probs, expected, atol=1e-6)
    assert scores.targets[0][0, 2, 0].item() == CODES  # EOS -> the last row of the level's set


def test_gradient_reaches_only_the_scored_rows_and_a_stray_target_is_refused():
    states, weight, targets = random_case(2)
    targets[:, :, 1:] = IGNORE  # only level 0 is scored
    weight.requires_grad_(True)
    level_cross_entropy(level_scores(states, weight, targets, LEVELS, CODES)).backward()
    assert weight.grad[:CODES].abs().sum() > 0 and weight.grad[VOCAB - 1].abs().sum() > 0
    assert weight.grad[CODES:VOCAB - 1].abs().sum() == 0
    targets[0, 0, 0] = CODES + 1  # a level-1 id at the level-0 position
    with pytest.raises(ValueError, match="outside level 0"):
        level_scores(states, weight, targets, LEVELS, CODES)


def test_a_restricted_run_trains_logs_and_validates(setup, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    config = tiny_config(setup[0], max_steps=3)
    config["level_restricted_loss"] = True
    task = run(config, setup, tmp_path / "exp")
    assert task.trainer.global_step == 3
    events = EventAccumulator(str(tmp_path / "exp" / "tensorboard")).Reload()
    for tag in ("train/ce", "train/flux", "val/loss", "val/acc"):
        values = [e.value for e in events.Scalars(tag)]
        assert values and all(torch.isfinite(torch.tensor(values))), tag
    assert all(e.value > 0 for e in events.Scalars("val/loss"))
    assert all(0 <= e.value <= 1 for e in events.Scalars("val/acc"))


def test_a_non_boolean_option_is_refused(setup):
    from tts_codec.train.lm.mars6_task import Mars6Task

    config = tiny_config(setup[0])
    config["level_restricted_loss"] = "yes"
    with pytest.raises(UserError, match="level_restricted_loss"):
        Mars6Task(config)


def test_mask_to_levels_is_the_masked_head_and_keeps_padded_targets_finite():
    from tts_codec.lm.mars6.patches import mask_to_levels
    from tts_codec.train.lm.orpo import mean_token_logp

    states, weight, targets = random_case(3)
    logits = states @ weight.t()
    masked = mask_to_levels(logits, LEVELS, CODES)
    assert torch.allclose(torch.log_softmax(masked, -1).exp(), torch.softmax(masked_logits(states, weight), -1))
    logp = mean_token_logp(masked, targets)  # padded targets gather id 0, outside most levels: must not be NaN
    assert torch.isfinite(logp).all()
    scores = level_scores(states, weight, targets, LEVELS, CODES)
    valid = targets != IGNORE
    expected = -level_cross_entropy(scores) / valid.sum()
    assert (logp * valid.sum((1, 2))).sum().item() / valid.sum().item() == pytest.approx(expected.item(), rel=1e-5)


def test_orpo_scores_a_restricted_model_within_its_levels(setup, tmp_path):
    from tts_codec.train.lm.orpo_task import Mars6OrpoTask, collate_pairs
    from tts_codec.tts.mars6_preference import load_pairs

    from .test_mars6_task import orpo_run

    orpo, pairs_file = orpo_run(setup, tmp_path, 2)
    task = Mars6OrpoTask({**orpo, "level_restricted_loss": True})
    batch = collate_pairs(load_pairs(pairs_file), task.model.cfg.eos_id)["chosen"]
    logp, nll = task.sequence_scores(batch)
    cfg, targets = task.model.cfg, batch["targets"]
    states, _ = task.model.forward_states(batch["text"], batch["text_mask"], batch["speaker"], batch["patches"])
    scores = level_scores(states, task.model.head.weight, targets, cfg.levels, cfg.codebook_size)
    per_row = torch.stack([level_cross_entropy(scores_of_row(scores, i)) for i in range(len(targets))])
    assert torch.allclose(-logp * (targets != IGNORE).sum((1, 2)), per_row, rtol=1e-4)
    assert torch.equal(nll, -logp)
