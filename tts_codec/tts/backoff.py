"""Top-p backoff of MARS6 inference (mars6_snac.md §6): a chunk whose audio fails the check (shorter than the text
needs, or quieter than -52 LUFS) is generated again with top-p raised by 0.2, up to 10 attempts, after which the
last output is kept. Each chunk starts again from the configured top-p unless `persist` (the official release
mutates its config, so a raised top-p leaks into later chunks: quirk (a), kept only as an option)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, TypeVar

import numpy as np

from tts_codec.errors import UserError

T = TypeVar("T")


@dataclass
class TopPBackoff:
    """The top-p schedule across the chunks of one synthesis.

    Attributes:
        top_p: first value of every chunk (nearly greedy: 0.2); increment: added per failed attempt (capped at 1).
        max_attempts: tries per chunk; persist: carry the raised value into the next chunk (official quirk).
    """

    top_p: float = 0.2
    increment: float = 0.2
    max_attempts: int = 10
    persist: bool = False
    current: float = field(init=False)

    def __post_init__(self) -> None:
        if not 0 < self.top_p <= 1 or self.increment < 0 or self.max_attempts < 1:
            raise UserError("backoff: 0 < top_p <= 1, increment >= 0 and max_attempts >= 1 are required")
        self.current = self.top_p

    def run_chunk(self, attempt: Callable[[float, int], T], ok: Callable[[T], bool]) -> tuple[T, list[float]]:
        """Call `attempt(top_p, attempt_number)` until `ok(result)` or the attempts run out.

        Returns:
            the accepted (or last) result and the top-p of every attempt made.
        """
        if not self.persist:
            self.current = self.top_p
        tried = []
        for number in range(self.max_attempts):
            tried.append(self.current)
            result = attempt(self.current, number)
            if ok(result) or number == self.max_attempts - 1:
                return result, tried
            self.current = min(1.0, self.current + self.increment)
        raise AssertionError("unreachable")


@dataclass
class AudioCheck:
    """The failure rule: duration below `min_seconds` or loudness below `min_lufs` (BS.1770, pyloudnorm)."""

    min_seconds: float
    min_lufs: float = -52.0

    def passes(self, wav: np.ndarray, sample_rate: int, seconds: float) -> bool:
        return seconds >= self.min_seconds and loudness(wav, sample_rate) >= self.min_lufs


def loudness(wav: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness in LUFS; -inf for silence or audio shorter than one 400 ms gating block."""
    import pyloudnorm

    wav = np.asarray(wav, dtype=np.float64).reshape(-1)
    if wav.size < int(0.4 * sample_rate) or not np.any(wav):
        return float("-inf")
    with np.errstate(divide="ignore"):
        return float(pyloudnorm.Meter(sample_rate).integrated_loudness(wav))
