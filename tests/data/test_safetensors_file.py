"""Reproducible safetensors bytes: saves in separate processes give the same file (plain `save_file` orders the
metadata by a per-process hash), and the file reads back to the same tensors and metadata."""
from __future__ import annotations

import struct
import subprocess
import sys

import torch
from safetensors import safe_open

from tts_codec.data.safetensors_file import canonical_safetensors, save_safetensors

SAVE = """
import sys, torch
from tts_codec.data.safetensors_file import save_safetensors
gen = torch.Generator().manual_seed(0)
tensors = {"b.weight": torch.randn(3, 4, generator=gen), "a.bias": torch.arange(5, dtype=torch.int64),
           "c.half": torch.randn(7, generator=gen).half()}
save_safetensors(tensors, sys.argv[1], metadata={"version": "1", "format": "tts_codec.test", "zeta": "z"})
"""


def test_saves_in_separate_processes_are_byte_identical(tmp_path):
    paths = [tmp_path / f"w{i}.safetensors" for i in range(4)]
    for path in paths:  # fresh interpreters: each has its own hash seed, which reorders plain save_file's metadata
        subprocess.run([sys.executable, "-c", SAVE, str(path)], check=True)
    assert len({p.read_bytes() for p in paths}) == 1


def test_the_file_reads_back_with_its_tensors_and_metadata(tmp_path):
    tensors = {"w": torch.randn(2, 3), "ids": torch.arange(4), "h": torch.ones(5, dtype=torch.bfloat16)}
    path = tmp_path / "x.safetensors"
    save_safetensors(tensors, path, metadata={"format": "f", "version": "2"})
    with safe_open(str(path), "pt") as handle:
        assert handle.metadata() == {"format": "f", "version": "2"}
        assert sorted(handle.keys()) == sorted(tensors)
        for key, tensor in tensors.items():
            assert torch.equal(handle.get_tensor(key), tensor) and handle.get_tensor(key).dtype == tensor.dtype
    (length,) = struct.unpack("<Q", path.read_bytes()[:8])
    assert (8 + length) % 8 == 0  # the data start aligned, as safetensors writes it


def test_canonical_form_is_idempotent_and_keeps_the_data_bytes(tmp_path):
    from safetensors.torch import save

    data = save({"a": torch.randn(3), "b": torch.randn(2, 2)}, metadata={"y": "1", "x": "2"})
    once = canonical_safetensors(data)
    assert canonical_safetensors(once) == once
    (old,), (new,) = struct.unpack("<Q", data[:8]), struct.unpack("<Q", once[:8])
    assert data[8 + old:] == once[8 + new:]
    assert once[8:8 + new].rstrip().startswith(b'{"__metadata__":{"x":"2","y":"1"},"a":')
