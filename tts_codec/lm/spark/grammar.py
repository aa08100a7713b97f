"""Which token ids the Spark LM may generate next: the codec's codebooks and the output grammar of section 5.2.

Two constraints, applied to the logits before sampling in both decoding paths (transformers `generate` through
`GrammarProcessor`, and `tts_codec.lm.spark.fast_decode`):
- **Codebooks** (always): semantic ids at or beyond the codec's semantic codebook (the mini codec has 1024 of the
  vocabulary's 8192) and global ids beyond its global (FSQ) codebook are never drawn; with full codebooks nothing
  is masked and the logits are untouched.
- **Grammar** (switchable): a per-row state machine over the continuation of each prompt. After voice creation's
  `<|end_style_label|>`: `<|start_acoustic_token|>`, one pitch value, one speed value, `<|end_acoustic_token|>`,
  `<|start_global_token|>`, exactly `num_globals` global ids, `<|end_global_token|>`, `<|start_semantic_token|>`,
  then at least one semantic id before EOS may end it. A prompt ending with the acoustic block (mode D) enters at
  `<|start_global_token|>`, prompt A at `<|start_semantic_token|>`, prompt B (semantic tokens) at "one semantic id
  first". A prompt with another ending is not constrained beyond the codebooks.

Each state allows a fixed id set, so the masks are one (states, V) table and a step is a gather; every state but
the semantic one has a single successor, whatever id was drawn (the mask made it the only legal one).
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import torch

from tts_codec.lm.spark.vocab import SparkVocab


class GrammarIds(NamedTuple):
    """The vocabulary ids the grammar needs (`from_vocab`), plus the codec's sizes."""

    eos_id: int
    markers: dict[str, int]  # start_/end_ acoustic, global, semantic; end_style_label
    ranges: dict[str, tuple[int, int]]  # group -> (first id, group size): pitch/speed values, global, semantic
    semantic_size: int  # the codec's semantic codebook
    global_size: int  # the codec's global codebook
    num_globals: int  # global tokens per utterance

    @classmethod
    def from_vocab(cls, vocab: SparkVocab, semantic_size: int, global_size: int, num_globals: int) -> "GrammarIds":
        names = [f"<|{e}_{m}|>" for m in ("acoustic_token", "global_token", "semantic_token") for e in ("start", "end")]
        markers = {n: vocab.id(n) for n in [*names, "<|end_style_label|>"]}
        ranges = {g: (vocab.ranges[g].start, vocab.ranges[g].size)
                  for g in ("pitch_value", "speed_value", "bicodec_global", "bicodec_semantic")}
        return cls(vocab.eos_id, markers, ranges, int(semantic_size), int(global_size), int(num_globals))


class TokenGrammar:
    """Allowed-id masks per row state (see the module docstring).

    Args:
        ids: the ids and codec sizes.
        vocab_size: logits width (the model's embedding rows).
        grammar: False = codebook masking only (every row stays in the free state).
    """

    FREE, DONE = 0, 1

    def __init__(self, ids: GrammarIds, vocab_size: int, grammar: bool = True):
        self.ids, self.vocab_size, self.grammar = ids, int(vocab_size), grammar
        free = torch.ones(self.vocab_size, dtype=torch.bool)
        for group, size in (("bicodec_semantic", ids.semantic_size), ("bicodec_global", ids.global_size)):
            start, room = ids.ranges[group]
            free[start + min(size, room):start + room] = False
        self.masks_anything = not bool(free.all())
        rows, successors, self.entry = [free, free.clone()], [self.FREE, self.DONE], {}
        m = ids.markers

        def add(*allowed: torch.Tensor | int) -> int:
            row = torch.zeros(self.vocab_size, dtype=torch.bool)
            for part in allowed:
                row[part] = True
            rows.append(row & free)
            successors.append(len(rows))  # the next state; the last ones are fixed below
            return len(rows) - 1

        def span(group: str, size: int | None = None) -> torch.Tensor:
            start, room = ids.ranges[group]
            return torch.arange(start, start + min(size or room, room))

        self.entry[m["<|end_style_label|>"]] = add(m["<|start_acoustic_token|>"])
        add(span("pitch_value"))
        add(span("speed_value"))
        add(m["<|end_acoustic_token|>"])
        self.entry[m["<|end_acoustic_token|>"]] = add(m["<|start_global_token|>"])
        for _ in range(ids.num_globals):
            add(span("bicodec_global", ids.global_size))
        add(m["<|end_global_token|>"])
        self.entry[m["<|end_global_token|>"]] = add(m["<|start_semantic_token|>"])
        self.semantic_first = add(span("bicodec_semantic", ids.semantic_size))
        self.semantic = add(span("bicodec_semantic", ids.semantic_size), ids.eos_id)
        successors[self.semantic] = self.semantic
        self.entry[m["<|start_semantic_token|>"]] = self.semantic_first
        sem_start, sem_room = ids.ranges["bicodec_semantic"]
        self.semantic_ids = range(sem_start, sem_start + sem_room)
        self.table = torch.stack(rows)  # (S, V) allowed ids per state
        self.successor = torch.tensor(successors)  # (S,)

    def start(self, last_ids: Sequence[int] | torch.Tensor) -> torch.Tensor:
        """(B,) initial states from each prompt's last token id."""
        if not self.grammar:
            return torch.full((len(last_ids),), self.FREE, dtype=torch.long)
        states = [self.semantic_first if int(i) in self.semantic_ids else self.entry.get(int(i), self.FREE)
                  for i in last_ids]
        return torch.tensor(states, dtype=torch.long)

    def min_new_tokens(self, last_id: int) -> int:
        """Fewest tokens a well-formed continuation of a prompt ending with `last_id` needs to hold one semantic
        token (40 for voice creation; 1 for a prompt the grammar does not know), whether the grammar is on or off."""
        state = self.semantic_first if int(last_id) in self.semantic_ids else self.entry.get(int(last_id))
        return 1 if state is None else self.semantic_first - state + 1

    def advance(self, states: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """(B,) states after each row drew `tokens` (B,); EOS ends any row."""
        nxt = self.successor.to(states.device)[states]
        return torch.where(tokens == self.ids.eos_id, torch.full_like(nxt, self.DONE), nxt)

    def is_trivial(self, states: torch.Tensor) -> bool:
        """True when no row's mask removes anything (full codebooks, free rows): logits may be left untouched."""
        return not self.masks_anything and bool(((states == self.FREE) | (states == self.DONE)).all())

    def apply(self, logits: torch.Tensor, states: torch.Tensor, columns: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (B, V) -- or (B, len(columns)) of those vocabulary columns -- with disallowed ids at -inf."""
        if self.is_trivial(states):
            return logits
        table = self.table.to(logits.device)
        allowed = table[states.to(logits.device)]  # (B, V)
        if columns is not None:
            allowed = allowed[:, columns]
        return logits.masked_fill(~allowed, float("-inf"))


class GrammarProcessor:
    """`TokenGrammar` as a transformers logits processor for one `generate` call (prompts left-padded, so the last
    column of the first call's `input_ids` holds each prompt's last token)."""

    def __init__(self, grammar: TokenGrammar):
        self.grammar, self.states, self.length = grammar, None, 0

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        if self.states is None:
            self.states = self.grammar.start(input_ids[:, -1].tolist()).to(input_ids.device)
        elif input_ids.shape[1] > self.length:
            self.states = self.grammar.advance(self.states, input_ids[:, -1])
        self.length = input_ids.shape[1]
        return self.grammar.apply(scores, self.states)
