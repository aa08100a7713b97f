"""Fast Spark LM decoding on CPU: our own token loop over a transformers Qwen2 with switchable shortcuts.

A decode step of the 0.5B LM reads its weights once; the tied 166,000-row output head is 148.7 M of its 506.6 M
parameters. The shortcuts (each off by default in `FastDecodeConfig`, tested token-exact under greedy decoding):
- `restrict_head`: once a row has reached `<|start_semantic_token|>` only the 8192 semantic tokens and EOS may
  follow, so the step scores just those 8193 rows of a sliced copy of the head (7.3 M parameters read instead of
  148.7 M). While some row of the batch is before that marker the full head runs and rows already past it are
  masked to the same set: the output is constrained decoding, exactly what a full head plus that mask would draw.
- `dtype: bfloat16`: the model's weights are cast (in place) to bf16, halving the bytes read per step.
- `static_cache`: a preallocated transformers `StaticCache` instead of the growing `DynamicCache`.
- `int8_weights`: a copy of the transformer body with int8 weights in its linear layers (`tts_codec.nn.int8_linear`,
  a quarter of the fp32 bytes; fast on AVX2 CPUs, which only emulate bf16) runs the generation steps; the prompt
  (prefill) still runs through the float body, and activations, embeddings and the head stay float32. Not exact:
  the rounding moves logits slightly, so greedy tokens can differ where two candidates are nearly tied (on the
  tiny test LM they do not: tests/lm/test_fast_decode.py).
- `int8_prefill` (with `int8_weights`): the prompt runs through the int8 body too. The prompt's matrix products are
  compute-bound, and fbgemm's int8 GEMM outruns the fp32 one on AVX2 (`tts_codec.bin.benchmark_spark_lm` reports
  the prefill time of both); the prompt's keys and values then carry the same rounding as the steps.
Sampling is that of `tts_codec.tts.generation` (per-row seeded generators, temperature/top-k/top-p). An optional
`tts_codec.lm.spark.grammar.TokenGrammar` masks each row's logits (codec codebooks, output format) before sampling,
on the sliced head too, exactly as the plain path's `GrammarProcessor` does.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np
import torch

from tts_codec.errors import UserError
from tts_codec.lm.spark.grammar import TokenGrammar
from tts_codec.nn.int8_linear import quantize_linears
from tts_codec.tts.generation import RowSampler, SamplingConfig, left_pad

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


@dataclass
class FastDecodeConfig:
    """Switches of the fast decoding loop (all off = the plain computation in our own loop)."""

    restrict_head: bool = False
    dtype: str = "float32"
    static_cache: bool = False
    int8_weights: bool = False
    int8_prefill: bool = False

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise UserError(f"fast_decode dtype {self.dtype!r}: choose one of {sorted(DTYPES)}")
        if self.int8_weights and self.dtype != "float32":
            raise UserError(f"fast_decode int8_weights runs float32 activations; it cannot be combined with dtype "
                            f"{self.dtype!r}")
        if self.int8_prefill and not self.int8_weights:
            raise UserError("fast_decode int8_prefill runs the prompt through the int8 body: it needs int8_weights")


class DecodeIds(NamedTuple):
    """The token ids the loop needs: EOS, padding, `<|start_semantic_token|>` and the semantic id range."""

    eos_id: int
    pad_id: int
    start_semantic_id: int
    semantic_start: int
    semantic_size: int

    @classmethod
    def from_vocab(cls, vocab: Any) -> "DecodeIds":
        """From a `tts_codec.lm.spark.vocab.SparkVocab`."""
        semantic = vocab.ranges["bicodec_semantic"]
        return cls(vocab.eos_id, vocab.pad_id, vocab.id("<|start_semantic_token|>"), semantic.start, semantic.size)

    def allowed(self) -> torch.Tensor:
        """(8193,) ids that may follow the semantic marker: the semantic tokens, then EOS."""
        return torch.cat([torch.arange(self.semantic_start, self.semantic_start + self.semantic_size),
                          torch.tensor([self.eos_id])])


class FastDecoder:
    """A Qwen2 causal LM prepared for fast generation (see the module docstring).

    Args:
        model: a transformers `Qwen2ForCausalLM` (its weights are cast to `config.dtype` in place).
        ids: the special ids (`DecodeIds.from_vocab(vocab)`).
        config: the shortcuts to use.
    """

    def __init__(self, model: torch.nn.Module, ids: DecodeIds, config: FastDecodeConfig | None = None):
        self.config = config or FastDecodeConfig()
        self.model = model.eval().to(DTYPES[self.config.dtype])
        self.ids = ids
        self.body, self.head = model.model, model.get_output_embeddings().weight  # (V, D)
        self.prefill_body = self.body
        if self.config.int8_weights:  # a quantized copy for the steps: the caller's model keeps its float weights
            self.body = copy.deepcopy(model.model)
            quantize_linears(self.body)
            if self.config.int8_prefill:
                self.prefill_body = self.body
        self.allowed = ids.allowed().to(self.head.device)  # (A,)
        self.head_rows = self.head[self.allowed].contiguous() if self.config.restrict_head else None  # (A, D)

    @torch.inference_mode()
    def generate(self, prompts: Sequence[Sequence[int]], seeds: Sequence[int],
                 sampling: SamplingConfig, on_token: Callable[[torch.Tensor], None] | None = None,
                 grammar: TokenGrammar | None = None) -> list[tuple[np.ndarray, bool]]:
        """Continue each prompt until EOS or `sampling.max_new_tokens` (same contract as `generation.generate`).

        `on_token`, if given, is called with each step's (B,) new ids (streaming, timing); `grammar` masks what
        each row may draw (`tts_codec.lm.spark.grammar`; the plain path's `GrammarProcessor` does the same).

        Returns:
            per prompt (generated ids without the EOS, int64; True if EOS was reached).
        """
        if not prompts or any(len(p) == 0 for p in prompts):
            raise UserError("generate: every prompt needs at least one token")
        device = self.head.device
        ids, mask = (t.to(device) for t in left_pad(prompts, self.ids.pad_id))
        sampler = None
        if sampling.do_sample:
            sampler = RowSampler(sampling, [torch.Generator(device=device).manual_seed(int(s)) for s in seeds])
        cache = self._new_cache(ids.shape[0], ids.shape[1] + sampling.max_new_tokens)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)  # (B, L)
        hidden = self._forward(ids, mask, positions, cache, self.prefill_body)
        semantic = (ids == self.ids.start_semantic_id).any(-1)  # (B,) rows past the semantic marker
        states = None if grammar is None else grammar.start([p[-1] for p in prompts]).to(device)
        finished = torch.zeros(ids.shape[0], dtype=torch.bool, device=device)
        position, steps = positions[:, -1:], []
        for _ in range(sampling.max_new_tokens):
            token = self._next_token(hidden, semantic, sampler, grammar, states)
            token = torch.where(finished, torch.full_like(token, self.ids.pad_id), token)
            if grammar is not None:
                states = grammar.advance(states, token)
            steps.append(token)
            if on_token is not None:
                on_token(token)
            finished |= token == self.ids.eos_id
            semantic |= token == self.ids.start_semantic_id
            if bool(finished.all()) or len(steps) == sampling.max_new_tokens:
                break
            mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=-1)
            position = position + 1
            hidden = self._forward(token[:, None], mask, position, cache)
        return _results(torch.stack(steps, dim=1), self.ids.eos_id)

    def _new_cache(self, batch: int, length: int):
        from transformers import DynamicCache, StaticCache

        if self.config.static_cache:
            return StaticCache(config=self.model.config, max_cache_len=length)
        return DynamicCache(config=self.model.config)

    def _forward(self, ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor, cache,
                 body: torch.nn.Module | None = None) -> torch.Tensor:
        """(B, D) hidden state of each row's last position; fills `cache`. The prompt runs through `prefill_body`
        (the float body unless `int8_prefill`), each new token through `body`."""
        out = (body or self.body)(input_ids=ids, attention_mask=mask, position_ids=positions, cache=cache,
                                  use_cache=True)
        return out.last_hidden_state[:, -1]

    def _next_token(self, hidden: torch.Tensor, semantic: torch.Tensor, sampler: RowSampler | None,
                    grammar: TokenGrammar | None, states: torch.Tensor | None) -> torch.Tensor:
        """(B,) next ids: the restricted head when every row is past the semantic marker, else the full one."""
        if self.head_rows is not None and bool(semantic.all()):
            logits = (hidden @ self.head_rows.T).float()  # (B, A)
            if grammar is not None:
                logits = grammar.apply(logits, states, self.allowed)
            return self.allowed[_pick(logits, sampler)]
        logits = (hidden @ self.head.T).float()  # (B, V)
        if grammar is not None:
            logits = grammar.apply(logits, states)
        if self.head_rows is not None and bool(semantic.any()):
            keep = torch.zeros(logits.shape[-1], dtype=torch.bool, device=logits.device)
            keep[self.allowed] = True
            logits = logits.masked_fill(semantic[:, None] & ~keep, float("-inf"))
        return _pick(logits, sampler)


def _pick(logits: torch.Tensor, sampler: RowSampler | None) -> torch.Tensor:
    """(B,) column of the greedy choice, or of each row's sampled draw."""
    logits = logits.float()
    if sampler is not None:
        logits = sampler(None, logits)
    return logits.argmax(-1)


def _results(tokens: torch.Tensor, eos_id: int) -> list[tuple[np.ndarray, bool]]:
    """Per row of (B, N) generated ids: the ids before the first EOS and whether there was one."""
    results = []
    for row in tokens.cpu().numpy():
        ends = np.flatnonzero(row == eos_id)
        results.append((row[: ends[0]] if ends.size else row, bool(ends.size)))
    return results
