"""The generic training loop: `build_trainer` and `fit(task, datamodule, output_dir)` for any LightningModule task.

One code path for 1 CPU, N GPUs (DDP) and N nodes (torchrun/SLURM): Lightning detects torchrun and SLURM from the
environment; `ngpu`/`num_nodes` only say how many devices to use. Every "step" in our configs counts training
batches; a task that makes several optimiser steps per batch (a GAN: 2) says so in `optimizer_steps_per_batch`.
Layout under the output dir: `config.yaml`, `checkpoints/last.ckpt` (+ the newest periodic checkpoints),
`tensorboard/`, and `model/` when the task has `export(model_dir)`.
"""
from __future__ import annotations

import logging
import os
import pickle
import shutil
import warnings
from pathlib import Path
from typing import Any, Sequence

import lightning as L
import torch
from lightning.fabric.plugins.environments import LightningEnvironment
from lightning.pytorch.callbacks import Callback, ModelCheckpoint, TQDMProgressBar
from lightning.pytorch.callbacks.progress.tqdm_progress import convert_inf
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.strategies import DDPStrategy

from tts_codec.config import load_config, save_config
from tts_codec.data.token_file import CodesInfo
from tts_codec.errors import UserError
from tts_codec.train.averaging import average_state_dicts, checkpoints_to_average
from tts_codec.train.data_identity import check_identity, record_identity

log = logging.getLogger(__name__)

PRECISIONS = ("32", "32-true", "bf16-mixed")  # no loss scaler: gradients are clipped by hand
CHECKPOINT_DIR = "checkpoints"
LAST = "last.ckpt"


def steps_per_batch(task: L.LightningModule) -> int:
    """Optimiser steps the task makes per training batch (1 unless it sets `optimizer_steps_per_batch`)."""
    return int(getattr(task, "optimizer_steps_per_batch", 1))


class BatchProgressBar(TQDMProgressBar):
    """A tqdm bar counting training batches (Lightning's own total counts optimiser steps)."""

    @property
    def total_train_batches(self) -> int | float:
        per_batch = steps_per_batch(self.trainer.lightning_module)
        return min(self.trainer.num_training_batches, self.trainer.max_steps // per_batch)

    def _label_bar(self) -> None:
        self.train_progress_bar.total = convert_inf(self.total_train_batches)
        self.train_progress_bar.set_description("train")

    def on_train_start(self, trainer: L.Trainer, *args: Any) -> None:
        """Label the bar here too: a run resumed mid-epoch skips on_train_epoch_start (Lightning 2.x)."""
        super().on_train_start(trainer, *args)
        self._label_bar()

    def on_train_epoch_start(self, trainer: L.Trainer, *args: Any) -> None:
        super().on_train_epoch_start(trainer, *args)
        self._label_bar()


class BatchCheckpoint(ModelCheckpoint):
    """ModelCheckpoint whose `batch_step` (name and "keep the newest k") counts training batches done."""

    def _monitor_candidates(self, trainer: L.Trainer) -> dict[str, torch.Tensor]:
        candidates = super()._monitor_candidates(trainer)
        candidates["batch_step"] = torch.tensor(float(trainer.global_step // steps_per_batch(trainer.lightning_module)))
        return candidates


def trainer_settings(config: dict[str, Any], max_steps: int | None = None) -> dict[str, Any]:
    """The `trainer:` section with defaults, `max_steps` overriding the config."""
    conf = {
        "max_steps": 1000, "precision": "32", "val_check_interval": 200, "limit_val_batches": 10,
        "log_every_n_steps": 50, "num_sanity_val_steps": 2, "checkpoint_every_n_steps": 1000,
        "keep_checkpoints": 1, "num_audio_samples": 2, "sync_batchnorm": True, "find_unused_parameters": True,
        "deterministic": False, "average_last": 1,
    }
    conf.update(config.get("trainer") or {})
    if max_steps is not None:
        conf["max_steps"] = max_steps
    if str(conf["precision"]) not in PRECISIONS:
        raise UserError(f"config trainer.precision: {conf['precision']!r} is not one of {list(PRECISIONS)}")
    if int(conf["max_steps"]) <= 0:
        raise UserError(f"max_steps must be positive, got {conf['max_steps']}")
    average = conf["average_last"]
    if isinstance(average, bool) or not isinstance(average, int) or average < 1:
        raise UserError(f"config trainer.average_last: {average!r} is not a whole number >= 1 (1: export the last "
                        "checkpoint's weights)")
    if average > 1:
        _check_average_last(average, int(conf["keep_checkpoints"]), int(conf["checkpoint_every_n_steps"]),
                            int(conf["max_steps"]))
    return conf


def _check_average_last(average: int, keep: int, every: int, steps: int) -> None:
    """UserError unless the schedule writes and keeps the `average` - 1 periodic checkpoints averaging needs
    (Lightning: keep_checkpoints -1 keeps all, checkpoint_every_n_steps 0 writes none)."""
    if 0 <= keep < average - 1:
        raise UserError(f"config trainer.average_last: {average} needs trainer.keep_checkpoints >= {average - 1} "
                        f"(it is {keep}): the periodic checkpoints to average must be kept")
    written = (steps - 1) // every if every > 0 else 0
    if written < average - 1:
        raise UserError(f"config trainer.average_last: {average} needs {average - 1} periodic checkpoints before the "
                        f"last batch, and max_steps {steps} with checkpoint_every_n_steps {every} makes {written}")


def last_checkpoint(output_dir: str | Path) -> Path | None:
    """`<output_dir>/checkpoints/last.ckpt` if it exists."""
    path = Path(output_dir) / CHECKPOINT_DIR / LAST
    return path if path.is_file() else None


def check_gpus(ngpu: int) -> None:
    """UserError unless this node has `ngpu` usable CUDA devices (0 = CPU training needs none)."""
    if ngpu == 0:
        return
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if ngpu > count:
        why = "this torch build has no CUDA" if torch.version.cuda is None else f"{count} CUDA device(s) visible"
        raise UserError(f"--ngpu {ngpu}: this machine cannot provide {ngpu} GPU(s) ({why}, torch {torch.__version__});"
                        " use --ngpu 0 to train on the CPU")


def check_checkpoint(path: Path) -> None:
    """UserError naming `path` unless it reads as a torch checkpoint (a killed copy or save can truncate it).

    The file is memory-mapped, so its tensors are not read here.
    """
    try:
        torch.load(path, map_location="cpu", weights_only=False, mmap=True)
    except (RuntimeError, OSError, EOFError, ValueError, pickle.UnpicklingError) as err:
        raise UserError(f"{path}: not a readable checkpoint ({str(err).splitlines()[0]}); it may be truncated: "
                        f"replace it by a periodic checkpoint of {path.parent}, or start again with --resume false "
                        "--overwrite true") from None


def build_trainer(
    config: dict[str, Any],
    output_dir: str | Path,
    optimizer_steps_per_batch: int = 1,
    ngpu: int = 0,
    num_nodes: int = 1,
    max_steps: int | None = None,
    callbacks: Sequence[Callback] = (),
    has_validation: bool = True,
) -> L.Trainer:
    """A Trainer whose max_steps, checkpoint and validation intervals count training batches.

    Args:
        config: resolved training config (its `trainer:` section).
        output_dir: experiment dir; checkpoints and TensorBoard logs go below it.
        optimizer_steps_per_batch: optimiser steps per batch of the task (`steps_per_batch(task)`).
        ngpu: GPUs per node (0 = CPU: one process, or torchrun's LOCAL_WORLD_SIZE processes).
        num_nodes: number of nodes (each with `ngpu` processes).
        max_steps: overrides trainer.max_steps.
        callbacks: extra callbacks (tests, profiling).
        has_validation: False disables the validation loop.
    """
    if ngpu < 0 or num_nodes < 1:
        raise UserError(f"--ngpu must be >= 0 and --num_nodes >= 1, got {ngpu} and {num_nodes}")
    check_gpus(ngpu)
    conf = trainer_settings(config, max_steps)
    # CPU: one process, or as many as torchrun started on this node (CPU DDP, used by the multi-process test).
    devices = ngpu if ngpu > 0 else int(os.environ.get("LOCAL_WORLD_SIZE", 1))
    world = devices * num_nodes
    strategy: Any = "auto"
    if world > 1:
        strategy = DDPStrategy(find_unused_parameters=bool(conf["find_unused_parameters"]))
    output_dir = Path(output_dir)
    every = int(conf["checkpoint_every_n_steps"])
    checkpoint = BatchCheckpoint(
        dirpath=output_dir / CHECKPOINT_DIR,
        filename="batch{batch_step:08.0f}",
        auto_insert_metric_name=False,
        monitor="batch_step",  # with mode max: keep the newest `keep_checkpoints`
        mode="max",
        save_top_k=int(conf["keep_checkpoints"]),
        save_last=True,
        every_n_train_steps=every * optimizer_steps_per_batch,
        save_on_train_epoch_end=False,
    )
    val_every = int(conf["val_check_interval"])
    # The checkpoint holds the state after all updates of the batch, which is what resuming needs.
    warnings.filterwarnings("ignore", message=".*no pre-optimization state was saved.*")
    return L.Trainer(
        accelerator="gpu" if ngpu > 0 else "cpu",
        devices=devices,
        num_nodes=num_nodes,
        strategy=strategy,
        precision=str(conf["precision"]),
        max_steps=int(conf["max_steps"]) * optimizer_steps_per_batch,
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


def fit(
    task: L.LightningModule,
    datamodule: L.LightningDataModule,
    output_dir: str | Path,
    ngpu: int = 0,
    num_nodes: int = 1,
    resume: bool = True,
    overwrite: bool = False,
    callbacks: Sequence[Callback] = (),
    has_validation: bool = True,
    data_identity: CodesInfo | None = None,
) -> L.LightningModule:
    """Train `task` (whose resolved config is `task.config`): save `<output_dir>/config.yaml`, fit (resuming from
    last.ckpt), save last.ckpt, and call `task.export(<output_dir>/model)` when the task has one (with
    `trainer.average_last` N > 1, on the mean weights of the last N checkpoints: tts_codec.train.averaging).
    `data_identity` (`tts_codec.train.data_identity`): a resume on other tokens is refused.

    Returns:
        The trained task.
    """
    output_dir = Path(output_dir)
    config = task.config
    check_gpus(ngpu)  # before anything under output_dir is removed
    ckpt = last_checkpoint(output_dir) if resume else None
    if ckpt is not None:
        check_checkpoint(ckpt)
        check_identity(output_dir, data_identity)
    if ckpt is None and any((output_dir / CHECKPOINT_DIR).glob("*.ckpt")):
        if not overwrite:
            raise UserError(f"{output_dir / CHECKPOINT_DIR} already holds checkpoints; pass --resume true to continue "
                            "or --overwrite true to start again")
        for name in (CHECKPOINT_DIR, "tensorboard", "model"):
            shutil.rmtree(output_dir / name, ignore_errors=True)
    trainer = build_trainer(config, output_dir, steps_per_batch(task), ngpu, num_nodes, None, callbacks,
                            has_validation=has_validation)
    if trainer.is_global_zero:
        _warn_changed_config(output_dir / "config.yaml", config, resuming=ckpt is not None)
        record_identity(output_dir, data_identity)
        save_config(config, output_dir / "config.yaml")
    if ckpt is not None:
        log.info("resuming from %s", ckpt)
    log.info("torch CPU threads per process: %d (OMP_NUM_THREADS; recipes: tts.sh --train_threads)",
             torch.get_num_threads())
    # weights_only=False: our own checkpoints, which carry RNG states for an exact resume.
    trainer.fit(task, datamodule=datamodule, ckpt_path=ckpt, weights_only=False if ckpt else None)
    trainer.save_checkpoint(output_dir / CHECKPOINT_DIR / LAST, weights_only=False)
    log.info("trained %d batches", trainer.global_step // steps_per_batch(task))
    if trainer.is_global_zero and hasattr(task, "export"):
        average = int(trainer_settings(config)["average_last"])
        if average > 1:
            paths = checkpoints_to_average(output_dir / CHECKPOINT_DIR, output_dir / CHECKPOINT_DIR / LAST,
                                           trainer.global_step // steps_per_batch(task), average)
            task.load_state_dict(average_state_dicts(paths))
            log.info("exported weights: the mean of %s", ", ".join(p.name for p in paths))
        task.export(output_dir / "model")
        log.info("model exported to %s", output_dir / "model")
    return task


def _warn_changed_config(path: Path, config: dict[str, Any], resuming: bool) -> None:
    """On resume, name the top-level config sections that differ from the saved config.yaml."""
    if not resuming or not path.is_file():
        return
    old = load_config(path)
    changed = sorted(k for k in set(old) | set(config) if old.get(k) != config.get(k))
    if changed:
        log.warning("resuming with a config that differs from %s in: %s", path, ", ".join(changed))
