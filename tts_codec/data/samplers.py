"""A resumable training sampler: an endless, seeded, rank-sharded stream of (index, per-sample seed) keys.

Position `p` of rank `r` maps to one item and one random seed by a pure function of (seed, p, r), so the data order
and every random crop are reproduced exactly after a resume: the trainer restarts the stream at
`p = batches_done * batch_size`. The stream walks through whole-dataset permutations ("data epochs"), each one
seeded by (seed, data_epoch) and dealt round-robin to the ranks; a data epoch drops the last `num_items %
world_size` items so every rank sees the same number of samples.
"""
from __future__ import annotations

from typing import Iterator, NamedTuple

import numpy as np
from torch.utils.data import Sampler

from tts_codec.errors import UserError


class SampleKey(NamedTuple):
    """What a dataset receives for one training sample."""

    index: int  # item index in the dataset
    seed: int  # seed of this sample's random choices (crop positions ...)


def sample_seed(seed: int, rank: int, position: int) -> int:
    """The per-sample seed of stream `position` on `rank` (independent of workers and batch size)."""
    return int(np.random.SeedSequence([seed, rank, position]).generate_state(1)[0])


class ResumableStreamSampler(Sampler[SampleKey]):
    """Endless shuffled stream of `SampleKey`s for one rank, starting at stream position `start`.

    Args:
        num_items: dataset size.
        seed: base seed of the permutations and per-sample seeds.
        rank, world_size: this process and the number of processes sharing the stream.
        shuffle: permute each data epoch (False: dataset order, handy in tests).
        start: first stream position of this rank (samples already consumed on this rank).
    """

    def __init__(self, num_items: int, seed: int, rank: int = 0, world_size: int = 1, shuffle: bool = True,
                 start: int = 0):
        if num_items < world_size or num_items <= 0:
            raise UserError(f"training data has {num_items} utterance(s), fewer than the {world_size} process(es)")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside [0, {world_size})")
        self.num_items, self.seed, self.rank, self.world_size = num_items, seed, rank, world_size
        self.shuffle, self.start = shuffle, start
        self.per_rank = num_items // world_size

    def order(self, data_epoch: int) -> np.ndarray:
        """Item order of one data epoch over all ranks."""
        if not self.shuffle:
            return np.arange(self.num_items)
        return np.random.default_rng([self.seed, data_epoch]).permutation(self.num_items)

    def key_at(self, position: int) -> SampleKey:
        """The key at stream `position` of this rank."""
        data_epoch, offset = divmod(position, self.per_rank)
        index = self.order(data_epoch)[offset * self.world_size + self.rank]
        return SampleKey(int(index), sample_seed(self.seed, self.rank, position))

    def __iter__(self) -> Iterator[SampleKey]:
        position, cached_epoch, order = self.start, None, None
        while True:
            data_epoch, offset = divmod(position, self.per_rank)
            if data_epoch != cached_epoch:
                cached_epoch, order = data_epoch, self.order(data_epoch)
            yield SampleKey(int(order[offset * self.world_size + self.rank]),
                            sample_seed(self.seed, self.rank, position))
            position += 1

    def state_dict(self) -> dict:
        return {"start": self.start, "seed": self.seed}

    def load_state_dict(self, state: dict) -> None:
        self.start, self.seed = int(state["start"]), int(state["seed"])
