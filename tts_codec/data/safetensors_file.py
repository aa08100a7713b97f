"""Safetensors files with reproducible bytes: the same tensors and metadata always give the same file.

`safetensors.torch.save_file` writes the header's `__metadata__` in hash order, which differs between processes,
so packing unchanged weights twice gave two files with different sha256 (2 of 4 saves, measured): a shipped model
dir would change in git on every repack. `save_safetensors` writes the header as JSON with sorted keys instead;
readers (safetensors, transformers) take the entries in any order, and the tensor data are written as before.
"""
from __future__ import annotations

import json
import os
import struct
from typing import Mapping

import torch

#: safetensors pads the header with spaces so that the tensor data start on an 8-byte boundary
ALIGNMENT = 8


def canonical_safetensors(data: bytes) -> bytes:
    """The same safetensors file with its JSON header rewritten with sorted keys (data bytes unchanged)."""
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    text += b" " * (-(8 + len(text)) % ALIGNMENT)
    return struct.pack("<Q", len(text)) + text + data[8 + length:]


def save_safetensors(tensors: Mapping[str, torch.Tensor], path: str | os.PathLike,
                     metadata: Mapping[str, str] | None = None) -> None:
    """Write `tensors` (contiguous CPU tensors) with `metadata` to `path`, byte for byte the same on every run.

    The caller makes the write atomic (e.g. `tts_codec.atomic.atomic_path`), as with `save_file`."""
    from safetensors.torch import save

    data = canonical_safetensors(save(dict(tensors), metadata=dict(metadata) if metadata else None))
    with open(path, "wb") as handle:
        handle.write(data)
