"""WarmupLR values at chosen steps and through an optimiser."""
import pytest
import torch

from tts_codec.errors import UserError
from tts_codec.train.schedulers import WarmupLR, build_scheduler


def _sched(**kw):
    opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=123.0)
    return opt, WarmupLR(opt, **kw)


@pytest.mark.parametrize(
    "step, lr",
    [
        (0, 1e-5),
        (500, 1e-5 + 9e-5 * 0.25),  # quadratic: a quarter of the way at half the warm-up
        (1000, 1e-4),
        (1000 + 250_000, 5.5e-5),  # half-way down the linear decay
        (501_000, 1e-5),
        (10_000_000, 1e-5),
    ],
)
def test_warmup_lr_values(step, lr):
    _, sched = _sched(warmup_steps=1000, down_steps=500_000, max_lr=1e-4, min_lr=1e-5)
    assert sched.lr_at(step) == pytest.approx(lr, rel=1e-9)


def test_warmup_lr_drives_optimizer_and_round_trips_state():
    opt, sched = _sched(warmup_steps=10, down_steps=10, max_lr=1.0, min_lr=0.0, init_lr=0.0)
    seen = []
    for _ in range(25):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert seen[0] == 0.0 and seen[5] == pytest.approx(0.25) and seen[10] == 1.0
    assert seen[15] == pytest.approx(0.5) and seen[20:] == [0.0] * 5
    opt2, sched2 = _sched(warmup_steps=10, down_steps=10, max_lr=1.0, min_lr=0.0, init_lr=0.0)
    sched2.load_state_dict(sched.state_dict())
    assert sched2.last_epoch == 25 and sched2.get_last_lr() == sched.get_last_lr()


def test_build_scheduler_errors():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    with pytest.raises(UserError, match="unknown scheduler 'cosine'"):
        build_scheduler("cosine", opt, {})
    with pytest.raises(UserError, match="scheduler_conf.*warmup"):
        build_scheduler("warmuplr", opt, {"warmup": 3})
