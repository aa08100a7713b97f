"""The manual-optimisation pieces the LM tasks share: gradient-sync control over the micro-batches of one step, and
the end of a step (an update skipped on every rank when the loss or gradient is not finite, clipping, optimiser
and per-step scheduler, logging)."""
from __future__ import annotations

import logging
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Iterable

import lightning as L
import torch

log = logging.getLogger(__name__)


def micro_batch_sync(task: L.LightningModule, last: bool) -> AbstractContextManager:
    """Inside a step of several micro-batches: DDP syncs gradients on the `last` backward only."""
    if last or not hasattr(task.trainer.model, "no_sync"):
        return nullcontext()
    return task.trainer.model.no_sync()


def finish_step(task: L.LightningModule, parameters: Iterable[torch.nn.Parameter], loss: torch.Tensor,
                metrics: dict[str, Any], batch_size: int) -> None:
    """Clip the gradients of `parameters` to `task.grad_clip`, step the optimiser and its scheduler, and log
    `metrics` plus `train/grad_norm` and `train/lr` (the rate this step used), and `loss` on the progress bar.

    A step whose `loss` is not finite on some rank, or whose gradient norm is not, changes no weight (the
    optimiser and scheduler still step, so every rank stays at the same step count).
    """
    optimizer, scheduler = task.optimizers(), task.lr_schedulers()
    finite = task.trainer.strategy.reduce_boolean_decision(bool(torch.isfinite(loss)), all=True)
    norm = torch.nn.utils.clip_grad_norm_(parameters, task.grad_clip)
    if not finite or not torch.isfinite(norm):
        log.warning("non-finite loss or gradient at step %d: update skipped", task.trainer.global_step)
        optimizer.zero_grad(set_to_none=True)
    lr = optimizer.param_groups[0]["lr"]
    optimizer.step()
    scheduler.step()
    metrics = {**metrics, "train/grad_norm": norm, "train/lr": lr}
    task.log_dict({k: torch.as_tensor(v, dtype=torch.float32) for k, v in metrics.items()}, on_step=True,
                  batch_size=batch_size)
    task.log("loss", loss, prog_bar=True, logger=False, batch_size=batch_size)
