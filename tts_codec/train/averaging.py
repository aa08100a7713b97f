"""Checkpoint averaging for the exported model (ESPnet's averaged model): with `trainer.average_last: N`, the model a
run exports holds the mean of the floating-point weights of its last N checkpoints (last.ckpt and the N-1 newest
periodic ones before it). Integer buffers (counters, step numbers) come from last.ckpt. Training and resuming are
unchanged: only the export is averaged.

Why: on the mini MARS6, the mean of the last four 500-step checkpoints of a fine-tune gave a lower WER and CER on
every sampling seed than its last checkpoint (egs/mini/tts1/RESULTS.md, "ORPO and more pair fine-tuning").
"""
from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Sequence

import torch

from tts_codec.errors import UserError

PERIODIC = re.compile(r"^batch(\d+)\.ckpt$")


def checkpoints_to_average(checkpoint_dir: str | Path, last: str | Path, last_batch: int, count: int) -> list[Path]:
    """`last` (the checkpoint after `last_batch` batches) and the `count` - 1 newest periodic checkpoints
    (`batch<batches>.ckpt`) of `checkpoint_dir` before it, oldest first. Fewer is a UserError naming the dir."""
    periodic = sorted((int(m.group(1)), p) for p in Path(checkpoint_dir).iterdir() if (m := PERIODIC.match(p.name)))
    # a periodic checkpoint of the last batch holds the same weights as `last`: leave it out
    older = [p for batches, p in periodic if batches < last_batch]
    if len(older) < count - 1:
        raise UserError(f"trainer.average_last {count}: {checkpoint_dir} holds {len(older)} periodic checkpoint(s) "
                        f"before {Path(last).name}, {count - 1} needed (raise trainer.keep_checkpoints, or train "
                        "longer than average_last x checkpoint_every_n_steps)")
    return [*older[len(older) - (count - 1):], Path(last)]


def average_state_dicts(paths: Sequence[str | Path]) -> dict[str, torch.Tensor]:
    """The `state_dict` of the last of `paths` with every floating-point tensor replaced by its mean over all of
    them. A checkpoint whose keys or shapes differ from the last one's is a UserError naming both files."""
    if not paths:
        raise UserError("no checkpoints to average")
    ref_path = Path(paths[-1])
    reference = _state_dict(ref_path)
    sums = {k: v.double() for k, v in reference.items() if v.is_floating_point()}
    for path in paths[:-1]:
        state = _state_dict(Path(path))
        if state.keys() != reference.keys():
            missing = sorted(set(reference) ^ set(state))[:3]
            raise UserError(f"{path}: its weights differ from {ref_path}'s in names ({', '.join(missing)}...): "
                            "not checkpoints of one run")
        for key in sums:
            if state[key].shape != reference[key].shape:
                raise UserError(f"{path}: {key} has shape {tuple(state[key].shape)}, {ref_path} has "
                                f"{tuple(reference[key].shape)}: not checkpoints of one run")
            sums[key] += state[key].double()
    return {k: (sums[k] / len(paths)).to(v.dtype) if k in sums else v for k, v in reference.items()}


def _state_dict(path: Path) -> dict[str, torch.Tensor]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
        return state["state_dict"]
    except (RuntimeError, OSError, EOFError, KeyError, TypeError, pickle.UnpicklingError) as err:
        raise UserError(f"{path}: not a readable training checkpoint ({type(err).__name__}: {err})") from None

