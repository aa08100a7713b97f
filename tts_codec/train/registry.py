"""Training task registry: the config's `task:` key (default: its `codec:` key) -> task class + data module builder.

A new model family (an LM, another codec) adds one entry; `fit_from_config` and `bin/train_codec.py` stay as they are.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import lightning as L
from lightning.pytorch.callbacks import Callback

from tts_codec.errors import UserError
from tts_codec.train import bicodec_task, snac_task
from tts_codec.train.data_identity import codes_identity
from tts_codec.train.lm import mars6_task, orpo_task, spark_task
from tts_codec.train.trainer import fit


@dataclass(frozen=True)
class TaskEntry:
    """How to train one family: `task(config)` builds the LightningModule, `datamodule(config, train_data,
    valid_data, **data_options)` its data."""

    task: Callable[[dict[str, Any]], L.LightningModule]
    datamodule: Callable[..., L.LightningDataModule]


TASKS: dict[str, TaskEntry] = {
    "bicodec": TaskEntry(bicodec_task.BiCodecTask, bicodec_task.build_datamodule),
    "spark_lm": TaskEntry(spark_task.SparkLMTask, spark_task.build_spark_datamodule),
    "snac": TaskEntry(snac_task.SNACTask, snac_task.build_datamodule),
    "mars6": TaskEntry(mars6_task.Mars6Task, mars6_task.build_mars6_datamodule),
    "mars6_orpo": TaskEntry(orpo_task.Mars6OrpoTask, orpo_task.build_pair_datamodule),
}


def task_entry(config: dict[str, Any]) -> TaskEntry:
    """The entry named by `task:` (or `codec:`); UserError naming the known tasks otherwise."""
    name = config.get("task", config.get("codec"))
    if name not in TASKS:
        raise UserError(f"config task/codec: {name!r} has no training task; known: {sorted(TASKS)}")
    return TASKS[name]


def fit_from_config(
    config: dict[str, Any],
    output_dir: str | Path,
    train_data: str | Path,
    valid_data: str | Path | None = None,
    ngpu: int = 0,
    num_nodes: int = 1,
    max_steps: int | None = None,
    resume: bool = True,
    overwrite: bool = False,
    callbacks: Sequence[Callback] = (),
    **data_options: Any,
) -> L.LightningModule:
    """Seed, build the task and data module of `config`, and `fit` them (see `tts_codec.train.trainer.fit`).

    Args:
        max_steps: training batches; overrides trainer.max_steps (and is saved in config.yaml).
        data_options: passed to the data module builder (BiCodec: `feats_dir`).
    """
    entry = task_entry(config)
    if max_steps is not None:
        config = {**config, "trainer": {**(config.get("trainer") or {}), "max_steps": int(max_steps)}}
    L.seed_everything(int(config.get("seed", 0)), workers=True, verbose=False)
    task = entry.task(config)
    datamodule = entry.datamodule(config, train_data, valid_data, **data_options)
    identity = codes_identity(data_options["codes_dir"], train_data) if data_options.get("codes_dir") else None
    return fit(task, datamodule, output_dir, ngpu, num_nodes, resume, overwrite, callbacks,
               has_validation=valid_data is not None, data_identity=identity)
