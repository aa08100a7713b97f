"""MARS6 preference fine-tuning with ORPO (stage 9): start from a trained model dir (`init_lm_dir`), train on
(chosen, rejected) candidate pairs of the same prompt (`tts_codec.tts.mars6_preference`), export a model dir.

Each pair shares the text and speaker conditioning; a sequence is the candidate's patches plus the EOS row. The
loss is `tts_codec.train.lm.orpo.orpo_loss` with `orpo_lambda`; logs `train/loss`, `train/nll`,
`train/odds_ratio`, and `train/pref_acc` (share of pairs where the chosen candidate has the higher mean log-prob).
"""
from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch.utils.data import Dataset

from tts_codec.config import require
from tts_codec.errors import UserError
from tts_codec.lm.mars6.examples import Mars6Example, collate_examples
from tts_codec.lm.mars6.patches import mask_to_levels
from tts_codec.train.lm.datamodule import LMDataModule
from tts_codec.train.lm.manual_step import finish_step
from tts_codec.train.lm.mars6_task import Mars6Task
from tts_codec.train.lm.orpo import mean_token_logp, orpo_loss


class Mars6OrpoTask(Mars6Task):
    """ORPO on a trained MARS6.

    Args:
        config: the model dir's config plus init_lm_dir, orpo_lambda, optim/scheduler, trainer.
    """

    def __init__(self, config: dict[str, Any]):
        # Mars6Task fine-tunes init (float or int8-packed, its tokenizer); the tokenizer_dir and init_llm_dir that
        # the model dir's config names are where it came from, not what this run reads
        init = require(config, "init_lm_dir")
        super().__init__({**config, "init_llm_dir": str(init), "tokenizer_dir": None})
        self.lam = float(config.get("orpo_lambda", 0.1))

    def sequence_scores(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """(B,) mean token log-prob and mean NLL of each sequence (conditioning never dropped)."""
        logits, _ = self.model(batch["text"], batch["text_mask"], batch["speaker"], batch["patches"])
        if self.level_restricted:  # the model was trained on its levels' rows only: score what decoding samples
            logits = mask_to_levels(logits, self.model.cfg.levels, self.model.cfg.codebook_size)
        logp = mean_token_logp(logits, batch["targets"])
        return logp, -logp

    def training_step(self, pair: dict[str, dict[str, torch.Tensor]], batch_idx: int) -> None:
        self.optimizers().zero_grad(set_to_none=True)
        chosen_lp, chosen_nll = self.sequence_scores(pair["chosen"])
        rejected_lp, _ = self.sequence_scores(pair["rejected"])
        loss, parts = orpo_loss(chosen_nll, chosen_lp, rejected_lp, self.lam)
        self.manual_backward(loss)
        metrics = {"train/loss": loss.detach(), **{f"train/{k}": v for k, v in parts.items()},
                   "train/pref_acc": (chosen_lp > rejected_lp).float().mean()}
        finish_step(self, self.model.parameters(), loss.detach(), metrics, batch_size=len(chosen_lp))

    def validation_step(self, *args, **kwargs) -> None:  # preference runs have no validation set
        return None


class PairSet(Dataset):
    """Preference pairs addressed by the (micro, index) keys of a `StepStream`; every pair has length 1, so a step
    of `max_tokens = batch_size` holds `batch_size` pairs."""

    def __init__(self, pairs: list[tuple[Mars6Example, Mars6Example]]):
        self.pairs = pairs
        self.lengths = np.ones(len(pairs), dtype=np.int64)

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, key: tuple[int, int]) -> tuple[Mars6Example, Mars6Example]:
        return self.pairs[key[1]]


def collate_pairs(items: list[tuple[Mars6Example, Mars6Example]], eos_id: int) -> dict[str, dict[str, torch.Tensor]]:
    """Pairs -> {"chosen": batch, "rejected": batch} (`collate_examples` layout)."""
    return {"chosen": collate_examples([c for c, _ in items], eos_id),
            "rejected": collate_examples([r for _, r in items], eos_id)}


class PairDataModule(LMDataModule):
    """Seeded batches of `batch_size` preference pairs from the LM data module's step stream: sharded over DDP
    ranks, and a resumed run continues where the checkpoint stopped (mid data epoch too)."""

    def __init__(self, pairs: list[tuple[Mars6Example, Mars6Example]], batch_size: int, eos_id: int, seed: int):
        if not pairs:
            raise UserError("no preference pair: every prompt's candidates scored the same (nothing to prefer)")
        if batch_size <= 0:
            raise UserError(f"config data.batch_size must be positive, got {batch_size}")
        super().__init__(PairSet(pairs), None, max_tokens=batch_size, accumulate=1, pad_id=eos_id, seed=seed)

    def collate_fn(self) -> Callable[[list], Any]:
        return partial(collate_pairs, eos_id=self.pad_id)


def build_pair_datamodule(config: dict[str, Any], train_data: str | Path, valid_data: str | Path | None = None,
                          **_: Any) -> PairDataModule:
    """The pairs of `<train_data>` (a pairs file written by `tts_codec.tts.mars6_preference.save_pairs`)."""
    from tts_codec.tts.mars6_preference import load_pairs

    pairs = load_pairs(train_data)
    eos = int((pairs[0][0].patches[-1] if pairs else [0])[0])
    return PairDataModule(pairs, int(config.get("data", {}).get("batch_size", 4)), eos, int(config.get("seed", 0)))
