"""Test helper for exact-resume tests: two trained Lightning tasks hold the same training state."""
from __future__ import annotations

from typing import Any

import torch


def assert_same_training_state(a: Any, b: Any, module: str = "model") -> None:
    """Tasks `a` and `b` hold equal weights (of their attribute `module`), optimiser moments and scheduler state."""
    weights_b = getattr(b, module).state_dict()
    for name, tensor in getattr(a, module).state_dict().items():
        assert torch.equal(tensor, weights_b[name]), name
    opt_a, opt_b = a.optimizers().optimizer.state_dict(), b.optimizers().optimizer.state_dict()
    for key, state in opt_a["state"].items():
        for field, value in state.items():
            assert torch.equal(value, opt_b["state"][key][field]), (key, field)
    assert a.lr_schedulers().state_dict() == b.lr_schedulers().state_dict()
