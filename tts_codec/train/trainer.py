"""Build the lightning.Trainer of a codec run: one code path for 1 CPU, N GPUs (DDP) and N nodes (torchrun/SLURM).

Lightning detects torchrun and SLURM from the environment; `--ngpu`/`--num_nodes` only say how many devices to
use. Layout under the output dir: `checkpoints/last.ckpt` (+ the newest periodic checkpoints), `tensorboard/`.
"""
from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any, Sequence

import lightning as L
from lightning.fabric.plugins.environments import LightningEnvironment
from lightning.pytorch.callbacks import Callback, ModelCheckpoint, TQDMProgressBar
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.strategies import DDPStrategy

from tts_codec.errors import UserError
from tts_codec.train.gan.task import OPTIMIZER_STEPS_PER_BATCH

log = logging.getLogger(__name__)

PRECISIONS = ("32", "32-true", "bf16-mixed")  # no loss scaler: gradients are clipped by hand
CHECKPOINT_DIR = "checkpoints"
LAST = "last.ckpt"


class BatchProgressBar(TQDMProgressBar):
    """A tqdm bar counting training batches (Lightning's own total counts optimiser steps, 2 per GAN batch)."""

    @property
    def total_train_batches(self) -> int | float:
        return min(self.trainer.num_training_batches, self.trainer.max_steps // OPTIMIZER_STEPS_PER_BATCH)

    def on_train_epoch_start(self, trainer: L.Trainer, *args: Any) -> None:
        super().on_train_epoch_start(trainer, *args)
        self.train_progress_bar.set_description("train")


def trainer_settings(config: dict[str, Any], max_steps: int | None = None) -> dict[str, Any]:
    """The `trainer:` section with defaults, `max_steps` overriding the config."""
    conf = {
        "max_steps": 1000, "precision": "32", "val_check_interval": 200, "limit_val_batches": 10,
        "log_every_n_steps": 50, "num_sanity_val_steps": 2, "checkpoint_every_n_steps": 1000,
        "keep_checkpoints": 1, "num_audio_samples": 2, "sync_batchnorm": True, "find_unused_parameters": True,
        "deterministic": False,
    }
    conf.update(config.get("trainer") or {})
    if max_steps is not None:
        conf["max_steps"] = max_steps
    if str(conf["precision"]) not in PRECISIONS:
        raise UserError(f"config trainer.precision: {conf['precision']!r} is not one of {list(PRECISIONS)}")
    if int(conf["max_steps"]) <= 0:
        raise UserError(f"max_steps must be positive, got {conf['max_steps']}")
    return conf


def last_checkpoint(output_dir: str | Path) -> Path | None:
    """`<output_dir>/checkpoints/last.ckpt` if it exists."""
    path = Path(output_dir) / CHECKPOINT_DIR / LAST
    return path if path.is_file() else None


def build_trainer(
    config: dict[str, Any],
    output_dir: str | Path,
    ngpu: int = 0,
    num_nodes: int = 1,
    max_steps: int | None = None,
    callbacks: Sequence[Callback] = (),
    has_validation: bool = True,
) -> L.Trainer:
    """A Trainer for a GAN codec task (steps count batches; see `tts_codec.train.gan.task`).

    Args:
        config: resolved training config (its `trainer:` section).
        output_dir: experiment dir; checkpoints and TensorBoard logs go below it.
        ngpu: GPUs per node (0 = CPU: one process, or torchrun's LOCAL_WORLD_SIZE processes).
        num_nodes: number of nodes (each with `ngpu` processes).
        max_steps: overrides trainer.max_steps.
        callbacks: extra callbacks (tests, profiling).
        has_validation: False disables the validation loop.
    """
    if ngpu < 0 or num_nodes < 1:
        raise UserError(f"--ngpu must be >= 0 and --num_nodes >= 1, got {ngpu} and {num_nodes}")
    conf = trainer_settings(config, max_steps)
    # CPU: one process, or as many as torchrun started on this node (CPU DDP, used by the multi-process test).
    devices = ngpu if ngpu > 0 else int(os.environ.get("LOCAL_WORLD_SIZE", 1))
    world = devices * num_nodes
    strategy: Any = "auto"
    if world > 1:
        strategy = DDPStrategy(find_unused_parameters=bool(conf["find_unused_parameters"]))
    output_dir = Path(output_dir)
    every = int(conf["checkpoint_every_n_steps"])
    checkpoint = ModelCheckpoint(
        dirpath=output_dir / CHECKPOINT_DIR,
        filename="batch{batch_step:08.0f}",
        auto_insert_metric_name=False,
        monitor="batch_step",  # with mode max: keep the newest `keep_checkpoints`
        mode="max",
        save_top_k=int(conf["keep_checkpoints"]),
        save_last=True,
        every_n_train_steps=every * OPTIMIZER_STEPS_PER_BATCH,
        save_on_train_epoch_end=False,
    )
    val_every = int(conf["val_check_interval"])
    # The checkpoint holds the state after both updates of the batch, which is what resuming needs.
    warnings.filterwarnings("ignore", message=".*no pre-optimization state was saved.*")
    return L.Trainer(
        accelerator="gpu" if ngpu > 0 else "cpu",
        devices=devices,
        num_nodes=num_nodes,
        strategy=strategy,
        precision=str(conf["precision"]),
        max_steps=int(conf["max_steps"]) * OPTIMIZER_STEPS_PER_BATCH,
        max_epochs=-1,
        val_check_interval=val_every,
        check_val_every_n_epoch=None,
        limit_val_batches=conf["limit_val_batches"] if has_validation else 0,
        num_sanity_val_steps=int(conf["num_sanity_val_steps"]) if has_validation else 0,
        log_every_n_steps=int(conf["log_every_n_steps"]),
        callbacks=[checkpoint, BatchProgressBar(), *callbacks],
        logger=TensorBoardLogger(save_dir=str(output_dir), name="tensorboard", version="", default_hp_metric=False),
        default_root_dir=str(output_dir),
        use_distributed_sampler=False,  # the data module shards by rank itself (resumable stream)
        sync_batchnorm=bool(conf["sync_batchnorm"]) and world > 1 and ngpu > 0,  # SyncBatchNorm is GPU-only
        deterministic=bool(conf["deterministic"]),
        enable_model_summary=True,
        plugins=[env] if (env := cluster_environment()) is not None else None,
    )


def cluster_environment() -> LightningEnvironment | None:
    """The cluster environment to force, or None to let Lightning detect it (torchrun, srun).

    Lightning takes any process inside a SLURM job for one that srun started. A job script run by sbatch alone
    (our `utils/slurm.sh` backend) is not: it has no SLURM_STEP_ID, and one process must then start the
    `devices` DDP processes of its node itself, as on a workstation. Multi-node jobs are launched with
    `srun --ntasks-per-node=<ngpu>`, whose tasks carry SLURM_STEP_ID and keep Lightning's SLURM detection.
    """
    if "SLURM_NTASKS" in os.environ and "SLURM_STEP_ID" not in os.environ:
        return LightningEnvironment()
    return None


def find_feats_scps(feats_dir: str | Path, data_dir: str | Path) -> list[Path]:
    """SSL feature scps of a data dir: `<feats_dir>/<data dir name>/ssl_feats.scp`, else its `ssl_feats.*.scp` jobs."""
    root = Path(feats_dir) / Path(data_dir).name
    single = root / "ssl_feats.scp"
    scps = [single] if single.is_file() else sorted(root.glob("ssl_feats.*.scp"))
    if not scps:
        raise UserError(f"--feats_dir: no {single} (nor ssl_feats.<job>.scp files) for data dir {data_dir}; "
                        "run stage 3 (python -m tts_codec.bin.extract_ssl_feats) first")
    return scps


def load_feats(scps: Sequence[Path]):
    """One lazy utt -> array mapping over several scps."""
    from collections import ChainMap

    from tts_codec.data.ark import load_scp_dict

    return ChainMap(*[load_scp_dict(scp) for scp in scps])


def build_datamodule(config: dict[str, Any], train_data: str | Path, valid_data: str | Path | None,
                     feats_dir: str | Path | None = None):
    """The CodecDataModule over Kaldi data dirs (SSL features from `feats_dir` when given)."""
    from tts_codec.data.codec_dataset import CodecDataModule, CodecSegmentDataset, SegmentConfig
    from tts_codec.data.datadir import DataDir

    seg = SegmentConfig.from_config(config)
    data = dict(config.get("data") or {})

    def dataset(path, train):
        feats = load_feats(find_feats_scps(feats_dir, path)) if feats_dir else None
        return CodecSegmentDataset(DataDir.load(path), seg, train=train, ssl_feats=feats)

    return CodecDataModule(
        dataset(train_data, True), dataset(valid_data, False) if valid_data else None,
        batch_size=int(data.get("batch_size", 8)), valid_batch_size=int(data.get("valid_batch_size", 1)),
        num_workers=int(data.get("num_workers", 0)), seed=int(config.get("seed", 0)),
    )


def build_task(config: dict[str, Any]):
    """The LightningModule for `config["codec"]`."""
    from tts_codec.train.bicodec_task import BiCodecTask

    tasks = {"bicodec": BiCodecTask}
    codec = config.get("codec")
    if codec not in tasks:
        raise UserError(f"config codec: {codec!r} has no training task; known: {sorted(tasks)}")
    return tasks[codec](config)


def fit_codec(
    config: dict[str, Any],
    output_dir: str | Path,
    train_data: str | Path,
    valid_data: str | Path | None = None,
    feats_dir: str | Path | None = None,
    ngpu: int = 0,
    num_nodes: int = 1,
    max_steps: int | None = None,
    resume: bool = True,
    overwrite: bool = False,
    callbacks: Sequence[Callback] = (),
):
    """Train a codec: save `<output_dir>/config.yaml`, fit (resuming from last.ckpt), save last.ckpt, export model/.

    Returns:
        The trained LightningModule.
    """
    import shutil

    from tts_codec.config import save_config

    output_dir = Path(output_dir)
    ckpt = last_checkpoint(output_dir) if resume else None
    if ckpt is None and any((output_dir / CHECKPOINT_DIR).glob("*.ckpt")):
        if not overwrite:
            raise UserError(f"{output_dir / CHECKPOINT_DIR} already holds checkpoints; pass --resume true to continue "
                            "or --overwrite true to start again")
        for name in (CHECKPOINT_DIR, "tensorboard", "model"):
            shutil.rmtree(output_dir / name, ignore_errors=True)
    if max_steps is not None:
        config = {**config, "trainer": {**(config.get("trainer") or {}), "max_steps": int(max_steps)}}
    L.seed_everything(int(config.get("seed", 0)), workers=True, verbose=False)
    task = build_task(config)
    datamodule = build_datamodule(config, train_data, valid_data, feats_dir)
    trainer = build_trainer(config, output_dir, ngpu, num_nodes, None, callbacks, has_validation=valid_data is not None)
    if trainer.is_global_zero:
        _warn_changed_config(output_dir / "config.yaml", config, resuming=ckpt is not None)
        save_config(config, output_dir / "config.yaml")
    if ckpt is not None:
        log.info("resuming from %s", ckpt)
    # weights_only=False: our own checkpoints, which carry RNG states for an exact resume.
    trainer.fit(task, datamodule=datamodule, ckpt_path=ckpt, weights_only=False if ckpt else None)
    trainer.save_checkpoint(output_dir / CHECKPOINT_DIR / LAST, weights_only=False)
    if trainer.is_global_zero:
        task.export_generator(output_dir / "model")
        log.info("trained %d batches; generator exported to %s", task.batches_done, output_dir / "model")
    return task


def _warn_changed_config(path: Path, config: dict[str, Any], resuming: bool) -> None:
    """On resume, name the top-level config sections that differ from the saved config.yaml."""
    if not resuming or not path.is_file():
        return
    from tts_codec.config import load_config

    old = load_config(path)
    changed = sorted(k for k in set(old) | set(config) if old.get(k) != config.get(k))
    if changed:
        log.warning("resuming with a config that differs from %s in: %s", path, ", ".join(changed))
