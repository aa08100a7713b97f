"""The MARS6 data module: the LM data module's resumable step streams, batched with the MARS6 collate."""
from __future__ import annotations

from functools import partial
from typing import Any, Callable

from tts_codec.lm.mars6.examples import collate_steps
from tts_codec.train.lm.datamodule import LMDataModule


class Mars6DataModule(LMDataModule):
    """`LMDataModule` whose datasets are `Mars6Dataset`s (lengths in patches) and `pad_id` the EOS id."""

    def collate_fn(self) -> Callable[[list], Any]:
        return partial(collate_steps, eos_id=self.pad_id)
