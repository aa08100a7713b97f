"""The random-number states an exact resume must restore (torch, CUDA, numpy, Python), saved in every checkpoint."""
from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

KEY = "rng_states"


def save_rng_states(checkpoint: dict[str, Any]) -> None:
    """Store the current torch/numpy/Python (and CUDA, when present) generator states in `checkpoint`."""
    states = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    checkpoint[KEY] = states


def load_rng_states(checkpoint: dict[str, Any]) -> None:
    """Restore the states `save_rng_states` stored; CUDA only on a machine with the same number of GPUs."""
    states = checkpoint.get(KEY)
    if not states:
        return
    torch.set_rng_state(states["torch"])
    np.random.set_state(states["numpy"])
    random.setstate(states["python"])
    if "cuda" in states and torch.cuda.is_available() and len(states["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(states["cuda"])
