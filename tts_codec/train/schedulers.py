"""Learning-rate schedules given as absolute values per step (the optimiser's own `lr` is overwritten)."""
from __future__ import annotations

from typing import Any

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from tts_codec.errors import UserError


class WarmupLR(LRScheduler):
    """Quadratic warm-up from `init_lr` to `max_lr`, then linear decay to `min_lr`, then constant.

    lr(s) = init_lr + (max_lr - init_lr) * (s / warmup_steps)^2                     for s < warmup_steps
          = max_lr + (min_lr - max_lr) * (s - warmup_steps) / down_steps            for s < warmup_steps + down_steps
          = min_lr                                                                  afterwards
    This is SparkVox's `WarmupLR` (bicodec_spark.md §4.6), stepped once per training batch.

    Args:
        optimizer: every parameter group gets the same learning rate.
        warmup_steps: length of the quadratic warm-up (0 starts at max_lr).
        down_steps: length of the linear decay.
        max_lr, min_lr, init_lr: peak, final and first learning rates.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        warmup_steps: int = 1000,
        down_steps: int = 500_000,
        max_lr: float = 1e-4,
        min_lr: float = 1e-5,
        init_lr: float = 1e-5,
        last_epoch: int = -1,
    ):
        if warmup_steps < 0 or down_steps <= 0:
            raise UserError(f"scheduler_conf: need warmup_steps >= 0 and down_steps > 0, got {warmup_steps}, "
                            f"{down_steps}")
        self.warmup_steps, self.down_steps = int(warmup_steps), int(down_steps)
        self.max_lr, self.min_lr, self.init_lr = float(max_lr), float(min_lr), float(init_lr)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, step: int) -> float:
        """The learning rate used for training step `step` (0-based)."""
        if step < self.warmup_steps:
            return self.init_lr + (self.max_lr - self.init_lr) * (step / self.warmup_steps) ** 2
        if step < self.warmup_steps + self.down_steps:
            return self.max_lr + (self.min_lr - self.max_lr) * (step - self.warmup_steps) / self.down_steps
        return self.min_lr

    def get_lr(self) -> list[float]:
        return [self.lr_at(self.last_epoch)] * len(self.optimizer.param_groups)


#: Registry of the `scheduler:` config slot.
SCHEDULERS = {"warmuplr": WarmupLR}


def build_scheduler(name: str, optimizer: Optimizer, conf: dict[str, Any]) -> LRScheduler:
    """Build the scheduler registered as `name` with keyword arguments `conf`."""
    if name not in SCHEDULERS:
        raise UserError(f"config scheduler: unknown scheduler {name!r}; known: {sorted(SCHEDULERS)}")
    try:
        return SCHEDULERS[name](optimizer, **conf)
    except TypeError as err:
        raise UserError(f"config scheduler_conf for {name!r}: {err}") from None
