"""The Lightning data module of LM training: resumable token-bucketed step streams over `LMDataset`s.

Each training "batch" is one optimiser step (a list of micro-batches, see `tts_codec.data.lm_dataset`), so
`trainer.global_step` counts steps and a resumed run restarts the stream at `batches_done`.
"""
from __future__ import annotations

from functools import partial
from typing import Any, Callable

import lightning as L
import torch
from torch.utils.data import DataLoader

from tts_codec.data.lm_dataset import LMDataset, StepStream, collate_steps


class LMDataModule(L.LightningDataModule):
    """Train/valid loaders over LM datasets.

    Args:
        train_set, valid_set: the datasets (valid may be None).
        max_tokens: padded tokens per training micro-batch; valid_max_tokens the same for validation.
        accumulate: micro-batches per optimiser step.
        seed: data order seed; pad_id: padding id of input_ids.
        num_workers: loader processes; bucket_size: examples sorted together before cutting batches.
    """

    def __init__(self, train_set: LMDataset, valid_set: LMDataset | None, max_tokens: int, accumulate: int,
                 pad_id: int, seed: int = 0, valid_max_tokens: int | None = None, num_workers: int = 0,
                 bucket_size: int = 1000):
        super().__init__()
        self.train_set, self.valid_set = train_set, valid_set
        self.max_tokens, self.accumulate, self.pad_id, self.seed = max_tokens, accumulate, pad_id, seed
        self.valid_max_tokens = valid_max_tokens or max_tokens
        self.num_workers, self.bucket_size = num_workers, bucket_size
        # settings that cannot fill one step fail here, before a run writes anything
        StepStream(train_set.lengths, max_tokens, accumulate, seed, bucket_size=bucket_size).epoch_steps(0)

    def _rank(self) -> tuple[int, int]:
        trainer = self.trainer
        return (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)

    def collate_fn(self) -> Callable[[list], Any]:
        """The collate function of both loaders (a family with its own batch layout overrides this)."""
        return partial(collate_steps, pad_id=self.pad_id)

    def _loader(self, dataset: LMDataset, stream: StepStream) -> DataLoader:
        # Own generator: creating an iterator (a resumed run makes one more) must not draw from the global RNG,
        # which dropout and the tasks' own draws use after the checkpoint restored it (exact resume).
        return DataLoader(dataset, batch_sampler=stream, collate_fn=self.collate_fn(), num_workers=self.num_workers,
                          persistent_workers=False, generator=torch.Generator().manual_seed(self.seed))

    def train_dataloader(self) -> DataLoader:
        rank, world = self._rank()
        start = self.trainer.lightning_module.batches_done if self.trainer is not None else 0
        stream = StepStream(self.train_set.lengths, self.max_tokens, self.accumulate, self.seed, rank, world,
                            shuffle=True, start=start, bucket_size=self.bucket_size)
        return self._loader(self.train_set, stream)

    def val_dataloader(self) -> DataLoader | list:
        if self.valid_set is None:
            return []
        rank, world = self._rank()
        stream = StepStream(self.valid_set.lengths, self.valid_max_tokens, 1, self.seed, rank, world, shuffle=False,
                            bucket_size=self.bucket_size)
        return self._loader(self.valid_set, stream)
