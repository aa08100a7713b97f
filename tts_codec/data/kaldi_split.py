"""How Kaldi's utils/split_scp.pl cuts a list into N parts, reproduced exactly (split_data.sh relies on it).

Per utterance: N contiguous chunks, the first `len % N` one line longer. Per speaker (`--utt2spk`): speakers in
order of first appearance go to part `floor(i * N / num_speakers)`, then boundary speakers move to a neighbouring
part while that shrinks the difference in utterance counts between the two parts, until nothing moves.
"""
from __future__ import annotations

from typing import Sequence

from tts_codec.errors import UserError


def split_per_utt(items: Sequence[str], n: int) -> list[list[str]]:
    """Cut `items` into n contiguous chunks as split_scp.pl does without --utt2spk.

    Raises:
        UserError: when there are fewer items than parts (Kaldi: "You are splitting into too many pieces!").
    """
    if n < 1 or len(items) < n:
        raise UserError(f"it has only {len(items)} utterances (use fewer jobs)")
    size, remainder = divmod(len(items), n)
    parts, start = [], 0
    for k in range(n):
        end = start + size + (1 if k < remainder else 0)
        parts.append(list(items[start:end]))
        start = end
    return parts


def split_per_spk(speakers: Sequence[str], counts: Sequence[int], n: int) -> list[list[str]]:
    """Assign whole speakers (with `counts` utterances each) to n parts as split_scp.pl --utt2spk does.

    Raises:
        UserError: when there are fewer speakers than parts (Kaldi refuses too).
    """
    num_spk = len(speakers)
    if n < 1 or num_spk < n:
        raise UserError(f"it has {num_spk} speakers, fewer than the parts (Kaldi refuses too); use fewer jobs or "
                        "split per utterance (--per-utt)")
    count = dict(zip(speakers, counts))
    parts: list[list[str]] = [[] for _ in range(n)]
    totals = [0] * n
    for idx, spk in enumerate(speakers):
        parts[idx * n // num_spk].append(spk)
        totals[idx * n // num_spk] += count[spk]

    def move(src: int, dst: int, spk: str) -> None:
        totals[src] -= count[spk]
        totals[dst] += count[spk]

    changed = True
    while changed:
        changed = False
        for k in range(n):
            if k < n - 1 and parts[k]:  # the last speaker of part k to the front of part k+1
                spk = parts[k][-1]
                if abs((totals[k + 1] + count[spk]) - (totals[k] - count[spk])) < abs(totals[k + 1] - totals[k]):
                    move(k, k + 1, spk)
                    parts[k + 1].insert(0, parts[k].pop())
                    changed = True
            if k > 0 and parts[k]:  # the first speaker of part k to the end of part k-1
                spk = parts[k][0]
                if abs((totals[k] - count[spk]) - (totals[k - 1] + count[spk])) < abs(totals[k] - totals[k - 1]):
                    move(k, k - 1, spk)
                    parts[k - 1].append(parts[k].pop(0))
                    changed = True
    empty = next((k for k, part in enumerate(parts, start=1) if not part), None)
    if empty is not None:
        raise UserError(f"splitting {num_spk} speakers into {n} parts leaves part {empty} empty "
                        "(too many parts for too few speakers)")
    return parts
