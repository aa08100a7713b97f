"""LM training data: per-utterance records (text, codec tokens, attribute labels) turned into (input_ids, labels)
examples by a model-specific builder, and batched by token count in a resumable, rank-sharded stream.

This module knows no model: the builder (e.g. `tts_codec.lm.spark.examples`) decides which examples an utterance
yields. Every "step" of the stream is one optimiser step: a group of `accumulate` micro-batches, each padded on the
right (labels -100 there) and holding at most `max_tokens` padded tokens. Position p of rank r is a pure function
of (seed, p, r), so a run resumed after `b` steps continues at position `b` with the same data order.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, NamedTuple, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from tts_codec.data.datadir import DataDir
from tts_codec.data.table import read_table
from tts_codec.data.token_file import load_tokens
from tts_codec.errors import UserError

log = logging.getLogger(__name__)

IGNORE = -100  # label of positions without loss (prompt, padding)
UNKNOWN = "unknown"


class Example(NamedTuple):
    """One training sequence: `labels[i]` is the target of position i (IGNORE on the prompt); same length."""

    input_ids: np.ndarray  # (T,) int64
    labels: np.ndarray  # (T,) int64
    kind: str  # objective name, for per-objective validation metrics


def make_example(prompt: Sequence[int], target: Sequence[int], kind: str) -> Example:
    """Prompt and target ids -> an Example (teacher forcing: the model sees both, is scored on the target)."""
    ids = np.asarray(list(prompt) + list(target), dtype=np.int64)
    labels = np.concatenate([np.full(len(prompt), IGNORE, dtype=np.int64), np.asarray(target, dtype=np.int64)])
    return Example(ids, labels, kind)


#: A record -> its examples (an empty list skips the utterance).
ExampleBuilder = Callable[[Mapping[str, Any]], list[Example]]


class UtteranceRecords:
    """Utterances with text, codec tokens and the given Kaldi extra files (e.g. `utt2gender`), as dicts.

    Args:
        data_dir: Kaldi data dir (its `text` is required).
        codes_dir: stage-6 token dir of the same set (codes_info.json + one scp per stream).
        attr_dir: where the extra files are (default: the data dir); missing files or lines read as "unknown".
        attr_files: extra file names, e.g. ("utt2gender", "utt2pitch"); a record gets key `name[4:]` ("gender").
    """

    def __init__(self, data_dir: str | Path, codes_dir: str | Path, attr_dir: str | Path | None = None,
                 attr_files: Sequence[str] = ()):
        data = DataDir.load(data_dir)
        if not data.text:
            raise UserError(f"data dir {data_dir}: no text file; LM training needs transcripts")
        self.tokens = load_tokens(codes_dir)
        attr_root = Path(attr_dir) if attr_dir is not None else Path(data_dir)
        self.attrs = {name[4:]: read_table(attr_root / name) if (attr_root / name).is_file() else {}
                      for name in attr_files}
        missing = {name for name in attr_files if not (attr_root / name).is_file()}
        if missing:
            log.warning("%s: no %s; the examples needing them are skipped", attr_root, ", ".join(sorted(missing)))
        self.text = data.text
        utts = [u for u in data.utt_ids if u in self.tokens and (data.text.get(u) or "").strip()]
        dropped = len(data.utt_ids) - len(utts)
        if dropped:
            log.warning("%s: %d of %d utterances have no tokens in %s or empty text; skipped", data_dir, dropped,
                        len(data.utt_ids), codes_dir)
        if not utts:
            raise UserError(f"data dir {data_dir}: no utterance has both text and tokens in {codes_dir}")
        self.utt_ids = utts

    def __len__(self) -> int:
        return len(self.utt_ids)

    def __getitem__(self, index: int) -> dict[str, Any]:
        utt = self.utt_ids[index]
        record: dict[str, Any] = {"utt": utt, "text": self.text[utt], **self.tokens[utt]}
        record.update({key: table.get(utt, UNKNOWN) for key, table in self.attrs.items()})
        return record


class LMDataset(Dataset):
    """The examples of every record; `lengths` are known up front for bucketing (built once, then rebuilt per
    access so that memory does not grow with the corpus). Examples longer than `max_length` are dropped, counted."""

    def __init__(self, records: UtteranceRecords, build: ExampleBuilder, max_length: int | None = None):
        self.records, self.build = records, build
        self.index: list[tuple[int, int]] = []
        lengths, kinds, too_long = [], Counter(), 0
        for r in range(len(records)):
            for k, example in enumerate(build(records[r])):
                if max_length is not None and len(example.input_ids) > max_length:
                    too_long += 1
                    continue
                self.index.append((r, k))
                lengths.append(len(example.input_ids))
                kinds[example.kind] += 1
        if too_long:
            log.warning("dropped %d example(s) longer than max_length %s tokens", too_long, max_length)
        if not self.index:
            raise UserError("no training example left (all utterances skipped or longer than data.max_length)")
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.kinds = dict(kinds)
        log.info("%d examples (%s), %d tokens", len(self.index), ", ".join(f"{k}: {n}" for k, n in kinds.items()),
                 int(self.lengths.sum()))

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, key: tuple[int, int]) -> tuple[int, Example]:
        """`key` = (micro-batch number within the step, example index)."""
        micro, i = key
        r, k = self.index[i]
        return micro, self.build(self.records[r])[k]


def token_buckets(lengths: np.ndarray, order: np.ndarray, max_tokens: int, bucket_size: int) -> list[list[int]]:
    """Cut `order` into batches of similar lengths: sort each window of `bucket_size` items by length, then fill
    batches while (items x longest) <= max_tokens. An item longer than max_tokens forms a batch alone."""
    batches: list[list[int]] = []
    for start in range(0, len(order), bucket_size):
        window = order[start:start + bucket_size]
        window = window[np.argsort(lengths[window], kind="stable")]
        batch: list[int] = []
        longest = 0
        for i in window.tolist():
            longest_if = max(longest, int(lengths[i]))
            if batch and longest_if * (len(batch) + 1) > max_tokens:
                batches.append(batch)
                batch, longest_if = [], int(lengths[i])
            batch.append(i)
            longest = longest_if
        if batch:
            batches.append(batch)
    return batches


@dataclass
class StepStream(Sampler):
    """Endless stream of optimiser steps for one rank: each a list of (micro, index) keys for `accumulate`
    token-bucketed micro-batches. Data epochs are seeded permutations; the step list of an epoch is dealt
    round-robin to the ranks (the remainder dropped so every rank makes the same number of steps).

    Args:
        lengths: example lengths (tokens).
        max_tokens: padded tokens per micro-batch.
        accumulate: micro-batches per step.
        seed, rank, world_size: stream identity.
        shuffle: permute examples and batches (False: fixed order, for validation: one pass, no repetition).
        start: first step of this rank (steps done).
        bucket_size: window of examples sorted by length before cutting batches.
    """

    lengths: np.ndarray
    max_tokens: int
    accumulate: int = 1
    seed: int = 0
    rank: int = 0
    world_size: int = 1
    shuffle: bool = True
    start: int = 0
    bucket_size: int = 1000

    def __post_init__(self):
        if self.max_tokens <= 0 or self.accumulate <= 0:
            raise UserError(f"data.max_tokens and data.accumulate_grad_batches must be positive, got "
                            f"{self.max_tokens} and {self.accumulate}")
        self._cache: tuple[int, list[list[tuple[int, int]]]] | None = None

    def epoch_steps(self, data_epoch: int) -> list[list[tuple[int, int]]]:
        """This rank's steps in data epoch `data_epoch`."""
        if self._cache is not None and self._cache[0] == data_epoch:
            return self._cache[1]
        n = len(self.lengths)
        rng = np.random.default_rng([self.seed, data_epoch])
        order = rng.permutation(n) if self.shuffle else np.arange(n)
        batches = token_buckets(self.lengths, order, self.max_tokens, self.bucket_size)
        if self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        per_step = self.accumulate * self.world_size
        usable = len(batches) // per_step * per_step
        if usable == 0 and self.shuffle:
            raise UserError(f"{len(batches)} micro-batch(es) per data epoch cannot fill one step of "
                            f"{self.accumulate} x {self.world_size} process(es); lower data.max_tokens or "
                            "accumulate_grad_batches")
        if not self.shuffle:  # validation: every batch once, spread over the ranks
            mine = batches[self.rank::self.world_size]
            steps = [[(0, i) for i in batch] for batch in mine]
        else:
            mine = batches[:usable][self.rank::self.world_size]
            steps = [[(m, i) for m, batch in enumerate(mine[s:s + self.accumulate]) for i in batch]
                     for s in range(0, len(mine), self.accumulate)]
        self._cache = (data_epoch, steps)
        return steps

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        if not self.shuffle:
            yield from self.epoch_steps(0)
            return
        data_epoch, offset = 0, self.start
        steps = self.epoch_steps(0)
        while True:
            while offset >= len(steps):  # epochs differ in step count (buckets follow the permutation)
                offset -= len(steps)
                data_epoch += 1
                steps = self.epoch_steps(data_epoch)
            yield steps[offset]
            offset += 1

    def __len__(self) -> int:
        if not self.shuffle:
            return len(self.epoch_steps(0))
        raise TypeError("the training stream is endless")


def collate_steps(items: list[tuple[int, Example]], pad_id: int) -> list[dict[str, Any]]:
    """(micro, Example) pairs -> one right-padded batch dict per micro-batch: input_ids, labels, attention_mask
    (B, T) and `kinds` (B,)."""
    groups: dict[int, list[Example]] = {}
    for micro, example in items:
        groups.setdefault(micro, []).append(example)
    out = []
    for micro in sorted(groups):
        examples = groups[micro]
        width = max(len(e.input_ids) for e in examples)
        ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
        labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
        mask = torch.zeros((len(examples), width), dtype=torch.long)
        for row, e in enumerate(examples):
            n = len(e.input_ids)
            ids[row, :n], labels[row, :n], mask[row, :n] = torch.from_numpy(e.input_ids), torch.from_numpy(e.labels), 1
        out.append({"input_ids": ids, "labels": labels, "attention_mask": mask, "kinds": [e.kind for e in examples]})
    return out
