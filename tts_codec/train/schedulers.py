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


class NoamLR(LRScheduler):
    """Linear warm-up to `max_lr`, then inverse-square-root decay, halved (x `anneal_rate`) after each anneal step.

    lr(s) = max_lr * min(n^-0.5, n * warmup_steps^-1.5) * warmup_steps^0.5 * anneal_rate^#{a in anneal_steps: n > a}
    with n = s + 1, floored at `min_lr`. This is SparkVox's `WarmupAnnealSteps` as configured for the Spark-TTS LM
    (bicodec_spark.md section 5.4: peak 1e-3 at 5000 steps, x0.5 after 400k). Its `final_lr` is compared with the
    multiplier rather than the learning rate; `min_lr` here is an absolute floor (0: none).
    """

    def __init__(self, optimizer: Optimizer, warmup_steps: int = 5000, max_lr: float = 1e-3,
                 anneal_steps: tuple[int, ...] | list[int] = (400_000,), anneal_rate: float = 0.5, min_lr: float = 0.0,
                 last_epoch: int = -1):
        if warmup_steps <= 0 or max_lr <= 0:
            raise UserError(f"scheduler_conf: need warmup_steps > 0 and max_lr > 0, got {warmup_steps}, {max_lr}")
        self.warmup_steps, self.max_lr, self.min_lr = int(warmup_steps), float(max_lr), float(min_lr)
        self.anneal_steps, self.anneal_rate = [int(a) for a in anneal_steps], float(anneal_rate)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, step: int) -> float:
        """The learning rate used for training step `step` (0-based)."""
        n = step + 1
        factor = min(n ** -0.5, n * self.warmup_steps ** -1.5) * self.warmup_steps ** 0.5
        factor *= self.anneal_rate ** sum(n > a for a in self.anneal_steps)
        return max(self.max_lr * factor, self.min_lr)

    def get_lr(self) -> list[float]:
        return [self.lr_at(self.last_epoch)] * len(self.optimizer.param_groups)


#: Registry of the `scheduler:` config slot.
SCHEDULERS = {"warmuplr": WarmupLR, "noam": NoamLR}


def build_scheduler(name: str, optimizer: Optimizer, conf: dict[str, Any]) -> LRScheduler:
    """Build the scheduler registered as `name` with keyword arguments `conf`."""
    if name not in SCHEDULERS:
        raise UserError(f"config scheduler: unknown scheduler {name!r}; known: {sorted(SCHEDULERS)}")
    try:
        return SCHEDULERS[name](optimizer, **conf)
    except TypeError as err:
        raise UserError(f"config scheduler_conf for {name!r}: {err}") from None
