"""Batched LM generation for TTS: left-padded prompts, KV cache (transformers `generate`), and sampling that is
reproducible per prompt whatever the batch: each row draws from its own seeded `torch.Generator`.

Sampling is temperature -> top-k -> top-p (the order of transformers' warpers), then one multinomial draw per row
from that row's generator; the draw is handed to `generate` as a one-hot score, so `generate` runs greedy and only
the draws are random. Defaults are the official Spark-TTS ones (bicodec_spark.md section 5.3).
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, fields
from typing import Any, Sequence

import numpy as np
import torch

from tts_codec.errors import UserError


@dataclass
class SamplingConfig:
    """How tokens are drawn.

    Attributes:
        do_sample: False = greedy decoding.
        temperature, top_k, top_p: the official 0.8, 50, 0.95 (top_k 0 / top_p 1.0 switch a filter off).
        max_new_tokens: cap on generated tokens per prompt (3000 = about 60 s of BiCodec speech).
        seed: with a prompt's key and the attempt number, seeds that prompt's generator.
        max_retries: extra attempts (new draws) for an output that cannot be decoded.
        use_cache: KV cache (False recomputes the whole prefix per token; same tokens, slower).
    """

    do_sample: bool = True
    temperature: float = 0.8
    top_k: int = 50
    top_p: float = 0.95
    max_new_tokens: int = 3000
    seed: int = 0
    max_retries: int = 2
    use_cache: bool = True

    def __post_init__(self) -> None:
        checks = [("temperature", self.temperature > 0), ("top_k", self.top_k >= 0),
                  ("top_p", 0 < self.top_p <= 1), ("max_new_tokens", self.max_new_tokens >= 1),
                  ("max_retries", self.max_retries >= 0)]
        for name, ok in checks:
            if not ok:
                raise UserError(f"sampling {name}: {getattr(self, name)!r} is out of range "
                                "(temperature > 0, top_k >= 0, 0 < top_p <= 1, max_new_tokens >= 1, max_retries >= 0)")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "SamplingConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise UserError(f"sampling: unknown key(s) {unknown}; known: {sorted(known)}")
        return cls(**values)


def row_seed(seed: int, key: str, attempt: int) -> int:
    """A stable 63-bit seed for one prompt (independent of the batch it runs in and of PYTHONHASHSEED)."""
    return (int(seed) * 1_000_003 + zlib.crc32(f"{key}\0{attempt}".encode("utf-8"))) % (2**63 - 1)


class RowSampler:
    """A transformers logits processor: temperature/top-k/top-p, then one draw per row from that row's generator."""

    def __init__(self, config: SamplingConfig, generators: Sequence[torch.Generator]):
        self.config, self.generators = config, list(generators)

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        logits = scores.float() / self.config.temperature  # (B, V)
        if 0 < self.config.top_k < logits.shape[-1]:
            kth = torch.topk(logits, self.config.top_k, dim=-1).values[:, -1:]
            logits = logits.masked_fill(logits < kth, float("-inf"))
        if self.config.top_p < 1.0:
            logits = top_p_filter(logits, self.config.top_p)
        probs = torch.softmax(logits, dim=-1)
        out = torch.full_like(scores, float("-inf"))
        for row, generator in enumerate(self.generators):
            token = torch.multinomial(probs[row], 1, generator=generator)
            out[row, token] = 0.0
        return out


def top_p_filter(logits: torch.Tensor, top_p: float) -> torch.Tensor:
    """Keep the smallest set of top tokens whose probability reaches `top_p` (at least one), per row."""
    sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
    cumulative = torch.softmax(sorted_logits, dim=-1).cumsum(dim=-1)
    drop = cumulative - torch.softmax(sorted_logits, dim=-1) >= top_p  # mass before a token already reaches top_p
    drop[:, 0] = False
    return logits.masked_fill(drop.scatter(1, order, drop), float("-inf"))


def left_pad(prompts: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, L) ids and attention mask of prompts padded on the left (what decoder-only batching needs)."""
    longest = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), longest), int(pad_id), dtype=torch.long)
    mask = torch.zeros((len(prompts), longest), dtype=torch.long)
    for row, prompt in enumerate(prompts):
        ids[row, longest - len(prompt):] = torch.as_tensor(list(prompt), dtype=torch.long)
        mask[row, longest - len(prompt):] = 1
    return ids, mask


@torch.inference_mode()
def generate(model: Any, prompts: Sequence[Sequence[int]], seeds: Sequence[int], config: SamplingConfig,
             eos_id: int, pad_id: int, constraints: Sequence[Any] = ()) -> list[tuple[np.ndarray, bool]]:
    """Continue each prompt until EOS or `max_new_tokens`.

    Args:
        model: a transformers causal LM.
        prompts: token ids per prompt (unpadded).
        seeds: one generator seed per prompt (unused for greedy decoding).
        constraints: logits processors applied before sampling (e.g. the Spark grammar's allowed-id masks); each
            is used for this one call.
    Returns:
        per prompt (generated ids without the EOS, int64; True if EOS was reached).
    """
    from transformers import GenerationConfig, LogitsProcessorList

    if not prompts or any(len(p) == 0 for p in prompts):
        raise UserError("generate: every prompt needs at least one token")
    device = next(model.parameters()).device
    ids, mask = left_pad(prompts, pad_id)
    processors = LogitsProcessorList(constraints)
    if config.do_sample:
        generators = [torch.Generator(device=device).manual_seed(int(s)) for s in seeds]
        processors.append(RowSampler(config, generators))
    gen_config = GenerationConfig(do_sample=False, num_beams=1, max_new_tokens=config.max_new_tokens,
                                  eos_token_id=int(eos_id), pad_token_id=int(pad_id), use_cache=config.use_cache)
    out = model.generate(input_ids=ids.to(device), attention_mask=mask.to(device), generation_config=gen_config,
                         logits_processor=processors)
    results = []
    for row in out[:, ids.shape[1]:].cpu().numpy():
        ends = np.flatnonzero(row == eos_id)
        results.append((row[: ends[0]] if ends.size else row, bool(ends.size)))
    return results
